"""The checkout's .env, seen by manage.py and the WSGI application run as processes.

The manage.py runs happen in a copy of the project's code in a temporary
directory (as tests/integration/config/test_compose.py stages the image), so the
checkout's own .env is never read, created or changed.
"""

import shutil
import site
import stat
import subprocess
import sys

import pytest

from config.dotenv import LOCAL_DEFAULTS, read_values
from tests.support.processes import PROJECT_DIR

CODE = ("manage.py", "config", "accounts", "jobs", "templates")


@pytest.fixture
def checkout(tmp_path):
    """A fresh checkout's code, without .env or var/."""
    root = tmp_path / "herald"
    root.mkdir()
    for name in CODE:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    return root


def manage(checkout, *args, **env):
    """``python manage.py ARGS`` in ``checkout`` with nothing exported but ``env``.

    ``-S`` keeps the project's editable install (which maps its packages back
    to the working tree) from loading; installed packages come via PYTHONPATH.
    """
    clean_env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(site.getsitepackages()), **env}
    return subprocess.run(
        [sys.executable, "-S", "manage.py", *args],
        cwd=checkout,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project_env_untouched():
    """Fails the test if the checkout's own .env appeared, vanished or changed."""
    path = PROJECT_DIR / ".env"
    before = path.read_bytes() if path.exists() else None
    yield
    assert (path.read_bytes() if path.exists() else None) == before


def test_manage_py_in_a_fresh_checkout_creates_a_private_env_and_works(checkout, project_env_untouched):
    result = manage(checkout, "check")

    assert result.returncode == 0, result.stderr
    values = read_values(checkout / ".env")
    assert len(values["SECRET_KEY"]) >= 50
    assert {name: values[name] for name in LOCAL_DEFAULTS} == LOCAL_DEFAULTS
    assert stat.S_IMODE((checkout / ".env").stat().st_mode) == 0o600


def test_createsuperuser_works_as_the_readme_writes_it(checkout, project_env_untouched):
    assert manage(checkout, "migrate", "-v0").returncode == 0
    key = read_values(checkout / ".env")["SECRET_KEY"]

    result = manage(
        checkout,
        "createsuperuser",
        "--noinput",
        DJANGO_SUPERUSER_EMAIL="staff@example.com",
        DJANGO_SUPERUSER_PASSWORD="correct-Horse-battery-9",
    )

    assert result.returncode == 0, result.stderr
    assert "Superuser created successfully." in result.stdout
    assert read_values(checkout / ".env")["SECRET_KEY"] == key  # one key for every command


def test_two_checkouts_get_different_keys(checkout, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(checkout, other)

    manage(checkout, "check")
    manage(other, "check")

    assert read_values(checkout / ".env")["SECRET_KEY"] != read_values(other / ".env")["SECRET_KEY"]


def test_an_exported_variable_wins_over_the_env_file(checkout):
    manage(checkout, "check")

    result = manage(
        checkout,
        "shell",
        "-c",
        "from django.conf import settings; print(settings.SITE_URL)",
        SITE_URL="https://herald.example.com",
    )

    assert result.stdout.strip().splitlines()[-1] == "https://herald.example.com"


def test_told_not_to_manage_py_neither_writes_nor_reads_it(checkout):
    (checkout / ".env").write_text("SECRET_KEY=from-the-file\nALLOWED_HOSTS=localhost\n")

    result = manage(checkout, "check", DJANGO_READ_DOT_ENV="false")

    assert result.returncode != 0
    assert result.stderr.startswith("Configuration error: SECRET_KEY is not set.")
    (checkout / ".env").unlink()
    manage(checkout, "check", DJANGO_READ_DOT_ENV="false")
    assert not (checkout / ".env").exists()


def test_the_wsgi_application_reads_it_only_when_told_to(checkout):
    manage(checkout, "check")
    code = "import config.wsgi; from django.conf import settings; print(len(settings.SECRET_KEY))"
    clean_env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(site.getsitepackages())}

    def load(**env):
        return subprocess.run(
            [sys.executable, "-S", "-c", code],
            cwd=checkout,
            env={**clean_env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    untold = load()
    told = load(DJANGO_READ_DOT_ENV="true")

    assert untold.returncode != 0 and "SECRET_KEY is not set" in untold.stderr
    assert told.returncode == 0, told.stderr
