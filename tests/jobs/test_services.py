"""Enqueue after commit, broker outages, the relay, resend and prune rules."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jobs import services
from jobs.models import Attempt, Job
from tests.jobs.factories import enqueue_confirmation, make_job, make_user

Status = Job.Status


def queue_size(broker):
    return broker.do_qsize("emails")


def test_the_message_is_sent_only_when_the_transaction_commits(db, broker, django_capture_on_commit_callbacks):
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
        assert services.relay_unsent(now=timezone.now() + timedelta(seconds=5)) == []
    finally:
        redis_server.start()

    relayed = services.relay_unsent(now=timezone.now() + timedelta(seconds=5))

    assert relayed == [job.pk]
    job.refresh_from_db()
    assert job.enqueued_at is not None and queue_size(broker) == 1


def test_a_fresh_unsent_job_is_left_to_its_own_commit_hook(db, broker):
    job = make_job()
    assert services.relay_unsent() == []
    assert services.relay_unsent(now=timezone.now() + timedelta(seconds=5)) == [job.pk]


def test_overdue_jobs_are_sent_again_and_on_time_ones_are_not(db, broker, settings):
    now = timezone.now()
    overdue = make_job("late@example.com", enqueued_at=now, due_at=now - timedelta(seconds=services.REQUEUE_AFTER_S + 1))
    make_job("fine@example.com", enqueued_at=now, due_at=now)
    make_job("done@example.com", status=Status.SUCCEEDED, enqueued_at=now, due_at=now - timedelta(days=1))

    assert services.relay_unsent() == [overdue.pk]


def test_running_jobs_of_dead_workers_are_sent_again(db, broker, settings):
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 500)
    dead = make_job("dead@example.com", status=Status.RUNNING, claimed_by="gone", claimed_at=stale, enqueued_at=stale)
    make_job("alive@example.com", status=Status.RUNNING, claimed_by="busy", claimed_at=timezone.now(), enqueued_at=stale)

    assert services.relay_unsent() == [dead.pk]


def test_resend_creates_a_linked_job_and_keeps_the_failed_one(db, broker, django_capture_on_commit_callbacks):
    failed = make_job(status=Status.FAILED, last_error="550 no")

    with django_capture_on_commit_callbacks(execute=True):
        new = services.resend_job(failed)

    failed.refresh_from_db()
    assert new.resend_of == failed and new.status == Status.QUEUED
    assert (new.task_path, new.queue_name, new.args, new.kwargs) == (
        failed.task_path, failed.queue_name, failed.args, failed.kwargs
    )
    assert failed.status == Status.FAILED and failed.last_error == "550 no"
    assert queue_size(broker) == 1


@pytest.mark.parametrize(
    "status, message",
    [
        (Status.SUCCEEDED, "already succeeded"),
        (Status.RUNNING, "is running, not failed"),
        (Status.RETRYING, "is retrying, not failed"),
    ],
)
def test_resend_is_refused_when_it_makes_no_sense(db, status, message):
    job = make_job(status=status)

    with pytest.raises(services.ResendRefused, match=message):
        services.resend_job(job)
    assert Job.objects.count() == 1


def test_a_job_is_resent_once(db):
    job = make_job(status=Status.FAILED)
    services.resend_job(job)

    with pytest.raises(services.ResendRefused, match="already resent"):
        services.resend_job(job)


def test_resend_failed_jobs_takes_only_resendable_ones(db):
    wanted = make_job("a@example.com", status=Status.FAILED)
    services.resend_job(make_job("b@example.com", status=Status.FAILED))
    make_job("c@example.com", status=Status.SUCCEEDED)

    resent, refused = services.resend_failed_jobs()

    assert [job.pk for job, _ in resent] == [wanted.pk] and refused == []
    assert Job.objects.filter(resend_of__isnull=False).count() == 2


def test_prune_deletes_only_finished_jobs_past_retention(db):
    old = timezone.now() - timedelta(days=40)
    gone = [make_job(f"{s}@example.com", status=s, finished_at=old) for s in (Status.SUCCEEDED, Status.FAILED)]
    kept = [make_job(f"{s}@example.com", status=s) for s in (Status.QUEUED, Status.RUNNING, Status.RETRYING)]
    recent = make_job("recent@example.com", status=Status.SUCCEEDED, finished_at=timezone.now())

    assert services.prune_finished_jobs(older_than=timezone.now() - timedelta(days=30), dry_run=True) == 2
    assert Job.objects.count() == 6
    assert services.prune_finished_jobs(older_than=timezone.now() - timedelta(days=30)) == 2

    remaining = set(Job.objects.values_list("pk", flat=True))
    assert remaining == {job.pk for job in kept} | {recent.pk}
    assert not remaining & {job.pk for job in gone}


def test_relay_dead_claims_sends_only_dead_claims_not_skipped(db, broker, settings):
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 500)
    dead = make_job("dead@example.com", status=Status.RUNNING, claimed_by="gone", claimed_at=stale, enqueued_at=stale)
    skipped = make_job("again@example.com", status=Status.RUNNING, claimed_by="gone", claimed_at=stale)
    make_job("never@example.com")  # never sent: the full sweep's business, not this one

    assert services.relay_dead_claims(skip={skipped.pk}) == [dead.pk]


def test_a_retry_scheduled_on_the_row_is_sent_when_due_with_its_retry_count(db, broker):
    now = timezone.now()
    due = make_job("due@example.com", status=Status.RETRYING, attempts=1, due_at=now - timedelta(seconds=1))
    Attempt.objects.create(job=due, number=1, started_at=now, outcome=Attempt.Outcome.RETRY)
    make_job("later@example.com", status=Status.RETRYING, attempts=1, due_at=now + timedelta(minutes=10))

    assert services.relay_unsent() == [due.pk]
    [message] = [broker.client.hget("dramatiq:emails.msgs", key) for key in broker.client.hkeys("dramatiq:emails.msgs")]
    assert b'"retries":1' in message.replace(b" ", b"")
