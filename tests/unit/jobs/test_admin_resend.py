"""The job admin's resend controls: the button, the bulk action and "Resend all failed"."""

import pytest
from django.urls import reverse

from jobs.admin import job as jobs_admin
from jobs.models import Job
from tests.support.admin import (
    CHANGELIST,
    RESEND_FAILED,
    change_url,
    failed_job,
    logged_in,
    messages_of,
    resend_url,
    resent_job,
    staff,
    text,
)
from tests.support.factories import make_job

Status = Job.Status


def test_resend_is_post_only(resender):
    job = failed_job()

    assert resender.get(resend_url(job)).status_code == 405
    assert Job.objects.count() == 1


def test_resend_without_a_csrf_token_is_refused(db):
    job = failed_job()
    client = logged_in(staff("csrf@herald.test", "view_job", "resend_job"), enforce_csrf_checks=True)

    assert client.post(resend_url(job)).status_code == 403
    assert client.post(reverse(RESEND_FAILED)).status_code == 403
    assert Job.objects.count() == 1


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: make_job("sent@example.com", status=Status.SUCCEEDED), "already succeeded"),
        (lambda: resent_job("resent@example.com"), "already resent"),
        (lambda: make_job("waiting@example.com", status=Status.RETRYING), "not failed"),
    ],
    ids=["succeeded", "resent", "retrying"],
)
def test_resend_is_refused_with_a_message(resender, make, reason):
    job = make()
    jobs_before = Job.objects.count()

    detail = text(resender.get(change_url(job)))
    response = resender.post(resend_url(job))

    assert reason in detail and 'id="resend-job"' not in detail
    assert response.status_code == 302 and response.url == change_url(job)
    assert [message for message in messages_of(response) if reason in message]
    assert Job.objects.count() == jobs_before


def test_a_job_is_resent_once(resender):
    job = failed_job()
    resender.post(resend_url(job))

    response = resender.post(resend_url(job))

    assert any("already resent" in message for message in messages_of(response))
    assert Job.objects.filter(resend_of=job).count() == 1


def test_resend_of_an_unknown_job_changes_nothing(resender):
    for pk in ("999999", "not-a-number"):
        response = resender.post(reverse("admin:jobs_job_resend", args=[pk]))
        assert response.status_code == 302
        assert any("doesn’t exist" in message for message in messages_of(response))
    assert not Job.objects.exists()


def test_bulk_action_resends_failed_jobs_and_refuses_the_others_row_by_row(resender):
    resendable = failed_job("a@example.com")
    sent = make_job("b@example.com", status=Status.SUCCEEDED)
    resent = resent_job("c@example.com")

    response = resender.post(
        reverse(CHANGELIST),
        {"action": "resend_selected_failed_jobs", "_selected_action": [resendable.pk, sent.pk, resent.pk]},
    )

    assert response.status_code == 302
    resends = Job.objects.filter(resend_of__isnull=False).values_list("resend_of", flat=True)
    assert sorted(resends) == [resendable.pk, resent.pk]  # resent's one resend is the earlier one
    notes = messages_of(response)
    assert any(
        message.startswith(f"Job {resendable.pk} (send_confirmation_email a@example.com) resent as")
        for message in notes
    )
    assert f"Job {sent.pk} not resent: Job {sent.pk} already succeeded." in notes
    assert f"Job {resent.pk} not resent: Job {resent.pk} was already resent." in notes


def test_bulk_action_refuses_a_selection_above_the_limit(resender, monkeypatch):
    monkeypatch.setattr(jobs_admin, "MAX_BULK_RESEND", 2)
    jobs = [failed_job(f"{n}@example.com") for n in range(3)]

    response = resender.post(
        reverse(CHANGELIST),
        {"action": "resend_selected_failed_jobs", "_selected_action": [j.pk for j in jobs]},
    )

    assert any("select at most 2 jobs" in message for message in messages_of(response))
    assert Job.objects.count() == 3


def test_resend_all_failed_asks_first_stating_how_many(resender):
    failed_job("a@example.com")
    failed_job("b@example.com")
    resent_job("c@example.com")
    make_job("d@example.com", status=Status.SUCCEEDED)

    page = text(resender.get(reverse(RESEND_FAILED)))

    assert "Resend <strong>2</strong> failed jobs?" in page
    assert "1 other failed job will be left alone" in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    assert Job.objects.count() == 5  # c's resend included


def test_resend_all_failed_resends_on_post(resender):
    a, b = failed_job("a@example.com"), failed_job("b@example.com")

    response = resender.post(reverse(RESEND_FAILED))

    assert response.status_code == 302 and response.url == reverse(CHANGELIST)
    assert set(Job.objects.filter(resend_of__isnull=False).values_list("resend_of", flat=True)) == {
        a.pk,
        b.pk,
    }
    assert len([message for message in messages_of(response) if "resent as" in message]) == 2


def test_resend_all_failed_sends_a_bounded_batch_per_request(resender, monkeypatch):
    monkeypatch.setattr("jobs.admin.job.MAX_BULK_RESEND", 2)
    jobs = [failed_job(f"{n}@example.com") for n in range(3)]

    response = resender.post(reverse(RESEND_FAILED))

    resent = set(Job.objects.filter(resend_of__isnull=False).values_list("resend_of", flat=True))
    assert resent == {jobs[0].pk, jobs[1].pk}
    assert any("1 more failed job(s) remain" in message for message in messages_of(response))


def test_resend_all_failed_with_nothing_to_resend(resender):
    make_job("d@example.com", status=Status.SUCCEEDED)

    page = text(resender.get(reverse(RESEND_FAILED)))

    assert "There is no failed job to resend." in page and 'id="confirm-resend"' not in page
