"""``manage.py jobs``: output, the --json shape, and one-line error exits."""

import json
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jobs.models import Attempt, Job
from jobs.services import resend_job
from jobs.worker.actors import run_task
from jobs.worker.middleware import stamp_alive
from tests.support.factories import make_job, make_user
from tests.support.processes import PROJECT_DIR, herald_env
from tests.support.waiting import wait_until

Status = Job.Status


def jobs(*args):
    """Run ``manage.py jobs`` in this process; return (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("jobs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failed_job(email, *, ago=timedelta(minutes=1)):
    return make_job(email, status=Status.FAILED, user=make_user(email), finished_at=timezone.now() - ago)


def run_manage(*args, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "manage.py", "jobs", *args],
        cwd=PROJECT_DIR,
        env=env or herald_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# stats ----------------------------------------------------------------------------------


def test_stats_prints_the_counts(db):
    failed_job("a@example.com")
    make_job("b@example.com", status=Status.SUCCEEDED, finished_at=timezone.now())

    out, _ = jobs("stats")

    assert "Jobs:    queued 0, running 0, retrying 0, succeeded 1, failed 1 (total 2)" in out
    assert "Sent:    last hour 1, last day 1" in out
    assert "Failed:  last hour 1, last day 1" in out
    assert "Broker:  0 waiting, 0 in progress, 0 delayed, 0 dead-lettered" in out
    assert "Workers: 0 alive" in out


def test_stats_json_shape(db, broker):
    failed_job("a@example.com")
    make_job("b@example.com", status=Status.QUEUED)
    broker.enqueue(run_task.message(1).copy(queue_name="emails"))
    stamp_alive(broker)

    out, _ = jobs("stats", "--json")
    summary = json.loads(out)

    keys = ["generated_at", "jobs", "total", "sent", "failed", "broker", "workers", "housekeeping"]
    assert list(summary) == keys
    assert summary["jobs"] == {"queued": 1, "running": 0, "retrying": 0, "succeeded": 0, "failed": 1}
    assert summary["total"] == 2
    assert summary["sent"] == {"last_hour": 0, "last_day": 0}
    assert summary["failed"] == {"last_hour": 1, "last_day": 1}
    assert summary["broker"] == {
        "reachable": True,
        "error": "",
        "queue_depth": 1,
        "in_progress": 0,
        "delayed": 0,
        "dead_lettered": 0,
    }
    assert summary["workers"]["alive"] == 1
    [worker] = summary["workers"]["processes"]
    assert set(worker) == {"id", "last_seen_s", "broker_liveness_s"} and worker["id"] == broker.broker_id
    assert summary["housekeeping"] == {"last_run_at": None, "last_run_s": None, "overdue": False}
    assert datetime.fromisoformat(summary["generated_at"]).tzinfo is not None


# resend -----------------------------------------------------------------------------------


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


def test_resend_by_id_enqueues_a_linked_job(db, broker, django_capture_on_commit_callbacks):
    job = failed_job("a@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = jobs("resend", str(job.pk))

    new_job = Job.objects.get(resend_of=job)
    assert out.splitlines() == [
        f"resent job {job.pk} (send_confirmation_email a@example.com) as job {new_job.pk}",
        "1 job(s) resent.",
    ]
    assert broker.do_qsize("emails") == 1 and new_job.message_id


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


# prune -----------------------------------------------------------------------------------------


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


# relay -----------------------------------------------------------------------------------------


def test_relay_once_sends_jobs_the_broker_never_got(db, broker):
    job = make_job("a@example.com")
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=1))

    out, _ = jobs("relay", "--once")

    assert out.strip() == f"Relayed 1 job(s) to the broker: {job.pk}"
    job.refresh_from_db()
    assert job.enqueued_at is not None and broker.do_qsize("emails") == 1


def test_relay_keeps_relaying_until_terminated(transactional_db, broker):
    env = herald_env(JOBS_RELAY_INTERVAL_S="0.2")
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "jobs", "relay"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: "Relaying every" in relay.stdout.readline(), 30, "relay started")
        job = make_job("late@example.com")
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(minutes=1))

        wait_until(lambda: Job.objects.get(pk=job.pk).enqueued_at, 30, "job relayed by the looping relay")
        relay.send_signal(signal.SIGTERM)
        assert relay.wait(30) == 0
    finally:
        if relay.poll() is None:
            relay.kill()
            relay.wait(10)
    assert broker.do_qsize("emails") == 1


# bad arguments: one line, non-zero exit, no traceback ------------------------------------------


@pytest.mark.parametrize(
    "args, why",
    [
        ([], "the following arguments are required: ACTION"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["resend", "--failed", "--since", "banana"], "'banana' is not a duration"),
        (["prune", "--older-than", "0x"], "'0x' is not a duration"),
        (["prune", "--older-than", "0d"], "it must be more than zero"),
        (["prune", "--older-than", "99999999999d"], "too long"),
        (["prune"], "the following arguments are required: --older-than"),
        (["resend", "abc"], "'abc' is not a job id"),
        (["resend", "-5"], "'-5' is not a job id"),
        (["resend"], "nothing to resend"),
        (["resend", "1", "--failed"], "either --failed or job ids"),
        (["resend", "1", "--since", "2h"], "--since goes with --failed"),
        (["resend", "999999"], "no job with id 999999"),
        (
            ["resend", "0b5e5c1e-0000-4000-8000-00000000000g"],
            "not a job id (a positive whole number) or a result id",
        ),
        (
            ["resend", "0b5e5c1e-0000-4000-8000-000000000000"],
            "no job with id 0b5e5c1e-0000-4000-8000-000000000000",
        ),
        (["stats", "--jsn"], "unrecognized arguments: --jsn"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(transactional_db, args, why):
    done = run_manage(*args)

    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("CommandError: "), done.stderr
    assert why in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_stats_json_from_the_command_line(transactional_db):
    failed_job("a@example.com")

    done = run_manage("stats", "--json")

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["jobs"]["failed"] == 1


def test_a_refused_resend_exits_non_zero_from_the_command_line(transactional_db):
    job = make_job("sent@example.com", status=Status.SUCCEEDED)

    done = run_manage("resend", str(job.pk))

    assert done.returncode == 1
    assert f"refused job {job.pk}: Job {job.pk} already succeeded" in done.stderr
    assert done.stderr.strip().splitlines()[-1] == "CommandError: 1 job(s) refused"
    assert Job.objects.count() == 1
