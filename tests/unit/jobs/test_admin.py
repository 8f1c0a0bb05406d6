"""The job admin through Django's test client: permissions, the list, its filters, search and paging."""

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
from jobs.models import Job
from tests.support.admin import (
    CHANGELIST,
    RESEND_FAILED,
    change_url,
    failed_job,
    logged_in,
    resend_url,
    staff,
    text,
)
from tests.support.factories import make_job

Status = Job.Status


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
