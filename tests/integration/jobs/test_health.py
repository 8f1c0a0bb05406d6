"""``GET /healthz/``: 200 when database, broker and a worker answer; 503 naming what does not, logged unflooded."""

import json
import logging
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from config.localredis import free_port
from jobs.logs import OutageLog
from jobs.views import health
from jobs.worker.middleware import workers_key
from tests.support.processes import WebServer

pytestmark = pytest.mark.integration

# A new site: housekeeping never ran, and is not overdue before its first day is over.
NO_HOUSEKEEPING_YET = {"housekeeping": "ok", "housekeeping_last_run": None}


def get_health(client):
    response = client.get("/healthz/")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def assert_no_secrets(body):
    for secret in (settings.REDIS_URL, settings.SECRET_KEY, str(settings.DATABASES["default"]["NAME"])):
        assert secret not in body
    assert "127.0.0.1" not in body and "redis://" not in body and "postgres" not in body


def test_ok_with_a_live_worker_process(live_env, processes, client):
    processes.worker(live_env)

    status, report = get_health(client)

    assert status == 200
    assert report == {"status": "ok", "database": "ok", "broker": "ok", "workers": 1, **NO_HOUSEKEEPING_YET}


def test_two_worker_processes_are_counted(live_env, processes, client):
    processes.worker(live_env, processes=2, threads=1)

    assert get_health(client) == (
        200,
        {"status": "ok", "database": "ok", "broker": "ok", "workers": 2, **NO_HOUSEKEEPING_YET},
    )


def test_no_worker_is_503_naming_the_workers(db, client):
    status, report = get_health(client)

    assert status == 503
    assert report == {
        "status": "failing",
        "database": "ok",
        "broker": "ok",
        "workers": 0,
        "failing": ["workers"],
        **NO_HOUSEKEEPING_YET,
    }


def test_a_stale_worker_stamp_does_not_count(db, client, broker):
    timeout_s = settings.JOBS_HEARTBEAT_TIMEOUT_MS / 1000
    broker.client.zadd(workers_key(broker), {"gone": time.time() - timeout_s - 1, "here": time.time() - 0.5})

    status, report = get_health(client)

    assert (status, report["workers"]) == (200, 1)
    broker.client.zrem(workers_key(broker), "here")
    assert get_health(client)[0] == 503


def test_redis_down_is_503_naming_the_broker(db, client, broker, redis_server):
    broker.client.zadd(workers_key(broker), {"w": time.time()})
    redis_server.stop()
    try:
        response = client.get("/healthz/")
    finally:
        redis_server.start()

    assert response.status_code == 503
    assert response.json() == {
        "status": "failing",
        "database": "ok",
        "broker": "unavailable",
        "workers": None,
        "failing": ["broker"],
        "housekeeping": None,
        "housekeeping_last_run": None,
    }
    assert_no_secrets(response.content.decode())


def test_database_down_is_503_naming_the_database_without_its_url(live_env, broker):
    """A real web server whose database does not answer (nothing listens on its port)."""
    broker.client.zadd(workers_key(broker), {"w": time.time()})
    password = "pw-that-must-not-leak"
    live_env["DATABASE_URL"] = f"postgres://herald:{password}@127.0.0.1:{free_port()}/herald"
    web = WebServer(live_env, workers=1, threads=1)
    try:
        web.wait_until(lambda: fetch(web.url + "/healthz/") is not None, 60, "web server answering")
        status, body = fetch(web.url + "/healthz/")
    finally:
        web.stop()

    assert status == 503
    assert json.loads(body) == {
        "status": "failing",
        "database": "unavailable",
        "broker": "ok",
        "workers": 1,
        "failing": ["database"],
        **NO_HOUSEKEEPING_YET,
    }
    assert password not in body and "postgres" not in body


def fetch(url):
    """``(status, body)``, or None while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return None


@pytest.fixture
def fresh_outage_log():
    health.outage_log.last_traceback_at.clear()
    yield health.outage_log
    health.outage_log.last_traceback_at.clear()


def test_a_failing_probe_logs_one_traceback_then_one_line_each(
    db, client, redis_server, fresh_outage_log, caplog
):
    redis_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="jobs.views.health"):
            statuses = [client.get("/healthz/").status_code for _ in range(3)]
    finally:
        redis_server.start()

    records = [record for record in caplog.records if record.name == "jobs.views.health"]
    assert statuses == [503] * 3
    assert [record.exc_info is not None for record in records] == [True, False, False]
    assert all("health: broker unavailable" in record.getMessage() for record in records)
    assert "ConnectionError" in records[1].getMessage() and "\n" not in records[1].getMessage()


def test_the_next_traceback_comes_a_minute_later_per_part(caplog):
    now = [100.0]
    log = OutageLog(
        logging.getLogger("jobs.views.health"), traceback_every_s=60, repeats=True, clock=lambda: now[0]
    )

    def fail(part, advance):
        now[0] += advance
        try:
            raise ConnectionError("refused")
        except ConnectionError as exc:
            log.failed(part, exc, f"health: {part} unavailable")

    with caplog.at_level(logging.WARNING, logger="jobs.views.health"):
        for part, advance in [("broker", 0), ("broker", 59), ("database", 0), ("broker", 1), ("broker", 1)]:
            fail(part, advance)

    assert [(r.getMessage().split(":")[1].strip(), r.exc_info is not None) for r in caplog.records] == [
        ("broker unavailable", True),
        ("broker unavailable", False),
        ("database unavailable", True),
        ("broker unavailable", True),
        ("broker unavailable", False),
    ]
