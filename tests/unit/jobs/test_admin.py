"""The job admin through Django's test client: pages, resend paths, permissions, escaping."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from jobs.admin import changelist as admin_list
from jobs.admin import job as jobs_admin
from jobs.models import Attempt, Job
from jobs.services import resend_job
from tests.support.admin import change_url, failed_job, logged_in, messages_of, resend_url, staff, text
from tests.support.factories import make_job

Status = Job.Status


CHANGELIST = "admin:jobs_job_changelist"


RESEND_FAILED = "admin:jobs_job_resend_failed"


def resent_job(email):
    """A failed job that was resent already."""
    job = failed_job(email)
    resend_job(job)
    return job


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_and_non_staff_get_the_login_page(db, method):
    job = failed_job()
    member = Client()
    member.force_login(User.objects.create_user(email="member@example.com", password="x", is_active=True))
    urls = [reverse(CHANGELIST), change_url(job), resend_url(job), reverse(RESEND_FAILED)]

    for client in (Client(), member):
        for url in urls:
            response = getattr(client, method)(url)
            assert response.status_code == 302 and response.url.startswith("/admin/login/"), (url, response)

    assert Job.objects.count() == 1


def test_staff_without_job_permissions_are_refused(db):
    job = failed_job()
    client = logged_in(staff("nobody@herald.test"))

    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(change_url(job)).status_code == 403
    assert client.post(resend_url(job)).status_code == 403
    assert Job.objects.count() == 1


def test_staff_without_the_resend_permission_see_no_resend_controls(viewer):
    job = failed_job()

    listing = text(viewer.get(reverse(CHANGELIST)))
    detail = text(viewer.get(change_url(job)))

    assert "failed@example.com" in listing and "failed@example.com" in detail
    assert "Resend all failed" not in listing
    assert "resend_selected_failed_jobs" not in listing
    assert 'id="resend-job"' not in detail and ">Resend<" not in detail


def test_staff_without_the_resend_permission_cannot_resend_by_post(viewer):
    job = failed_job()

    assert viewer.post(resend_url(job)).status_code == 403
    assert viewer.get(reverse(RESEND_FAILED)).status_code == 403
    assert viewer.post(reverse(RESEND_FAILED)).status_code == 403
    viewer.post(reverse(CHANGELIST), {"action": "resend_selected_failed_jobs", "_selected_action": [job.pk]})

    assert Job.objects.count() == 1


def test_staff_with_the_resend_permission_see_the_controls(resender):
    job = failed_job()

    assert "Resend all failed" in text(resender.get(reverse(CHANGELIST)))
    assert 'value="resend_selected_failed_jobs"' in text(resender.get(reverse(CHANGELIST)))
    assert 'id="resend-job"' in text(resender.get(change_url(job)))


def test_nobody_adds_edits_or_deletes_jobs_in_the_admin(db):
    superuser = logged_in(User.objects.create_superuser(email="root@herald.test", password="x"))
    job = failed_job()

    detail = text(superuser.get(change_url(job)))

    assert superuser.get(reverse("admin:jobs_job_add")).status_code == 403
    assert superuser.post(change_url(job), {"label": "evil@example.com"}).status_code == 403
    assert superuser.post(reverse("admin:jobs_job_delete", args=[job.pk]), {"post": "yes"}).status_code == 403
    assert 'name="_save"' not in detail
    job.refresh_from_db()
    assert job.label == "failed@example.com"


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


def test_chart_draws_the_last_24_hours(viewer):
    failed_job("a@example.com")
    make_job("b@example.com", status=Status.SUCCEEDED, finished_at=timezone.now())

    page = text(viewer.get(reverse(CHANGELIST)))
    chart = page[page.index('id="job-chart"') :]

    assert chart.count("<g>") == 24
    assert '<rect class="sent"' in chart and '<rect class="failed"' in chart
    assert "1 sent, 1 failed</title>" in chart
    assert "<script" not in chart


def test_search_by_address_message_id_and_job_id(viewer):
    ada = make_job("ada@example.com", message_id="5b0b0c1e-0000-4000-8000-000000000000")
    bob = make_job("bob@example.com")

    def found(term):
        cl = viewer.get(reverse(CHANGELIST), {"q": term}).context["cl"]
        return {job.label for job in cl.result_list}

    assert found("ada@") == {"ada@example.com"}
    assert found("ADA@EXAMPLE.COM") == {"ada@example.com"}
    assert found(ada.message_id) == {"ada@example.com"}
    assert found(str(bob.pk)) == {"bob@example.com"}
    assert found("example.com") == set()


def test_search_by_result_id(viewer):
    make_job("ada@example.com")
    bob = make_job("bob@example.com")

    cl = viewer.get(reverse(CHANGELIST), {"q": str(bob.result_id)}).context["cl"]

    assert [job.label for job in cl.result_list] == ["bob@example.com"]


def test_the_job_page_shows_the_result_id_and_opens_at_it_too(viewer):
    job = make_job("ada@example.com")

    by_row = text(viewer.get(change_url(job)))
    by_result_id = text(viewer.get(reverse("admin:jobs_job_change", args=[str(job.result_id)])))

    assert f'<code id="job-result-id">{job.result_id}</code>' in by_row
    assert f'<code id="job-result-id">{job.result_id}</code>' in by_result_id
    assert viewer.get(reverse("admin:jobs_job_change", args=[str(uuid.uuid4())])).status_code == 302


def test_status_filter(viewer):
    failed_job("a@example.com")
    make_job("b@example.com", status=Status.SUCCEEDED)

    cl = viewer.get(reverse(CHANGELIST), {"status__exact": "failed"}).context["cl"]

    assert [job.label for job in cl.result_list] == ["a@example.com"]


def test_list_is_newest_first(viewer):
    old, new = make_job("old@example.com"), make_job("new@example.com")
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))

    cl = viewer.get(reverse(CHANGELIST)).context["cl"]

    assert [job.pk for job in cl.result_list] == [new.pk, old.pk]


def test_only_indexed_columns_sort_even_by_a_hand_written_url(viewer):
    old, new = make_job("old@example.com", attempt_count=1), make_job("new@example.com", attempt_count=5)
    Job.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    columns = viewer.get(reverse(CHANGELIST)).context["cl"].list_display

    by_attempts = viewer.get(reverse(CHANGELIST), {"o": columns.index("attempt_count")}).context["cl"]
    by_created = viewer.get(reverse(CHANGELIST), {"o": columns.index("created_at")}).context["cl"]

    assert [job.pk for job in by_attempts.result_list] == [new.pk, old.pk]
    assert [job.pk for job in by_created.result_list] == [old.pk, new.pk]


def at(year, month, day):
    return timezone.make_aware(datetime(year, month, day, 12))


def test_date_drilldown_offers_only_periods_with_jobs(viewer):
    for email, when in [
        ("a@example.com", at(2024, 3, 5)),
        ("b@example.com", at(2025, 7, 9)),
        ("c@example.com", at(2025, 7, 21)),
    ]:
        Job.objects.filter(pk=make_job(email).pk).update(created_at=when)
    url = reverse(CHANGELIST)

    years = viewer.get(url).context["cl"].date_drilldown
    months = viewer.get(url, {"created_at__year": 2025}).context["cl"].date_drilldown
    days = viewer.get(url, {"created_at__year": 2025, "created_at__month": 7}).context["cl"].date_drilldown
    one_day = viewer.get(url, {"created_at__year": 2025, "created_at__month": 7, "created_at__day": 21})

    assert [choice["title"] for choice in years["choices"]] == ["2024", "2025"]
    assert [choice["title"] for choice in months["choices"]] == ["July 2025"]
    assert [choice["title"] for choice in days["choices"]] == ["July 9", "July 21"]
    assert "created_at__day=21" in days["choices"][1]["link"]
    assert [job.label for job in one_day.context["cl"].result_list] == ["c@example.com"]
    assert 'class="toplinks"' in text(one_day)


def test_the_list_counts_at_most_the_cap(viewer, monkeypatch):
    monkeypatch.setattr(admin_list.LargeTablePaginator, "count_limit", 3)
    monkeypatch.setattr(jobs_admin.JobAdmin, "list_per_page", 2)
    for n in range(6):
        make_job(f"{n}@example.com")

    response = viewer.get(reverse(CHANGELIST))
    second_page = viewer.get(reverse(CHANGELIST), {"p": 2}).context["cl"].result_list

    searched = text(viewer.get(reverse(CHANGELIST), {"q": "1@"}))

    assert response.context["cl"].paginator.count == 4
    assert "more than 3 jobs" in text(response)
    assert 'id="result-count"' not in text(response)
    assert "more than 3 results" in text(viewer.get(reverse(CHANGELIST), {"status__exact": "queued"}))
    assert '<span class="small quiet" id="result-count">1 result (' in searched
    assert [job.label for job in response.context["cl"].result_list] == ["5@example.com", "4@example.com"]
    assert [job.label for job in second_page] == ["3@example.com", "2@example.com"]


def test_select_all_across_pages_is_offered_only_with_a_known_total(resender, monkeypatch):
    monkeypatch.setattr(admin_list.LargeTablePaginator, "count_limit", 3)
    monkeypatch.setattr(jobs_admin.JobAdmin, "list_per_page", 2)
    for n in range(3):
        failed_job(f"{n}@example.com")

    known = text(resender.get(reverse(CHANGELIST)))
    failed_job("3@example.com")
    capped = text(resender.get(reverse(CHANGELIST)))

    assert "Select all 3 jobs" in known
    assert "Select all 4" not in capped and "Select all 1" not in capped and "0 of 2 selected" in capped


def test_the_list_makes_the_same_queries_for_10_or_40_jobs(viewer):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert viewer.get(reverse(CHANGELIST)).status_code == 200
        return len(captured)

    for n in range(10):
        failed_job(f"a{n}@example.com")
    with_10 = queries()
    for n in range(30):
        failed_job(f"b{n}@example.com")

    assert queries() == with_10


def test_detail_shows_each_attempt_the_last_traceback_and_message_id(viewer):
    job = failed_job(
        message_id="9a3c1f00-0000-4000-8000-000000000000",
        attempt_count=2,
        last_traceback="Traceback (most recent call last):\n  smtplib.SMTPRecipientsRefused",
    )
    now = timezone.now()
    Attempt.objects.create(
        job=job,
        number=1,
        started_at=now,
        duration_ms=41,
        outcome=Attempt.Outcome.RETRY,
        error_class="smtplib.SMTPDataError",
        error_message="SMTP 421 Try again later",
        smtp_reply="421 Try again later",
    )
    Attempt.objects.create(
        job=job,
        number=2,
        started_at=now,
        duration_ms=12,
        outcome=Attempt.Outcome.FAILED,
        error_class="smtplib.SMTPRecipientsRefused",
        error_message="Recipient refused",
        smtp_reply="550 No such user",
    )

    page = text(viewer.get(change_url(job)))

    assert page.count('<tr class="attempt ') == 2
    for shown in [
        "41 ms",
        "Failed, will retry",
        "smtplib.SMTPDataError",
        "SMTP 421 Try again later",
        "421 Try again later",
        "550 No such user",
        "smtplib.SMTPRecipientsRefused",
    ]:
        assert shown in page
    assert "Traceback (most recent call last)" in page
    assert "9a3c1f00-0000-4000-8000-000000000000" in page


def test_detail_shows_what_the_task_returned(viewer):
    job = make_job(
        "done@example.com",
        status=Status.SUCCEEDED,
        attempt_count=1,
        return_value="250 2.0.0 Ok: queued as 7F3A",
    )
    Attempt.objects.create(
        job=job,
        number=1,
        started_at=timezone.now(),
        outcome=Attempt.Outcome.SUCCEEDED,
        return_value="250 2.0.0 Ok: queued as 7F3A",
    )

    page = text(viewer.get(change_url(job)))

    facts = page[page.index('id="job-return-value"') : page.index('id="job-last-error"')]
    attempts = page[page.index('<tr class="attempt ') :]
    assert "250 2.0.0 Ok: queued as 7F3A" in facts and "250 2.0.0 Ok: queued as 7F3A" in attempts


def test_detail_links_resends_both_ways(resender):
    job = failed_job()
    resender.post(resend_url(job))
    new_job = Job.objects.get(resend_of=job)

    assert f'href="{change_url(new_job)}"' in text(resender.get(change_url(job)))
    assert f'href="{change_url(job)}"' in text(resender.get(change_url(new_job)))


SCRIPT = "<script>alert(1)</script>"


def test_user_supplied_text_is_escaped_everywhere(resender):
    email = f"{SCRIPT}@example.com"
    job = failed_job(
        email,
        last_error=f"SMTP 550 {SCRIPT}",
        last_traceback=f"Traceback {SCRIPT}",
        return_value=f"550 {SCRIPT}",
        message_id='"><script>alert(2)</script>',
    )
    Attempt.objects.create(
        job=job,
        number=1,
        started_at=timezone.now(),
        outcome=Attempt.Outcome.FAILED,
        error_class=SCRIPT,
        error_message=SCRIPT,
        smtp_reply=SCRIPT,
        traceback=SCRIPT,
        worker_id=SCRIPT,
    )

    listing = text(resender.get(reverse(CHANGELIST)))
    detail = text(resender.get(change_url(job)))
    resent = resender.post(resend_url(job), follow=True)
    searched = text(resender.get(reverse(CHANGELIST), {"q": SCRIPT}))

    for page in (listing, detail, text(resent), searched):
        assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@example.com" in listing
    assert "SMTP 550 &lt;script&gt;alert(1)&lt;/script&gt;" in listing
    assert detail.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 7
    assert "(send_confirmation_email &lt;script&gt;alert(1)&lt;/script&gt;@example.com) resent as" in text(
        resent
    )
