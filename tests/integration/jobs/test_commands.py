"""``manage.py jobs`` on the real Redis and from the command line: stats, resend, relay, one-line error exits."""

import json
import signal
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from jobs.models import Job
from jobs.worker.actors import run_task
from jobs.worker.middleware import stamp_alive
from tests.support.commands import failed_job, jobs
from tests.support.factories import make_job
from tests.support.processes import PROJECT_DIR, herald_env
from tests.support.waiting import wait_until

Status = Job.Status


def run_manage(*args, env=None, timeout=60):
    return subprocess.run(
        [sys.executable, "manage.py", "jobs", *args],
        cwd=PROJECT_DIR,
        env=env or herald_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_stats_prints_the_counts(db):
    failed_job("a@example.com")
    make_job("b@example.com", status=Status.SUCCEEDED, finished_at=timezone.now())

    out, _ = jobs("stats")

    assert "Jobs:    queued 0, running 0, retrying 0, succeeded 1, failed 1, cancelled 0 (total 2)" in out
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
    assert summary["jobs"] == {
        "queued": 1,
        "running": 0,
        "retrying": 0,
        "succeeded": 0,
        "failed": 1,
        "cancelled": 0,
    }
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


# cancel ---------------------------------------------------------------------------------


def test_cancel_cancels_a_queued_job(db):
    job = make_job("queued@example.com")

    out, _ = jobs("cancel", str(job.pk))

    assert out == f"Job {job.pk} (send_confirmation_email queued@example.com) cancelled: it will not run.\n"
    job.refresh_from_db()
    assert job.status == Status.CANCELLED and job.cancelled_by == "manage.py jobs cancel"


@pytest.mark.parametrize(
    "status, why",
    [(None, "No job with id 999999."), (Status.SUCCEEDED, "already finished: it is succeeded.")],
)
def test_cancel_of_an_unknown_or_finished_job_exits_non_zero_with_one_line(transactional_db, status, why):
    job_id = make_job(status=status, finished_at=timezone.now()).pk if status else 999999

    done = run_manage("cancel", str(job_id))

    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("CommandError: "), done.stderr
    assert why in done.stderr and "Traceback" not in done.stderr
