"""Resend puts a linked job's message on the real Redis queue."""

from jobs import services
from jobs.models import Job
from tests.support.factories import make_job

Status = Job.Status


def queue_size(broker):
    return broker.do_qsize("emails")


def test_resend_creates_a_linked_job_and_keeps_the_failed_one(db, broker, django_capture_on_commit_callbacks):
    failed = make_job(status=Status.FAILED, last_error="550 no")

    with django_capture_on_commit_callbacks(execute=True):
        new = services.resend_job(failed)

    failed.refresh_from_db()
    assert new.resend_of == failed and new.status == Status.QUEUED
    assert (new.task_path, new.queue_name, new.args, new.kwargs) == (
        failed.task_path,
        failed.queue_name,
        failed.args,
        failed.kwargs,
    )
    assert failed.status == Status.FAILED and failed.last_error == "550 no"
    assert queue_size(broker) == 1
