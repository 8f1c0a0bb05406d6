"""Running a benchmark at its tiny size, as the tests in tests/bench/ do."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests import plugin
from tests.support.processes import PROJECT_DIR


def bench_env() -> dict[str, str]:
    """The caller's environment without the suite's settings: the benchmark sets up its own."""
    env = {key: value for key, value in os.environ.items() if key not in plugin.TEST_ENV}
    for key in ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_PATH", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)
    return env


def run_tiny(module: str, output: Path) -> tuple[Any, str]:
    """Run ``python -m <module> --tiny``, assert it exits 0; return the figures it wrote and its report."""
    run = subprocess.run(
        [sys.executable, "-m", module, "--tiny", "--output", str(output)],
        cwd=PROJECT_DIR,
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(output.read_text()), run.stdout
