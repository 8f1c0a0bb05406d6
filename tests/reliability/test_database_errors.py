"""Database errors while claiming or recording: the message is retried, the email sent once."""

import pytest
from django.db import OperationalError, transaction

from jobs.models import Job
from jobs.worker import tracking
from tests.support.checks import assert_exactly_one_email_each
from tests.support.factories import enqueue_confirmation, make_user
from tests.support.inprocess import drain

pytestmark = pytest.mark.reliability


@pytest.fixture
def smtp_settings(settings, smtp_sink):
    settings.EMAIL_BACKEND = "jobs.worker.mail.RecordingSMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port


def fail_first_call(monkeypatch, name):
    """Make ``jobs.worker.tracking.<name>`` raise "database is locked" once, as after its own retries ran out."""
    real, calls = getattr(tracking, name), []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(tracking, name, flaky)
    return calls


def run(broker, worker, email):
    with transaction.atomic():
        job = enqueue_confirmation(user=make_user(email))
    drain(broker, worker)
    job.refresh_from_db()
    return job


def test_a_failed_claim_is_retried(smtp_settings, smtp_sink, broker, in_process_worker, monkeypatch):
    calls = fail_first_call(monkeypatch, "claim_job")

    job = run(broker, in_process_worker, "claim@example.com")

    assert len(calls) == 2
    assert job.attempt_count == 1
    assert_exactly_one_email_each(smtp_sink, ["claim@example.com"])


def test_an_unrecorded_success_is_recorded_by_the_retry_without_sending_again(
    smtp_settings, smtp_sink, broker, in_process_worker, monkeypatch
):
    calls = fail_first_call(monkeypatch, "record_success")

    job = run(broker, in_process_worker, "record@example.com")

    assert len(calls) == 1  # the retry recorded through record_ran_earlier, without a new claim
    assert job.status == Job.Status.SUCCEEDED and job.return_value.startswith("250")
    assert_exactly_one_email_each(smtp_sink, ["record@example.com"])
