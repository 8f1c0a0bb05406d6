"""The outbox: enqueue after commit, broker outages, and the relay of what the broker never got or lost."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jobs.enqueue import outbox
from jobs.models import Attempt, Job
from tests.support.factories import enqueue_confirmation, make_job, make_user

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
    assert job.enqueued_at is not None and job.message_id


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
        assert job.status == Status.QUEUED and job.enqueued_at is None
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
        "late@example.com", enqueued_at=now, due_at=now - timedelta(seconds=outbox.REQUEUE_AFTER_S + 1)
    )
    make_job("fine@example.com", enqueued_at=now, due_at=now)
    make_job("done@example.com", status=Status.SUCCEEDED, enqueued_at=now, due_at=now - timedelta(days=1))

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
