"""Attempt lines that need the real Redis or a real worker: a dead worker's lost attempt, JSON lines (LOG_FORMAT=json)."""

import json
import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from jobs.models import Job
from jobs.worker import tracking
from tests.support.factories import enqueue_confirmation, make_job, make_user

FIELDS = {"job_id", "message_id", "attempt", "outcome", "duration_ms", "worker_id", "error_class"}


def attempt_lines(caplog):
    return [record for record in caplog.records if record.name == "jobs.attempts"]


def attempt_entries(output):
    """The worker's ``jobs.attempts`` lines, parsed; every one must be JSON."""
    lines = [line for line in output.splitlines() if '"jobs.attempts"' in line]
    return [json.loads(line) for line in lines]


def test_taking_over_from_a_dead_worker_logs_the_lost_attempt(db, caplog):
    caplog.set_level(logging.INFO, logger="jobs.attempts")
    job = make_job()
    tracking.claim_job(job.pk, worker_id="dead-worker", message_id="msg-1")
    five_minutes_ago = timezone.now() - timedelta(minutes=5)
    Job.objects.filter(pk=job.pk).update(claimed_at=five_minutes_ago)

    assert tracking.claim_job(job.pk, worker_id="w2", message_id="msg-2") is not None

    [record] = attempt_lines(caplog)
    assert (record.fields["outcome"], record.fields["error_class"]) == ("lost", "jobs.errors.WorkerLost")
    assert record.fields["attempt"] == 1
    assert record.fields["message_id"] == "msg-1" and record.fields["worker_id"] == "dead-worker"
    assert record.fields["duration_ms"] >= 5 * 60 * 1000


def test_a_real_worker_with_log_format_json_logs_each_attempt_as_json(live_env, processes, smtp_sink):
    smtp_sink.fail_next(1, "421 4.7.0 Try again later")
    live_env["LOG_FORMAT"] = "json"
    worker = processes.worker(live_env)
    with transaction.atomic():
        job = enqueue_confirmation(user=make_user("json@example.com"))

    smtp_sink.wait_for(1)
    worker.wait_until(lambda: len(attempt_entries(worker.output())) == 2, 20, "two attempt lines")

    first, second = attempt_entries(worker.output())
    message_id = Job.objects.get(pk=job.pk).message_id
    assert set(first) >= FIELDS and set(second) >= FIELDS
    assert (first["job_id"], first["attempt"], first["outcome"]) == (job.pk, 1, "retry")
    assert (second["job_id"], second["attempt"], second["outcome"]) == (job.pk, 2, "succeeded")
    assert first["message_id"] == second["message_id"] == message_id
    assert first["error_class"] == "smtplib.SMTPDataError" and second["level"] == "INFO"
    assert all(isinstance(entry["duration_ms"], int) for entry in (first, second))
