"""The claim on a job row decides who runs the task; outcomes are recorded once."""

import smtplib
from datetime import timedelta

from django.utils import timezone

from jobs.models import Attempt, Job
from jobs.worker import tracking
from tests.support.factories import make_job

Status = Job.Status


def test_finished_jobs_are_never_claimed(db):
    for status in (Status.SUCCEEDED, Status.FAILED):
        job = make_job(email=f"{status}@example.com", status=status)
        assert tracking.claim_job(job.pk, worker_id="w", message_id="m") is None


def test_unknown_job_is_not_claimed(db):
    assert tracking.claim_job(987654, worker_id="w", message_id="m") is None


def test_success_and_failure_are_recorded_on_job_and_attempt(db):
    ok_job, bad_job = make_job("ok@example.com"), make_job("bad@example.com")
    ok = tracking.claim_job(ok_job.pk, worker_id="w", message_id="m1")
    bad = tracking.claim_job(bad_job.pk, worker_id="w", message_id="m2")

    tracking.record_success(ok, "250 2.0.0 queued as 123")
    tracking.record_failure(bad, ConnectionRefusedError(111, "Connection refused"), retry_in_ms=15_000)

    ok_job.refresh_from_db()
    bad_job.refresh_from_db()
    assert (ok_job.status, ok_job.return_value, ok_job.worker_id) == (
        Status.SUCCEEDED,
        "250 2.0.0 queued as 123",
        "",
    )
    assert ok_job.finished_at is not None
    assert ok_job.attempts.get().return_value == "250 2.0.0 queued as 123"
    assert bad_job.status == Status.RETRYING and bad_job.due_at > timezone.now()
    assert "Connection refused" in bad_job.last_error and "ConnectionRefusedError" in bad_job.last_traceback
    attempt = bad_job.attempts.get()
    assert (
        attempt.outcome == Attempt.Outcome.RETRY and attempt.error_class == "builtins.ConnectionRefusedError"
    )
    assert attempt.duration_ms is not None


def test_a_failure_without_a_retry_fails_the_job_and_keeps_the_smtp_reply(db):
    job = make_job()
    claim = tracking.claim_job(job.pk, worker_id="w", message_id="m")

    tracking.record_failure(claim, smtplib.SMTPRecipientsRefused({job.label: (550, b"5.1.1 No such user")}))

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.finished_at is not None and job.return_value is None
    attempt = job.attempts.get()
    assert (attempt.outcome, attempt.smtp_reply) == (Attempt.Outcome.FAILED, "550 5.1.1 No such user")
    assert attempt.return_value is None


def test_a_retry_too_far_off_to_hold_is_scheduled_on_the_row(db):
    job = make_job(message_id="m")
    claim = tracking.claim_job(job.pk, worker_id="w", message_id="m")

    tracking.record_failure(claim, TimeoutError(), retry_in_ms=3_600_000, held=False)

    job.refresh_from_db()
    assert job.status == Status.RETRYING and job.message_id == ""  # the relay sends it when due
    assert timedelta(minutes=59) < job.due_at - timezone.now() <= timedelta(hours=1)


def test_a_claim_loads_the_task_and_its_arguments_as_the_orm_would(db):
    args = [7, "Ada@example.com", {"nested": [1.5, None, True]}]
    kwargs = {"when": "2025-01-01T00:00:00+00:00", "ids": [1, 2]}
    job = make_job(args=args, kwargs=kwargs)

    claim = tracking.claim_job(job.pk, worker_id="w", message_id="m", first_hand=True)

    expected = Job.objects.get(pk=job.pk)
    for name in tracking.CLAIMED_FIELDS:
        if name not in ("status", "attempt_count"):  # the claim changed those
            assert getattr(claim.job, name) == getattr(expected, name), name
    assert (claim.job.args, claim.job.kwargs) == (args, kwargs)
    assert (claim.job.status, claim.job.attempt_count) == (Status.RUNNING, 1)
    assert claim.job.label == "Ada@example.com"  # a field the claim did not load comes on access
