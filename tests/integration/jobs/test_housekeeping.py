"""Housekeeping (jobs.housekeeping): its last run on /healthz/ and in the admin summary, flagged when overdue."""

import time

import pytest
from django.urls import reverse

from accounts import maintenance as account_maintenance
from jobs import housekeeping, maintenance
from jobs.worker import liveness
from tests.support.waiting import wait_until

DAY_S = 24 * 3600
CHANGELIST = "admin:jobs_job_changelist"


def ran_hours_ago(hours):
    housekeeping.note_run("prune_old_jobs", now=time.time() - hours * 3600)


def test_each_housekeeping_actor_notes_its_run(db):
    before = time.time()
    maintenance.prune_old_jobs.call()
    after_prune = housekeeping.housekeeping_status().last_run
    account_maintenance.expire_unconfirmed.call()

    assert before <= after_prune <= housekeeping.housekeeping_status().last_run <= time.time()


def test_a_run_older_than_a_day_and_an_hour_is_overdue(db):
    ran_hours_ago(24)
    assert not housekeeping.housekeeping_status().overdue

    ran_hours_ago(26)
    assert housekeeping.housekeeping_status().overdue


def test_a_site_that_never_saw_housekeeping_is_overdue_a_day_and_an_hour_after_the_first_look(db):
    first_look = time.time()
    assert housekeeping.housekeeping_status(now=first_look) == housekeeping.HousekeepingStatus(None, False)

    assert not housekeeping.housekeeping_status(now=first_look + DAY_S).overdue
    assert housekeeping.housekeeping_status(now=first_look + DAY_S + 2 * 3600).overdue


def test_healthz_flags_overdue_housekeeping_and_still_answers_200(db, client, broker):
    broker.client.zadd(liveness.workers_key(broker), {"w": time.time()})
    ran_hours_ago(26)

    response = client.get("/healthz/")

    report = response.json()
    assert response.status_code == 200 and report["status"] == "ok"
    assert report["housekeeping"] == "overdue" and report["warnings"] == ["housekeeping"]
    assert report["housekeeping_last_run"].endswith("+00:00")


def test_healthz_shows_when_housekeeping_last_ran(db, client):
    housekeeping.note_run("expire_unconfirmed", now=1_800_000_000)

    report = client.get("/healthz/").json()

    assert report["housekeeping"] == "ok" and "warnings" not in report
    assert report["housekeeping_last_run"] == "2027-01-15T08:00:00+00:00"


@pytest.fixture
def viewer(admin_client):
    return admin_client


def test_the_summary_flags_overdue_housekeeping(viewer):
    ran_hours_ago(30)

    page = viewer.get(reverse(CHANGELIST)).content.decode()

    assert 'class="job-dead" id="housekeeping"' in page and "Overdue: last ran" in page


def test_the_summary_shows_when_housekeeping_last_ran(viewer):
    housekeeping.note_run("prune_old_jobs", now=1_800_000_000)

    page = viewer.get(reverse(CHANGELIST)).content.decode()

    assert 'class="job-alive" id="housekeeping">Last ran' in page and "2027-01-15T08:00:00+00:00" in page


WARNING = "No housekeeping (pruning old jobs, expiring unconfirmed accounts) ran for over 25 h"


@pytest.mark.integration
def test_the_workers_warn_once_of_missing_housekeeping_and_again_after_it_ran_and_stopped(
    live_env, processes
):
    """Two worker processes, a sweep each second (JOBS_RELAY_INTERVAL_S=1 in tests): one warning in all."""
    ran_hours_ago(26)
    worker = processes.worker(live_env, processes=2, threads=1)
    worker.wait_until(lambda: WARNING in worker.output(), 20, "the warning")
    time.sleep(5)  # five more sweeps
    assert worker.output().count(WARNING) == 1

    housekeeping.note_run("prune_old_jobs")
    time.sleep(2)
    ran_hours_ago(26)
    wait_until(lambda: worker.output().count(WARNING) == 2, 20, "the warning of the next spell")
    time.sleep(3)
    assert worker.output().count(WARNING) == 2
