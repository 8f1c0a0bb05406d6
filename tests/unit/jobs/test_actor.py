"""The actor against the real Redis broker and a real SMTP server, in a worker thread."""

import pytest
from django.db import transaction

from accounts.tasks import send_confirmation_email
from jobs.models import Attempt, Job
from jobs.worker.actors import run_task
from tests.support.factories import enqueue_confirmation, make_job, make_user
from tests.support.inprocess import drain

Status = Job.Status


@pytest.fixture
def smtp_settings(settings, smtp_sink):
    settings.EMAIL_BACKEND = "jobs.worker.mail.RecordingSMTPBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_sink.port
    return settings


def enqueue_for(email):
    with transaction.atomic():
        return enqueue_confirmation(user=make_user(email))


def finish(broker, worker):
    drain(broker, worker)


def test_sends_once_and_records_the_smtp_reply(smtp_settings, smtp_sink, broker, in_process_worker):
    job = enqueue_for("one@example.com")

    finish(broker, in_process_worker)

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempt_count == 1
    assert job.return_value.startswith("250") and job.message_id
    assert smtp_sink.recipients() == ["one@example.com"]


def test_the_task_result_reads_the_smtp_reply_from_the_job_row(
    smtp_settings, smtp_sink, broker, in_process_worker
):
    job = enqueue_for("result@example.com")
    finish(broker, in_process_worker)
    job.refresh_from_db()

    result = send_confirmation_email.get_result(str(job.result_id))

    assert result.status == "SUCCESSFUL"
    assert result.return_value == job.return_value and result.return_value.startswith("250")
    assert result.worker_ids == [broker.broker_id]


def test_a_message_delivered_twice_sends_one_email(smtp_settings, smtp_sink, broker, in_process_worker):
    job = enqueue_for("twice@example.com")
    finish(broker, in_process_worker)

    # A redelivery of the same message, as after a lost acknowledgement.
    broker.enqueue(run_task.message(job.pk).copy(queue_name=job.queue_name))
    finish(broker, in_process_worker)

    assert smtp_sink.recipients() == ["twice@example.com"]
    assert Job.objects.get(pk=job.pk).attempt_count == 1


def test_transient_failures_are_retried_then_delivered(smtp_settings, smtp_sink, broker, in_process_worker):
    smtp_sink.fail_next(2, "451 4.3.0 Temporary local problem")
    job = enqueue_for("retry@example.com")

    finish(broker, in_process_worker)

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.attempt_count == 3
    assert list(job.attempts.values_list("outcome", flat=True)) == ["retry", "retry", "succeeded"]
    assert len(smtp_sink.messages) == 1


def test_retries_exhausted_fail_the_job(smtp_settings, smtp_sink, broker, in_process_worker):
    smtp_sink.fail_next(10)
    job = enqueue_for("never@example.com")

    finish(broker, in_process_worker)

    job.refresh_from_db()
    # JOBS_MAX_RETRIES is 3 in the tests: one attempt and three retries.
    assert job.status == Status.FAILED and job.attempt_count == 4
    assert job.attempts.filter(outcome=Attempt.Outcome.FAILED).count() == 1
    assert "421" in job.last_error


def test_permanent_refusal_fails_at_once(smtp_settings, smtp_sink, broker, in_process_worker):
    smtp_sink.reject("gone@example.com", "550 5.1.1 Mailbox does not exist")
    job = enqueue_for("gone@example.com")

    finish(broker, in_process_worker)

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempt_count == 1
    assert "550" in job.last_error and "550" in job.attempts.get().smtp_reply


def test_connection_refused_is_transient(smtp_settings, smtp_sink, broker, in_process_worker):
    smtp_sink.stop()
    job = enqueue_for("down@example.com")

    finish(broker, in_process_worker)

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempt_count == 4
    assert job.attempts.first().error_class == "builtins.ConnectionRefusedError"


@pytest.mark.parametrize(
    "task_path, why, error_class",
    [
        ("accounts.tasks.send_carrier_pigeon", "does not define", "builtins.ImportError"),
        ("accounts.tasks_gone.send_confirmation_email", "No module named", "builtins.ModuleNotFoundError"),
        ("accounts.emails.addressee", "is not a task", "jobs.errors.UnknownTask"),
    ],
    ids=["missing", "module-missing", "not-a-task"],
)
def test_a_job_naming_no_task_fails_at_once(db, mailoutbox, task_path, why, error_class):
    job = make_job("odd@example.com", task_path=task_path)

    run_task(job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempt_count == 1 and why in job.last_error
    assert job.attempts.get().error_class == error_class
    assert mailoutbox == []


def test_an_unimportable_task_keeps_the_import_error_that_says_why(db):
    job = make_job("odd@example.com", task_path="accounts.tasks_gone.send_confirmation_email")

    run_task(job.pk)

    attempt = Attempt.objects.get(job=job)
    assert attempt.error_class == "builtins.ModuleNotFoundError"
    assert attempt.error_message == "No module named 'accounts.tasks_gone'"
    assert attempt.traceback.startswith("Traceback") and "import_module" in attempt.traceback
    assert attempt.traceback.rstrip().endswith("ModuleNotFoundError: No module named 'accounts.tasks_gone'")
