"""Staff resend a failed confirmation email from the admin, in a real browser.

Real parts only: gunicorn serves Herald, ``manage.py rundramatiq`` sends
through an aiosmtpd server, Redis is a real redis-server and the browser is
Debian's Chromium driven by Playwright. Screenshots of the pages go to
``test-artifacts/``.
"""

import re
import time

import pytest
from django.contrib.auth.models import Permission

from accounts.models import User
from jobs.models import Job
from tests.browser.chromium import ARTIFACTS, headless_chromium
from tests.support.http import Client
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

STAFF_EMAIL = "operator@herald.test"
STAFF_PASSWORD = "operator-Password-42"
VICTIM = "bounced@example.com"


def make_operator():
    user = User.objects.create_user(email=STAFF_EMAIL, password=STAFF_PASSWORD, is_staff=True, is_active=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="jobs", codename__in=["view_job", "resend_job"])
    )


def wait_for_text(page, selector, expected, timeout):
    """Reload ``page`` until ``selector`` reads ``expected``; return how long it took."""
    started = time.monotonic()
    while page.inner_text(selector).strip() != expected:
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{selector} still reads {page.inner_text(selector)!r} after {timeout} s")
        time.sleep(0.2)
        page.reload()
    return time.monotonic() - started


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
    make_operator()
    ARTIFACTS.mkdir(exist_ok=True)

    with headless_chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{web.url}/admin/login/?next=/admin/jobs/job/")
        page.fill("#id_username", STAFF_EMAIL)
        page.fill("#id_password", STAFF_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url("**/admin/jobs/job/")

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
