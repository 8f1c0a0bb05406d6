"""Staff cancel a running job from its admin page, in a real browser.

Real parts only: gunicorn serves Herald, ``manage.py rundramatiq`` runs the
task, Redis is a real redis-server and the browser is Debian's Chromium
driven by Playwright. Screenshots go to ``test-artifacts/``.
"""

import re

import pytest
from django.core.cache import cache

from jobs.models import Attempt, Job
from tests.browser.admin_pages import logged_in_page, make_staff, wait_for_text
from tests.browser.chromium import ARTIFACTS, headless_chromium
from tests.support import taskfns
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

STAFF_EMAIL = "canceller@herald.test"


def test_staff_cancel_a_running_job_and_see_it_stop(live_env, processes):
    web = processes.web(live_env)
    processes.worker(live_env)
    make_staff(STAFF_EMAIL, "view_job", "cancel_job")
    result = taskfns.counted_busy_for.enqueue("browser", 120)
    wait_until(lambda: cache.get("browser") == 1, 30, "the task started")
    job = Job.objects.get(result_id=result.id)
    ARTIFACTS.mkdir(exist_ok=True)

    with headless_chromium() as browser:
        page = logged_in_page(browser, web.url, STAFF_EMAIL, f"/admin/jobs/job/{job.pk}/change/")
        assert page.inner_text("#job-status") == "Running"

        page.click("#cancel-job")
        page.wait_for_url(re.compile(rf"/admin/jobs/job/{job.pk}/change/$"))
        assert "is running: its worker stops it" in page.inner_text(".messagelist")
        waited = wait_for_text(page, "#job-status", "Cancelled", timeout=10)
        print(f"the page read Cancelled {waited:.1f} s after the click's answer")
        assert "Cancelled" in page.inner_text("#job-attempts")
        assert f"by {STAFF_EMAIL} (admin)" in page.inner_text("#job-cancelled")
        assert page.locator("#cancel-job").count() == 0 and "already finished" in page.inner_text(
            "#cancel-refusal"
        )
        page.screenshot(path=str(ARTIFACTS / "admin-job-cancelled.png"), full_page=True)

        page.goto(f"{web.url}/admin/jobs/job/?status__exact=cancelled")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 1 and "counted_busy_for" in rows.first.inner_text()
        assert page.inner_text("#count-cancelled") == "1"

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.attempt_count == 1
    assert list(Attempt.objects.filter(job=job).values_list("outcome", flat=True)) == ["cancelled"]
    assert cache.get("browser") == 1
