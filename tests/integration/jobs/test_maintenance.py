"""Housekeeping on the real Redis: the relay sweep and its lock, prune and expiry noting their runs, a real scheduler standing by."""

import time
from datetime import timedelta
from io import StringIO

import dramatiq
import pytest
import redis
from django.core.management import call_command
from django.utils import timezone

from accounts import maintenance as account_maintenance
from accounts.models import User
from config.localredis import LocalRedis
from jobs import maintenance
from jobs.brokers.redis import WakeupRedisBroker
from jobs.enqueue.outbox import ACTOR_NAME, relay_sweep
from jobs.management.commands.scheduler import LOCK_NAME
from jobs.models import Job, ScheduleRun
from jobs.worker.middleware import relay_sweep_if_due
from tests.support.factories import make_job, make_user
from tests.support.processes import herald_env
from tests.support.waiting import wait_until

Status = Job.Status
# tests/support/scheduled/tasks.py, known to processes started with HERALD_TEST_SCHEDULES=true (not imported here,
# where it would join this process's schedules).
TWO_SECOND_SCHEDULE = "tests.support.scheduled.tasks.every_two_seconds"


def never_sent_job(email, *, ago=timedelta(minutes=1)):
    """A queued job whose message never reached the broker (it was down, the web process died)."""
    job = make_job(email)
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - ago)
    return job


def finished_job(email, *, days_ago):
    return make_job(email, status=Status.SUCCEEDED, finished_at=timezone.now() - timedelta(days=days_ago))


def sweep_with_the_command():
    call_command("jobs", "relay", "--once", stdout=StringIO())


def sweep_in_a_worker():
    relay_sweep_if_due(dramatiq.get_broker(), relay_sweep)


@pytest.fixture
def dead_workers_message(settings, broker, monkeypatch):
    """A message a worker fetched and never acknowledged before going silent (Redis broker)."""
    monkeypatch.setattr(broker, "heartbeat_timeout", 100)  # dead after 100 ms of silence, not 3 s
    dead = WakeupRedisBroker(url=settings.REDIS_URL, heartbeat_timeout=100)
    dead.declare_queue("emails")
    message = dead.enqueue(dramatiq.Message("emails", ACTOR_NAME, (0,), {}, {}))
    assert next(dead.consume("emails", prefetch=1, timeout=100)) is not None
    dead.close()
    time.sleep(0.2)
    return message


@pytest.mark.parametrize("sweep", [sweep_with_the_command, sweep_in_a_worker])
def test_the_command_and_the_workers_run_the_same_whole_sweep(db, broker, dead_workers_message, sweep):
    job = never_sent_job("never@example.com")

    sweep()

    waiting = broker.client.lrange(f"{broker.namespace}:emails", 0, -1)
    assert dead_workers_message.options["redis_message_id"].encode() in waiting  # back from the dead worker
    job.refresh_from_db()
    assert job.enqueued_at is not None and len(waiting) == 2  # and the never-sent job's message


def test_the_workers_sweep_once_per_interval_however_many_try(db, settings, broker):
    first = never_sent_job("first@example.com")
    assert relay_sweep_if_due(broker, relay_sweep) == [first.pk]

    second = never_sent_job("second@example.com")
    assert relay_sweep_if_due(broker, relay_sweep) == []  # another worker, the same interval: no second sweep

    time.sleep(settings.JOBS_RELAY_INTERVAL_S)  # 1 s in tests
    assert relay_sweep_if_due(broker, relay_sweep) == [second.pk]


def test_prune_deletes_the_jobs_finished_before_the_retention(db, settings):
    settings.JOBS_RETENTION_DAYS = 10
    finished_job("old@example.com", days_ago=11)
    kept = finished_job("recent@example.com", days_ago=9)

    assert maintenance.prune_old_jobs.call() == 1
    assert list(Job.objects.values_list("pk", flat=True)) == [kept.pk]


def test_a_retention_of_zero_days_keeps_every_job(db, settings):
    settings.JOBS_RETENTION_DAYS = 0
    finished_job("ancient@example.com", days_ago=3650)

    assert maintenance.prune_old_jobs.call() == 0
    assert Job.objects.count() == 1


def test_expiry_deletes_the_accounts_never_confirmed_in_time(db, settings):
    settings.ACCOUNT_UNCONFIRMED_DAYS = 7
    squatted = make_user("squatted@example.com")
    User.objects.filter(pk=squatted.pk).update(date_joined=timezone.now() - timedelta(days=8))
    make_user("recent@example.com")

    assert account_maintenance.expire_unconfirmed.call() == 1
    assert list(User.objects.values_list("email", flat=True)) == ["recent@example.com"]


@pytest.mark.integration
def test_a_second_real_scheduler_only_stands_by(live_env, processes):
    first = processes.scheduler(live_env)
    second = processes.scheduler(live_env, name="scheduler-2", wait_for="Acquiring lock")
    wait_until(lambda: not second.alive(), 60, "the second scheduler gave up on the lock")

    assert "Another scheduler is already running." in second.output()
    assert "Starting scheduler" not in second.output()
    assert first.alive()


@pytest.mark.integration
def test_the_scheduler_takes_its_lock_again_when_redis_restarts_without_its_data(
    transactional_db, processes, tmp_path
):
    """Seen: with a Redis that restarts without persistence, the scheduler lost its lock and exited."""
    server = LocalRedis(tmp_path / "redis", appendonly=False).start()
    try:
        # A two-second schedule (tests/support/scheduled/tasks.py), to see the scheduler keep firing.
        env = herald_env(REDIS_URL=server.url, BROKER_URL="", HERALD_TEST_SCHEDULES="true")
        scheduler = processes.scheduler(env)
        client = redis.Redis.from_url(server.url)
        assert client.exists(LOCK_NAME)

        server.restart()  # no append-only file: the lock is gone
        restarted_at = timezone.now()
        assert not client.exists(LOCK_NAME)

        scheduler.wait_until(lambda: client.exists(LOCK_NAME), 30, "the scheduler's lock taken again")
        runs = ScheduleRun.objects.filter(schedule_name=TWO_SECOND_SCHEDULE)
        scheduler.wait_until(
            lambda: runs.filter(scheduled_at__gt=restarted_at).exists(), 15, "a tick fired after the restart"
        )
        assert scheduler.alive()
        assert "it is held again" in scheduler.output()
    finally:
        server.stop()
