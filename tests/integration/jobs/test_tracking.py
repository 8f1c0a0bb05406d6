"""Claims judged by the workers' liveness in Redis: a live worker's claim is respected, a dead one's taken over."""

import threading
from datetime import timedelta

from django.utils import timezone

from jobs.models import Attempt, Job
from jobs.worker import takeover, tracking
from tests.support.factories import make_job

Status = Job.Status


def test_a_queued_job_is_claimed_once(db):
    job = make_job()

    first = tracking.claim_job(job.pk, worker_id="w1", message_id="m1")
    second = tracking.claim_job(job.pk, worker_id="w1", message_id="m1")

    assert first is not None and second is None
    job.refresh_from_db()
    assert (job.status, job.attempt_count, job.worker_id) == (Status.RUNNING, 1, "w1")
    assert not job.attempts.exists()  # an attempt row is written once, when the attempt ends


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
    assert Job.objects.get(pk=job.pk).attempt_count == 1


def test_a_live_workers_claim_is_respected(db, broker):
    job = make_job()
    tracking.claim_job(job.pk, worker_id=broker.broker_id, message_id="m1")
    broker.do_qsize("emails")  # stamps this worker's broker liveness, as a live worker's fetches do

    assert tracking.claim_job(job.pk, worker_id="other", message_id="m1") is None


def test_a_dead_workers_claim_is_taken_over_and_its_attempt_marked_lost(db, settings):
    job = make_job()
    tracking.claim_job(job.pk, worker_id="dead-worker", message_id="m1")
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 1000)
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)

    claim = tracking.claim_job(job.pk, worker_id="new-worker", message_id="m1")

    assert claim is not None
    job.refresh_from_db()
    assert (job.worker_id, job.attempt_count, job.lost_attempts) == ("new-worker", 2, 1)
    outcomes = list(job.attempts.values_list("number", "outcome", "worker_id"))
    assert outcomes == [(1, Attempt.Outcome.LOST, "dead-worker")]


def test_a_job_that_keeps_killing_its_worker_is_failed(db, settings, monkeypatch):
    monkeypatch.setattr(takeover, "MAX_LOST_ATTEMPTS", 2)
    job = make_job()
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 1000)
    tracking.claim_job(job.pk, worker_id="dead-1", message_id="m")
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)
    assert tracking.claim_job(job.pk, worker_id="dead-2", message_id="m") is not None
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)

    assert tracking.claim_job(job.pk, worker_id="next", message_id="m") == tracking.GaveUp(job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.lost_attempts == 2
    assert "died during 2 attempts" in job.last_error
    assert job.attempts.filter(outcome=Attempt.Outcome.LOST).count() == 2


def test_an_outcome_from_a_superseded_claim_does_not_overwrite_the_new_one(db, settings):
    job = make_job()
    old = tracking.claim_job(job.pk, worker_id="old", message_id="m")
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 1000)
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)
    tracking.claim_job(job.pk, worker_id="new", message_id="m")

    tracking.record_failure(old, ConnectionResetError("reset"), retry_in_ms=15_000)

    job.refresh_from_db()
    assert (job.status, job.worker_id) == (Status.RUNNING, "new")
