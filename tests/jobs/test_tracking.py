"""The claim on a job row decides who sends; outcomes are recorded once."""

import threading
from datetime import timedelta

from django.utils import timezone

from jobs import tracking
from jobs.models import Attempt, Job
from tests.jobs.factories import make_job

Status = Job.Status


def test_a_queued_job_is_claimed_once(db):
    job = make_job()

    first = tracking.claim_job(job.pk, worker_id="w1", message_id="m1")
    second = tracking.claim_job(job.pk, worker_id="w1", message_id="m1")

    assert first is not None and second is None
    job.refresh_from_db()
    assert (job.status, job.attempts, job.claimed_by) == (Status.RUNNING, 1, "w1")
    assert not job.attempt_set.exists()  # an attempt row is written once, when the attempt ends


def test_finished_jobs_are_never_claimed(db):
    for status in (Status.SUCCEEDED, Status.FAILED):
        job = make_job(email=f"{status}@example.com", status=status)
        assert tracking.claim_job(job.pk, worker_id="w", message_id="m") is None


def test_unknown_job_is_not_claimed(db):
    assert tracking.claim_job(987654, worker_id="w", message_id="m") is None


def test_two_threads_racing_one_claim_wins(transactional_db):
    job = make_job()
    results, barrier = [], threading.Barrier(4)

    def claim(n):
        barrier.wait()
        results.append(tracking.claim_job(job.pk, worker_id=f"w{n}", message_id="m"))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(result is not None for result in results) == 1
    assert Job.objects.get(pk=job.pk).attempts == 1


def test_a_live_workers_claim_is_respected(db, broker):
    job = make_job()
    tracking.claim_job(job.pk, worker_id=broker.broker_id, message_id="m1")
    broker.do_qsize("emails")  # stamps this broker's heartbeat, as a live worker's fetches do

    assert tracking.claim_job(job.pk, worker_id="other", message_id="m1") is None


def test_a_dead_workers_claim_is_taken_over_and_its_attempt_marked_lost(db, settings):
    job = make_job()
    tracking.claim_job(job.pk, worker_id="dead-worker", message_id="m1")
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 1000)
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)

    claim = tracking.claim_job(job.pk, worker_id="new-worker", message_id="m1")

    assert claim is not None
    job.refresh_from_db()
    assert (job.claimed_by, job.attempts, job.lost_attempts) == ("new-worker", 2, 1)
    outcomes = list(job.attempt_set.values_list("number", "outcome", "worker"))
    assert outcomes == [(1, Attempt.Outcome.LOST, "dead-worker")]


def test_a_job_that_keeps_killing_its_worker_is_failed(db, settings):
    settings.JOBS_MAX_LOST_ATTEMPTS = 2
    job = make_job()
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 1000)
    tracking.claim_job(job.pk, worker_id="dead-1", message_id="m")
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)
    assert tracking.claim_job(job.pk, worker_id="dead-2", message_id="m") is not None
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)

    assert tracking.claim_job(job.pk, worker_id="next", message_id="m") is None

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.lost_attempts == 2
    assert "died during 2 attempts" in job.last_error
    assert job.attempt_set.filter(outcome=Attempt.Outcome.LOST).count() == 2


def test_success_and_failure_are_recorded_on_job_and_attempt(db):
    ok_job, bad_job = make_job("ok@example.com"), make_job("bad@example.com")
    ok = tracking.claim_job(ok_job.pk, worker_id="w", message_id="m1")
    bad = tracking.claim_job(bad_job.pk, worker_id="w", message_id="m2")

    tracking.record_success(ok, "250 2.0.0 queued as 123")
    tracking.record_failure(bad, ConnectionRefusedError(111, "Connection refused"), will_retry=True)

    ok_job.refresh_from_db()
    bad_job.refresh_from_db()
    assert (ok_job.status, ok_job.result, ok_job.claimed_by) == (Status.SUCCEEDED, "250 2.0.0 queued as 123", "")
    assert ok_job.finished_at is not None
    assert bad_job.status == Status.RETRYING and bad_job.due_at > timezone.now()
    assert "Connection refused" in bad_job.last_error and "ConnectionRefusedError" in bad_job.last_traceback
    attempt = bad_job.attempt_set.get()
    assert attempt.outcome == Attempt.Outcome.RETRY and attempt.error_class == "builtins.ConnectionRefusedError"
    assert attempt.duration_ms is not None


def test_an_outcome_from_a_superseded_claim_does_not_overwrite_the_new_one(db, settings):
    job = make_job()
    old = tracking.claim_job(job.pk, worker_id="old", message_id="m")
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 1000)
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)
    tracking.claim_job(job.pk, worker_id="new", message_id="m")

    tracking.record_failure(old, ConnectionResetError("reset"), will_retry=True)

    job.refresh_from_db()
    assert (job.status, job.claimed_by) == (Status.RUNNING, "new")


def test_a_claim_loads_its_user_as_the_orm_would(db):
    job = make_job()
    User = type(job.user)
    User.objects.filter(pk=job.user_id).update(last_login=timezone.now(), activated_at=None)

    claim = tracking.claim_job(job.pk, worker_id="w", message_id="m", first_hand=True)

    expected = User.objects.get(pk=job.user_id)
    loaded = claim.job.user
    for field in User._meta.concrete_fields:
        value = getattr(loaded, field.attname)
        assert value == getattr(expected, field.attname) and type(value) is type(getattr(expected, field.attname))
    assert timezone.is_aware(loaded.date_joined) and loaded.is_active is False
    assert (claim.job.recipient, claim.job.attempts) == (job.recipient, 1)


def test_a_claim_of_a_job_whose_user_was_deleted_has_no_user(db):
    job = make_job()
    job.user.delete()

    claim = tracking.claim_job(job.pk, worker_id="w", message_id="m", first_hand=True)

    assert claim is not None and claim.job.user is None
