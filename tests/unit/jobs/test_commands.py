"""``manage.py jobs``: output, the --json shape, and one-line error exits."""

from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from jobs.models import Attempt, Job
from jobs.services import resend_job
from tests.support.commands import failed_job, jobs
from tests.support.factories import make_job

Status = Job.Status


def test_resend_failed_resends_every_resendable_job(db):
    a, b = failed_job("a@example.com"), failed_job("b@example.com")
    resend_job(failed_job("c@example.com"))

    out, _ = jobs("resend", "--failed")

    resent = dict(Job.objects.filter(resend_of__in=[a, b]).values_list("resend_of", "pk"))
    assert set(resent) == {a.pk, b.pk}
    assert Job.objects.filter(resend_of__isnull=False).count() == 3  # c's earlier resend, not another
    assert f"resent job {a.pk} (send_confirmation_email a@example.com) as job {resent[a.pk]}" in out
    assert "2 job(s) resent." in out


def test_resend_failed_since_takes_only_recent_failures(db):
    recent = failed_job("recent@example.com", ago=timedelta(minutes=30))
    failed_job("old@example.com", ago=timedelta(hours=3))

    jobs("resend", "--failed", "--since", "2h")

    assert list(Job.objects.filter(resend_of__isnull=False).values_list("resend_of", flat=True)) == [
        recent.pk
    ]


def test_resend_failed_dry_run_changes_nothing(db):
    job = failed_job("a@example.com")

    out, _ = jobs("resend", "--failed", "--dry-run")

    assert f"would resend job {job.pk} (send_confirmation_email a@example.com)" in out
    assert "1 failed job(s) would be resent (dry run: nothing changed)." in out
    assert Job.objects.count() == 1


def test_resend_by_result_id(db, broker):
    job = failed_job("a@example.com")

    out, _ = jobs("resend", str(job.result_id))

    new_job = Job.objects.get(resend_of=job)
    assert (
        out.splitlines()[0]
        == f"resent job {job.pk} (send_confirmation_email a@example.com) as job {new_job.pk}"
    )


def test_resend_by_id_reports_refusals_and_exits_non_zero(db):
    resendable = failed_job("a@example.com")
    sent = make_job("b@example.com", status=Status.SUCCEEDED)

    with pytest.raises(CommandError, match="1 job"):
        jobs("resend", str(resendable.pk), str(sent.pk))

    assert Job.objects.filter(resend_of=resendable).count() == 1
    assert not Job.objects.filter(resend_of=sent).exists()


def test_resend_by_id_dry_run(db):
    job = failed_job("a@example.com")

    out, _ = jobs("resend", str(job.pk), "--dry-run")

    assert out.strip() == f"would resend job {job.pk} (send_confirmation_email a@example.com)"
    assert Job.objects.count() == 1


def test_resend_of_an_unknown_id_resends_nothing(db):
    job = failed_job("a@example.com")

    with pytest.raises(CommandError, match="no job with id 999999"):
        jobs("resend", str(job.pk), "999999")

    assert Job.objects.count() == 1


def test_prune_deletes_old_finished_jobs_with_their_attempts_and_nothing_else(db):
    long_ago = timezone.now() - timedelta(days=40)
    old_sent = make_job("a@example.com", status=Status.SUCCEEDED, finished_at=long_ago)
    old_failed = make_job("b@example.com", status=Status.FAILED, finished_at=long_ago)
    Attempt.objects.create(job=old_failed, number=1, started_at=long_ago)
    recent = make_job(
        "c@example.com", status=Status.SUCCEEDED, finished_at=timezone.now() - timedelta(days=2)
    )
    # Jobs still in flight stay, however old their timestamps.
    kept = [
        make_job(f"{status}@example.com", status=status, finished_at=long_ago)
        for status in (Status.QUEUED, Status.RUNNING, Status.RETRYING)
    ]
    Job.objects.update(created_at=long_ago)

    out, _ = jobs("prune", "--older-than", "30d")

    assert out.startswith("Deleted 2 finished job(s) from before ")
    remaining = set(Job.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, *(job.pk for job in kept)}
    assert old_sent.pk not in remaining and not Attempt.objects.exists()


def test_prune_dry_run_deletes_nothing(db):
    make_job("a@example.com", status=Status.SUCCEEDED, finished_at=timezone.now() - timedelta(days=40))

    out, _ = jobs("prune", "--older-than", "30d", "--dry-run")

    assert out.startswith("1 finished job(s) from before ") and "dry run" in out
    assert Job.objects.count() == 1
