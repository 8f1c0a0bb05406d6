"""The job admin across tasks: the task filter, and a summary and chart that follow it."""

import pytest
from django.utils import timezone

from jobs import selectors
from jobs.models import Job
from tests.support import taskfns
from tests.support.factories import make_job

pytestmark = pytest.mark.django_db

Status = Job.Status
ADD = "tests.support.taskfns.add"


@pytest.fixture
def two_tasks(db):
    now = timezone.now()
    make_job("mail@example.com", status=Status.SUCCEEDED, finished_at=now)
    make_job("failed@example.com", status=Status.FAILED, finished_at=now)
    for n in range(3):
        Job.objects.create(task_path=ADD, args=[n, n], status=Status.SUCCEEDED, finished_at=now)
    Job.objects.create(task_path=ADD, args=[9, 9], status=Status.QUEUED)


def test_the_task_filter_lists_every_task_and_shows_only_its_jobs(admin_client, two_tasks):
    page = admin_client.get("/admin/jobs/job/").content.decode()
    assert "send_confirmation_email" in page and ">add<" in page
    listed = admin_client.get(f"/admin/jobs/job/?task={ADD}").context["cl"].result_list
    assert {job.task_path for job in listed} == {ADD} and len(listed) == 4


def test_the_summary_and_chart_follow_the_task_filter(admin_client, two_tasks):
    whole = admin_client.get("/admin/jobs/job/").context
    assert whole["summary"]["jobs"][Status.SUCCEEDED] == 4 and whole["summary"]["jobs"][Status.FAILED] == 1
    one = admin_client.get(f"/admin/jobs/job/?task={ADD}").context
    assert one["summary_task"] == ADD
    assert one["summary"]["jobs"] == {
        "queued": 1,
        "running": 0,
        "retrying": 0,
        "succeeded": 3,
        "failed": 0,
        "cancelled": 0,
    }
    assert one["summary"]["sent"]["last_hour"] == 3 and one["summary"]["failed"]["last_hour"] == 0
    assert sum(bucket["sent"] for bucket in selectors.hourly_outcomes(task=ADD)) == 3


def test_a_task_job_page_shows_its_task_arguments_and_return_value(admin_client, db):
    result = taskfns.add.enqueue(20, 22)
    Job.objects.filter(result_id=result.id).update(
        status=Status.SUCCEEDED, return_value=42, finished_at=timezone.now()
    )
    page = admin_client.get(
        f"/admin/jobs/job/{Job.objects.get(result_id=result.id).pk}/change/"
    ).content.decode()
    assert "tests.support.taskfns.add" in page and "[20, 22]" in page
    assert '<td id="job-return-value"><code>42</code></td>' in page
