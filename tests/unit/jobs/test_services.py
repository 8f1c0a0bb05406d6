"""Resend and prune rules."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services
from jobs.models import Job
from tests.support.factories import make_job

Status = Job.Status


@pytest.mark.parametrize(
    "status, message",
    [
        (Status.SUCCEEDED, "already succeeded"),
        (Status.RUNNING, "is running, not failed"),
        (Status.RETRYING, "is retrying, not failed"),
    ],
)
def test_resend_is_refused_when_it_makes_no_sense(db, status, message):
    job = make_job(status=status)

    with pytest.raises(services.ResendRefused, match=message):
        services.resend_job(job)
    assert Job.objects.count() == 1


def test_a_job_is_resent_once(db):
    job = make_job(status=Status.FAILED)
    services.resend_job(job)

    with pytest.raises(services.ResendRefused, match="already resent"):
        services.resend_job(job)


def test_resend_failed_jobs_takes_only_resendable_ones(db):
    wanted = make_job("a@example.com", status=Status.FAILED)
    services.resend_job(make_job("b@example.com", status=Status.FAILED))
    make_job("c@example.com", status=Status.SUCCEEDED)

    resent, refused = services.resend_failed_jobs()

    assert [job.pk for job, _ in resent] == [wanted.pk] and refused == []
    assert Job.objects.filter(resend_of__isnull=False).count() == 2


def test_prune_deletes_only_finished_jobs_past_retention(db):
    old = timezone.now() - timedelta(days=40)
    gone = [
        make_job(f"{s}@example.com", status=s, finished_at=old) for s in (Status.SUCCEEDED, Status.FAILED)
    ]
    kept = [make_job(f"{s}@example.com", status=s) for s in (Status.QUEUED, Status.RUNNING, Status.RETRYING)]
    recent = make_job("recent@example.com", status=Status.SUCCEEDED, finished_at=timezone.now())

    assert services.prune_finished_jobs(older_than=timezone.now() - timedelta(days=30), dry_run=True) == 2
    assert Job.objects.count() == 6
    assert services.prune_finished_jobs(older_than=timezone.now() - timedelta(days=30)) == 2

    remaining = set(Job.objects.values_list("pk", flat=True))
    assert remaining == {job.pk for job in kept} | {recent.pk}
    assert not remaining & {job.pk for job in gone}
