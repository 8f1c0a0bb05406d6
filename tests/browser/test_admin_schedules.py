"""Staff find the schedules from the job list and follow a schedule's last run to its job, in a real browser.

Real parts only: gunicorn serves Herald, ``manage.py scheduler`` fires a
two-second schedule (``tests/support/scheduled/tasks.py``), ``manage.py rundramatiq``
runs its jobs, Redis is a real redis-server and the browser is Debian's
Chromium driven by Playwright. Screenshots go to ``test-artifacts/``.
"""

import re

import pytest

from jobs.models import Job, ScheduleRun
from tests.browser.admin_pages import logged_in_page, make_staff
from tests.browser.chromium import ARTIFACTS, headless_chromium
from tests.support.scheduled import tasks as scheduled
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

STAFF_EMAIL = "operator@herald.test"
NAME = scheduled.every_two_seconds.module_path


def test_staff_see_each_schedule_and_open_its_last_runs_job(live_env, processes):
    env = {**live_env, "HERALD_TEST_SCHEDULES": "true"}
    web = processes.web(env)
    processes.worker(live_env)
    processes.scheduler(env)
    make_staff(STAFF_EMAIL, "view_job")
    wait_until(
        lambda: ScheduleRun.objects.filter(schedule_name=NAME, job__status=Job.Status.SUCCEEDED).exists(),
        30,
        "a run of the two-second schedule succeeded",
    )
    ARTIFACTS.mkdir(exist_ok=True)

    with headless_chromium() as browser:
        page = logged_in_page(browser, web.url, STAFF_EMAIL, "/admin/jobs/job/")

        page.click("#schedule-list")
        page.wait_for_url("**/admin/jobs/job/schedules/")
        rows = page.locator("#schedule-list-table tr.schedule-row")
        names = [rows.nth(n).get_attribute("data-schedule") for n in range(rows.count())]
        assert names == sorted(
            ["accounts.maintenance.expire_unconfirmed", "jobs.maintenance.prune_old_jobs", NAME]
        )
        prune = page.locator('tr[data-schedule="jobs.maintenance.prune_old_jobs"]')
        assert prune.locator(".schedule-when").inner_text() == "15 3 * * *"
        assert re.fullmatch(r"\d{4}-\d\d-\d\d 03:15:00", prune.locator(".schedule-next").inner_text())
        assert prune.locator(".schedule-job").inner_text().strip() == "–"  # never ran
        row = page.locator(f'tr[data-schedule="{NAME}"]')
        assert row.locator(".schedule-when").inner_text() == "every 2 s"
        page.screenshot(path=str(ARTIFACTS / "admin-schedules.png"), full_page=True)

        link = row.locator(".schedule-job a")
        job_id = int(link.inner_text().removeprefix("Job "))
        link.click()
        page.wait_for_url(re.compile(rf"/admin/jobs/job/{job_id}/change/$"))
        assert page.inner_text("#job-task") == NAME
        assert page.inner_text("#job-status") in {"Queued", "Running", "Succeeded"}

    job = Job.objects.get(pk=job_id)
    assert ScheduleRun.objects.get(job=job).schedule_name == NAME
