"""One log line per job attempt (job, message, attempt, outcome, duration), JSON with LOG_FORMAT=json; an outage logged once."""

import json
import logging
import smtplib
import sys

from jobs.logs import JsonFormatter, OutageLog
from jobs.models import Attempt
from jobs.worker import tracking
from tests.support.factories import make_job


def attempt_lines(caplog):
    return [record for record in caplog.records if record.name == "jobs.attempts"]


def test_a_successful_attempt_logs_one_info_line(db, caplog):
    caplog.set_level(logging.INFO, logger="jobs.attempts")
    job = make_job()
    claim = tracking.claim_job(job.pk, worker_id="w1", message_id="msg-1")

    tracking.record_success(claim, "250 OK")

    [record] = attempt_lines(caplog)
    assert record.levelno == logging.INFO
    assert record.fields == {
        "job_id": job.pk,
        "message_id": "msg-1",
        "attempt": 1,
        "outcome": "succeeded",
        "duration_ms": Attempt.objects.get(job=claim.job, number=claim.number).duration_ms,
        "worker_id": "w1",
        "error_class": "",
    }
    assert f"job={job.pk} message=msg-1 attempt=1 outcome=succeeded duration_ms=" in record.getMessage()


def test_a_failed_attempt_logs_a_warning_with_the_error_class(db, caplog):
    job = make_job()
    claim = tracking.claim_job(job.pk, worker_id="w1", message_id="msg-1")

    tracking.record_failure(claim, smtplib.SMTPServerDisconnected("gone"), retry_in_ms=15_000)

    [record] = attempt_lines(caplog)
    assert record.levelno == logging.WARNING
    assert (record.fields["outcome"], record.fields["error_class"]) == (
        "retry",
        "smtplib.SMTPServerDisconnected",
    )
    assert isinstance(record.fields["duration_ms"], int)


def test_json_formatter_writes_one_object_with_the_fields():
    record = logging.LogRecord("jobs.attempts", logging.WARNING, __file__, 1, "job=%s failed", (7,), None)
    record.fields = {"job_id": 7, "outcome": "failed", "duration_ms": 12}

    line = JsonFormatter().format(record)

    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "jobs.attempts"
    assert entry["message"] == "job=7 failed"
    assert (entry["job_id"], entry["outcome"], entry["duration_ms"]) == (7, "failed", 12)
    assert entry["time"].endswith("+00:00")


def test_json_formatter_keeps_a_traceback_on_the_line():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    entry = json.loads(JsonFormatter().format(record))

    assert "ValueError: boom" in entry["exception"]


logger = logging.getLogger("jobs.worker.middleware")


def test_an_outage_is_logged_once_with_its_traceback_and_once_when_it_ends(caplog):
    outage = OutageLog(logger)
    with caplog.at_level(logging.INFO, logger="jobs.worker.middleware"):
        for _ in range(3):
            try:
                raise ConnectionError("refused")
            except ConnectionError as exc:
                outage.failed("liveness stamp", exc)
        outage.worked("liveness stamp")
        outage.worked("liveness stamp")

    assert [(record.levelname, record.exc_info is not None) for record in caplog.records] == [
        ("WARNING", True),
        ("INFO", False),
    ]
