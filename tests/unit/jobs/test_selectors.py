"""Job counts, hourly outcomes, broker queues, live workers and search."""

from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone

from config.localredis import free_port
from jobs import selectors
from jobs.brokers.redis import WakeupRedisBroker
from jobs.models import Job
from jobs.worker.actors import run_task
from tests.support.factories import make_job

Status = Job.Status


def finished(email, status, ago):
    return make_job(email, status=status, finished_at=timezone.now() - ago)


def test_status_counts_counts_every_status(db):
    for n, status in enumerate(
        [Status.QUEUED, Status.RUNNING, Status.RETRYING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED]
    ):
        for i in range(n + 1):
            make_job(f"{status}{i}@example.com", status=status)

    assert selectors.status_counts() == {
        "queued": 1,
        "running": 2,
        "retrying": 3,
        "succeeded": 4,
        "failed": 5,
        "cancelled": 6,
    }


def test_status_counts_are_zero_on_an_empty_table(db):
    assert selectors.status_counts() == dict.fromkeys(Status.values, 0)


def test_stats_counts_sent_and_failed_in_the_last_hour_and_day(db):
    finished("a@example.com", Status.SUCCEEDED, timedelta(minutes=10))
    finished("b@example.com", Status.SUCCEEDED, timedelta(hours=5))
    finished("c@example.com", Status.SUCCEEDED, timedelta(days=3))
    finished("d@example.com", Status.FAILED, timedelta(minutes=59))
    finished("e@example.com", Status.FAILED, timedelta(hours=23))
    finished("f@example.com", Status.FAILED, timedelta(hours=25))

    summary = selectors.stats()

    assert summary["sent"] == {"last_hour": 1, "last_day": 2}
    assert summary["failed"] == {"last_hour": 1, "last_day": 2}
    assert summary["total"] == 6


def test_hourly_outcomes_puts_each_job_in_its_clock_hour(db):
    now = timezone.now().replace(minute=30, second=0, microsecond=0)
    make_job("a@example.com", status=Status.SUCCEEDED, finished_at=now - timedelta(minutes=10))
    make_job("b@example.com", status=Status.SUCCEEDED, finished_at=now - timedelta(minutes=20))
    make_job("c@example.com", status=Status.FAILED, finished_at=now - timedelta(hours=3))
    make_job("d@example.com", status=Status.SUCCEEDED, finished_at=now - timedelta(hours=30))

    hours = selectors.hourly_outcomes(now=now)

    assert len(hours) == 24
    assert hours[-1]["start"] == now.replace(minute=0)
    assert hours[0]["start"] == now.replace(minute=0) - timedelta(hours=23)
    assert (hours[-1]["sent"], hours[-1]["failed"]) == (2, 0)
    assert (hours[-4]["sent"], hours[-4]["failed"]) == (0, 1)
    assert sum(hour["sent"] for hour in hours) == 2


def test_broker_queue_stats_reads_waiting_and_delayed_messages(db, broker):
    broker.enqueue(run_task.message(1).copy(queue_name="emails"))
    broker.enqueue(run_task.message(2))  # the default queue: every Herald queue counts
    broker.enqueue(run_task.message(3).copy(queue_name="emails"), delay=60_000)

    queues = selectors.broker_queue_stats()

    assert queues == {
        "reachable": True,
        "error": "",
        "queue_depth": 2,
        "in_progress": 0,
        "delayed": 1,
        "dead_lettered": 0,
    }


def test_broker_reads_say_when_redis_is_unreachable():
    url = f"redis://127.0.0.1:{free_port()}/0"
    nowhere = redis.Redis.from_url(url, socket_connect_timeout=0.5)

    queues = selectors.broker_queue_stats(WakeupRedisBroker(url=url, socket_timeout=0.5))

    assert queues["reachable"] is False and queues["queue_depth"] is None
    assert "Connection refused" in queues["error"]
    assert selectors.live_workers(nowhere) is None


def matching(term):
    return set(Job.objects.filter(selectors.job_search_q(term)).values_list("label", flat=True))


@pytest.fixture
def searchable(db):
    make_job("ada@example.com", message_id="11111111-aaaa-4000-8000-000000000000")
    make_job("adam@example.org")
    make_job("bob@example.com")


def test_search_by_whole_address(searchable):
    assert matching("ada@example.com") == {"ada@example.com"}


def test_search_by_the_start_of_an_address_ignores_case(searchable):
    assert matching("ADA") == {"ada@example.com", "adam@example.org"}
    assert matching("  bob@ ") == {"bob@example.com"}


def test_search_finds_a_mixed_case_address_as_typed(searchable):
    Job.objects.filter(label="bob@example.com").update(label="Bob@Example.com")

    assert matching("Bob@Ex") == {"Bob@Example.com"}


def test_search_by_message_id(searchable):
    assert matching("11111111-aaaa-4000-8000-000000000000") == {"ada@example.com"}


def test_search_by_job_id(searchable):
    job = Job.objects.get(label="bob@example.com")
    assert matching(str(job.pk)) == {"bob@example.com"}


def test_search_does_not_match_the_middle_of_an_address(searchable):
    assert matching("example") == set()


def test_search_with_an_absurdly_long_term_finds_nothing(searchable):
    assert matching("a" * 1000) == set()


def test_search_by_address_is_a_prefix_match_on_the_label_index(searchable):
    """An address search walks the label index (SQLite) or is a LIKE 'prefix%' (elsewhere), never a contains."""
    sql, params = Job.objects.filter(selectors.job_search_q("ada@ex")).query.sql_with_params()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "job_label" in plan and "SCAN jobs_job" not in plan, plan
    else:
        patterns = [param for param in params if isinstance(param, str) and "%" in param]
        assert patterns == ["ada@ex%"], (sql, params)
