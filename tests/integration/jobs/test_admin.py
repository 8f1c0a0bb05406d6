"""The job admin on the real Redis: the broker's queues, live workers, and pages while Redis is down."""

from django.urls import reverse
from django.utils import timezone

from jobs.models import Attempt, Job
from jobs.worker.actors import run_task
from jobs.worker.middleware import stamp_alive
from tests.support.admin import change_url, failed_job, messages_of, resend_url, text
from tests.support.factories import make_job

Status = Job.Status


CHANGELIST = "admin:jobs_job_changelist"


def test_resend_button_starts_a_linked_job_on_the_broker(
    resender, broker, django_capture_on_commit_callbacks
):
    job = failed_job()
    Attempt.objects.create(job=job, number=1, started_at=timezone.now(), outcome=Attempt.Outcome.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        response = resender.post(resend_url(job))

    new_job = Job.objects.get(resend_of=job)
    assert response.status_code == 302 and response.url == change_url(new_job)
    assert new_job.status == Status.QUEUED
    assert (new_job.task_path, new_job.args, new_job.label) == (job.task_path, job.args, "failed@example.com")
    assert new_job.message_id and new_job.enqueued_at is None  # one write: named before the publish
    assert broker.do_qsize("emails") == 1
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts.count() == 1
    assert any(f"job {new_job.pk}" in message for message in messages_of(response))


def test_summary_shows_counts_outcomes_broker_queue_and_workers(viewer, broker):
    failed_job("a@example.com")
    make_job("b@example.com", status=Status.SUCCEEDED, finished_at=timezone.now())
    make_job("c@example.com", status=Status.QUEUED)
    make_job("d@example.com", status=Status.QUEUED)
    broker.enqueue(run_task.message(1).copy(queue_name="emails"))
    broker.enqueue(run_task.message(2).copy(queue_name="emails"), delay=60_000)
    stamp_alive(broker)

    page = text(viewer.get(reverse(CHANGELIST)))

    assert (
        'id="count-queued">2<' in page
        and 'id="count-failed">1<' in page
        and 'id="count-succeeded">1<' in page
    )
    assert 'id="sent-last-hour">1<' in page and 'id="failed-last-day">1<' in page
    assert 'id="queue-depth">1<' in page and 'id="delayed">1<' in page
    assert 'id="workers-alive">1 alive<' in page


def test_summary_says_when_no_worker_is_alive(viewer):
    assert "None alive" in text(viewer.get(reverse(CHANGELIST)))


def test_pages_render_while_redis_is_down(viewer, redis_server):
    job = make_job("a@example.com", status=Status.SUCCEEDED, return_value="250 2.0.0 Ok: queued as 4BC1")
    redis_server.stop()
    try:
        listing = viewer.get(reverse(CHANGELIST))
        detail = viewer.get(change_url(job))
    finally:
        redis_server.start()

    assert listing.status_code == 200 and 'id="broker-unreachable"' in text(listing)
    assert "Unknown (broker unreachable)" in text(listing)
    assert 'id="count-succeeded">1<' in text(listing)
    assert detail.status_code == 200 and "250 2.0.0 Ok: queued as 4BC1" in text(detail)
