"""Cancel in the job admin through Django's test client: the button, the action, the permission, the counts."""

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job
from tests.support.admin import change_url, logged_in, messages_of, staff, text
from tests.support.factories import make_job
from tests.unit.jobs.test_admin import CHANGELIST


def cancel_url(job_or_pk):
    return reverse("admin:jobs_job_cancel", args=[getattr(job_or_pk, "pk", job_or_pk)])


@pytest.fixture
def viewer(db):
    return logged_in(staff("viewer@herald.test", "view_job", "resend_job"))


@pytest.fixture
def canceller(db):
    return logged_in(staff("canceller@herald.test", "view_job", "cancel_job"))


def test_staff_without_the_cancel_permission_see_no_control_and_a_post_is_refused(viewer):
    job = make_job("queued@example.com")

    listing = text(viewer.get(reverse(CHANGELIST)))
    detail = text(viewer.get(change_url(job)))
    assert "cancel_selected_jobs" not in listing
    assert 'id="cancel-job"' not in detail and ">Cancel<" not in detail

    assert viewer.post(cancel_url(job)).status_code == 403
    viewer.post(reverse(CHANGELIST), {"action": "cancel_selected_jobs", "_selected_action": [job.pk]})
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_the_button_cancels_a_queued_job_and_says_so(canceller):
    job = make_job("queued@example.com")
    assert 'id="cancel-job"' in text(canceller.get(change_url(job)))

    response = canceller.post(cancel_url(job))

    assert response.status_code == 302 and response.url == change_url(job)
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.cancelled_by == "canceller@herald.test (admin)"
    assert messages_of(response) == [
        f"Job {job.pk} (send_confirmation_email queued@example.com) cancelled: it will not run."
    ]
    detail = text(canceller.get(change_url(job)))
    assert 'id="cancel-refusal"' in detail and "already finished" in detail


def test_cancel_is_post_only(canceller):
    job = make_job("queued@example.com")

    assert canceller.get(cancel_url(job)).status_code == 405
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_cancel_without_a_csrf_token_is_refused(db):
    job = make_job("queued@example.com")
    client = logged_in(staff("csrf@herald.test", "view_job", "cancel_job"), enforce_csrf_checks=True)

    assert client.post(cancel_url(job)).status_code == 403
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED


def test_cancel_of_an_unknown_job_changes_nothing(canceller):
    response = canceller.post(cancel_url(999999))

    assert response.status_code == 302 and response.url == reverse(CHANGELIST)
    assert "doesn’t exist" in messages_of(response)[0]


def test_the_action_reports_each_row(canceller):
    queued = make_job("a@example.com")
    running = make_job("b@example.com", status=Job.Status.RUNNING, worker_id="w1", claimed_at=timezone.now())
    done = make_job("c@example.com", status=Job.Status.SUCCEEDED, finished_at=timezone.now())

    response = canceller.post(
        reverse(CHANGELIST),
        {"action": "cancel_selected_jobs", "_selected_action": [queued.pk, running.pk, done.pk]},
    )

    assert response.status_code == 302
    assert messages_of(response) == [
        f"Job {queued.pk} (send_confirmation_email a@example.com) cancelled: it will not run.",
        f"Job {running.pk} (send_confirmation_email b@example.com) is running: its worker stops it "
        "and records it cancelled.",
        f"Not cancelled: Job {done.pk} already finished: it is succeeded.",
    ]
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert [statuses[queued.pk], statuses[running.pk], statuses[done.pk]] == [
        Job.Status.CANCELLED,
        Job.Status.RUNNING,
        Job.Status.SUCCEEDED,
    ]


def test_the_list_filters_and_counts_cancelled_jobs(canceller):
    cancelled = make_job("a@example.com", status=Job.Status.CANCELLED, finished_at=timezone.now())
    make_job("b@example.com", status=Job.Status.SUCCEEDED, finished_at=timezone.now())

    response = canceller.get(reverse(CHANGELIST), {"status__exact": "cancelled"})

    assert [job.pk for job in response.context["cl"].result_list] == [cancelled.pk]
    page = text(canceller.get(reverse(CHANGELIST)))
    assert 'id="count-cancelled">1<' in page and 'id="count-succeeded">1<' in page
    assert "?status__exact=cancelled" in page
