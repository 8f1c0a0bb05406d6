"""Staff resend a failed confirmation email from the admin, in a real browser.

Real parts only: gunicorn serves Herald, ``manage.py rundramatiq`` sends
through an aiosmtpd server, Redis is a real redis-server and the browser is
Debian's Chromium driven by Playwright. Screenshots of the pages go to
``test-artifacts/``.
"""

import re

import pytest

from jobs.models import Job
from tests.browser.admin_pages import logged_in_page, make_staff, wait_for_text
from tests.browser.chromium import ARTIFACTS, headless_chromium
from tests.support.http import Client
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

STAFF_EMAIL = "operator@herald.test"
VICTIM = "bounced@example.com"


def test_staff_resend_a_failed_email_and_see_it_delivered(live_env, smtp_sink, processes):
    smtp_sink.reject(VICTIM)
    web = processes.web(live_env)
    processes.worker(live_env)
    assert Client(web.url).signup(VICTIM).status == 302
    failed = wait_until(
        lambda: Job.objects.filter(label=VICTIM, status=Job.Status.FAILED).first(), 30, "job failed"
    )
    assert smtp_sink.messages == []
    smtp_sink.rejects.clear()
    make_staff(STAFF_EMAIL, "view_job", "resend_job")
    ARTIFACTS.mkdir(exist_ok=True)

    with headless_chromium() as browser:
        page = logged_in_page(browser, web.url, STAFF_EMAIL, "/admin/jobs/job/")

        page.locator("#changelist-filter").get_by_role("link", name="Failed", exact=True).click()
        page.wait_for_url("**/admin/jobs/job/?status__exact=failed")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 1 and VICTIM in rows.first.inner_text()
        assert page.locator("#job-summary").is_visible() and page.locator("#job-chart svg").is_visible()
        page.screenshot(path=str(ARTIFACTS / "admin-jobs-failed-list.png"), full_page=True)

        rows.first.locator(".field-task_name a").click()
        page.wait_for_url(re.compile(rf"/admin/jobs/job/{failed.pk}/change/"))
        assert page.inner_text("#job-status") == "Failed"
        assert "550" in page.inner_text("#job-attempts")
        assert "Traceback" in page.inner_text("#job-traceback")
        page.screenshot(path=str(ARTIFACTS / "admin-job-failed-detail.png"), full_page=True)
        detail_url = page.url

        page.click("#resend-job")
        page.wait_for_url(lambda url: re.search(r"/admin/jobs/job/\d+/change/$", url) and url != detail_url)
        resent_url = page.url
        assert "resent as" in page.inner_text(".messagelist")
        wait_for_text(page, "#job-status", "Succeeded", timeout=30)
        assert page.inner_text("#job-attempts").count("Succeeded") == 1
        assert page.inner_text("#job-return-value").startswith("250")
        page.screenshot(path=str(ARTIFACTS / "admin-job-resent-succeeded.png"), full_page=True)

    [delivered] = smtp_sink.wait_for(1)
    assert delivered["to"] == [VICTIM]
    resent = Job.objects.get(resend_of=failed)
    assert resent_url.endswith(f"/admin/jobs/job/{resent.pk}/change/")
    assert resent.status == Job.Status.SUCCEEDED and resent.attempt_count == 1
    failed.refresh_from_db()
    assert failed.status == Job.Status.FAILED and failed.attempts.count() == 1
