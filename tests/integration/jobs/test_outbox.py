"""The outbox: enqueue after commit, broker outages, and the relay of what the broker never got or lost."""

import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.enqueue import outbox, published
from jobs.enqueue.published import PUBLISHED_KEPT_S, published_ids
from jobs.models import Attempt, Job
from tests.support.factories import enqueue_confirmation, make_job, make_user
from tests.support.hung import hung_redis

Status = Job.Status


def queue_size(broker):
    return broker.do_qsize("emails")


def test_the_message_is_sent_only_when_the_transaction_commits(
    db, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = enqueue_confirmation(user=make_user())
    assert queue_size(broker) == 0 and len(callbacks) == 1

    callbacks[0]()

    job.refresh_from_db()
    assert queue_size(broker) == 1
    assert published_ids([job.message_id]) == {job.message_id}


def test_a_rolled_back_signup_sends_nothing(transactional_db, broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_confirmation(user=make_user())
        raise RuntimeError("rollback")

    assert queue_size(broker) == 0 and not Job.objects.exists()


def test_broker_down_keeps_the_job_and_the_relay_sends_it_later(transactional_db, broker, redis_server):
    redis_server.stop()
    try:
        with transaction.atomic():
            job = enqueue_confirmation(user=make_user())
        job.refresh_from_db()
        assert job.status == Status.QUEUED and job.message_id == ""  # the failed publish noted
        assert outbox.relay_unsent(now=timezone.now() + timedelta(seconds=5)) == []
    finally:
        redis_server.start()

    relayed = outbox.relay_unsent(now=timezone.now() + timedelta(seconds=5))

    assert relayed == [job.pk]
    job.refresh_from_db()
    assert job.enqueued_at is not None and queue_size(broker) == 1


def test_a_fresh_unsent_job_is_left_to_its_own_commit_hook(db, broker):
    job = make_job()
    assert outbox.relay_unsent() == []
    assert outbox.relay_unsent(now=timezone.now() + timedelta(seconds=5)) == [job.pk]


def test_overdue_jobs_are_sent_again_and_on_time_ones_are_not(db, broker, settings):
    now = timezone.now()
    overdue = make_job(
        "late@example.com", message_id="m1", due_at=now - timedelta(seconds=outbox.REQUEUE_AFTER_S + 1)
    )
    make_job("fine@example.com", message_id="m2", due_at=now)
    make_job("done@example.com", status=Status.SUCCEEDED, message_id="m3", due_at=now - timedelta(days=1))

    assert outbox.relay_unsent() == [overdue.pk]


def test_running_jobs_of_dead_workers_are_sent_again(db, broker, settings):
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 500)
    dead = make_job(
        "dead@example.com", status=Status.RUNNING, worker_id="gone", claimed_at=stale, enqueued_at=stale
    )
    make_job(
        "alive@example.com",
        status=Status.RUNNING,
        worker_id="busy",
        claimed_at=timezone.now(),
        enqueued_at=stale,
    )

    assert outbox.relay_unsent() == [dead.pk]


def test_relay_dead_claims_sends_only_dead_claims_not_skipped(db, broker, settings):
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 500)
    dead = make_job(
        "dead@example.com", status=Status.RUNNING, worker_id="gone", claimed_at=stale, enqueued_at=stale
    )
    skipped = make_job("again@example.com", status=Status.RUNNING, worker_id="gone", claimed_at=stale)
    make_job("never@example.com")  # never sent: the full sweep's business, not this one

    assert outbox.relay_dead_claims(skip={skipped.pk}) == [dead.pk]


def test_a_retry_scheduled_on_the_row_is_sent_when_due_with_its_retry_count(db, broker):
    now = timezone.now()
    due = make_job(
        "due@example.com", status=Status.RETRYING, attempt_count=1, due_at=now - timedelta(seconds=1)
    )
    Attempt.objects.create(job=due, number=1, started_at=now, outcome=Attempt.Outcome.RETRY)
    make_job("later@example.com", status=Status.RETRYING, attempt_count=1, due_at=now + timedelta(minutes=10))

    assert outbox.relay_unsent() == [due.pk]
    [message] = [
        broker.client.hget("dramatiq:emails.msgs", key) for key in broker.client.hkeys("dramatiq:emails.msgs")
    ]
    assert b'"retries":1' in message.replace(b" ", b"")


def test_enqueue_writes_the_row_once_and_the_publish_writes_nothing(transactional_db, broker):
    with CaptureQueriesContext(connection) as queries:
        job = enqueue_confirmation(user=make_user())  # outside a transaction: published at once

    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")]
    job_writes = [sql for sql in writes if Job._meta.db_table in sql.split("(")[0]]
    assert len(job_writes) == 1 and job_writes[0].startswith("INSERT")
    assert queue_size(broker) == 1 and published_ids([job.message_id]) == {job.message_id}


def test_the_relay_sends_a_handed_off_job_that_was_never_published(
    db, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = enqueue_confirmation(user=make_user("published@example.com"))
    with django_capture_on_commit_callbacks(execute=False):  # as if the web process died before its publish
        lost = enqueue_confirmation(user=make_user("lost@example.com"))
    assert lost.message_id and published_ids([lost.message_id, sent.message_id]) == {sent.message_id}

    assert outbox.relay_unsent() == []  # too fresh: its hand-off may still be on the way
    later = timezone.now() + timedelta(seconds=outbox.LOOK_AFTER_S + 1)
    assert outbox.relay_unsent(now=later) == [lost.pk]

    lost.refresh_from_db()
    assert lost.enqueued_at is not None and queue_size(broker) == 2
    assert outbox.relay_unsent(now=later) == []  # sent: not sent twice


def test_without_redis_to_ask_a_handed_off_job_waits(
    db, broker, django_capture_on_commit_callbacks, monkeypatch
):
    with django_capture_on_commit_callbacks(execute=False):
        lost = enqueue_confirmation(user=make_user("lost@example.com"))
    later = timezone.now() + timedelta(seconds=outbox.LOOK_AFTER_S + 1)
    monkeypatch.setattr(outbox, "published_ids", lambda message_ids: None)  # Redis down

    assert outbox.relay_unsent(now=later) == []

    monkeypatch.undo()
    assert outbox.relay_unsent(now=later) == [lost.pk]


def test_a_job_older_than_the_notes_is_left_to_the_overdue_rule(
    db, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # its hand-off lost
        lost = enqueue_confirmation(user=make_user("lost@example.com"))
    created = timezone.now() - timedelta(seconds=PUBLISHED_KEPT_S + 10)
    Job.objects.filter(pk=lost.pk).update(created_at=created, due_at=created)

    assert outbox.relay_unsent() == []  # no note is kept that long: its absence says nothing
    overdue = created + timedelta(seconds=outbox.REQUEUE_AFTER_S + 1)
    assert outbox.relay_unsent(now=max(overdue, timezone.now())) == [lost.pk]


@pytest.fixture
def frozen_notes_redis(settings, tmp_path):
    """The notes of publishes on a redis-server of its own, frozen (SIGSTOP) as a hung Redis is."""

    def warm(url):
        settings.REDIS_URL = url
        published.notes_client.cache_clear()
        published.notes_client().ping()  # a pooled connection, as a busy web process has

    try:
        with hung_redis(tmp_path / "redis", warm=warm) as server:
            yield server
    finally:
        published.notes_client.cache_clear()


def test_a_hung_redis_delays_a_publish_by_the_short_bound_only(db, broker, frozen_notes_redis):
    job = make_job(message_id="m-hung")  # the broker (another Redis) is up: only the note hangs
    started = time.monotonic()

    assert outbox.publish(job.pk, "emails", message_id=job.message_id) == "m-hung"

    assert time.monotonic() - started < published.NOTE_TIMEOUT_S + 1.0  # the test's own work, a busy machine
    assert queue_size(broker) == 1
