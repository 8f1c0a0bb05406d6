"""The WSGI entry point: what a web process loads once is kept out of the garbage collector's full passes."""

import subprocess
import sys

from tests.support.processes import PROJECT_DIR, herald_env

PROBE = """
import gc
import config.wsgi
from django.urls import get_resolver

urlconf = (get_resolver(), get_resolver().url_patterns)
collected = gc.get_objects()
print(gc.get_freeze_count(), any(o is part for o in collected for part in urlconf))
"""


def test_the_loaded_app_and_its_urlconf_are_frozen():
    env = herald_env()
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    frozen, urlconf_still_collected = result.stdout.split()
    assert int(frozen) > 50_000  # Django, the apps, the admin
    assert urlconf_still_collected == "False"  # loaded before the freeze, not by the first request
