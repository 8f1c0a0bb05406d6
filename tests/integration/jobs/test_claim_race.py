"""Two deliveries of one job claim it at the same moment: exactly one of them sends.

``make test`` runs these on SQLite and on PostgreSQL. On PostgreSQL the claim's
conditional UPDATE waits for the row lock of a concurrent, uncommitted claim
and then re-checks its WHERE clause, so the second delivery gets nothing.
"""

import json
import subprocess
import sys
import threading
import time

import psycopg
from django.db import connection, transaction

from jobs.models import Attempt, Job
from jobs.worker import tracking
from tests.support.factories import make_job, make_user
from tests.support.processes import PROJECT_DIR, herald_env

CLAIMER = """
import json, sys, threading
import django
django.setup()
import dramatiq
from django.db import connection
from dramatiq.common import current_millis
from jobs.worker import liveness, tracking
job_ids, worker_id = json.loads(sys.argv[1]), sys.argv[2]
# Alive as a worker process is, for as long as the race lasts: its named Redis connection open and
# its stamp fresh (jobs.worker.middleware), and on the Redis broker its broker liveness fresh too
# (Dramatiq's fetch stamps it; on RabbitMQ the stamp is the broker liveness). Without either, a
# slow claimer would rightly take over the claims of one that looks dead (jobs.worker.liveness).
broker = dramatiq.get_broker()
alive = liveness.named_client(worker_id)
stopping = threading.Event()
def stamp():
    liveness.stamp_alive(alive, worker_id)
    if hasattr(broker, "client"):
        broker.client.zadd(liveness.broker_liveness_key(broker), {worker_id: current_millis()})
def keep_alive():
    while not stopping.wait(liveness.STAMP_EVERY_S):
        stamp()
stamp()
threading.Thread(target=keep_alive, daemon=True).start()
print("ready", flush=True)
sys.stdin.readline()
won = [job_id for job_id in job_ids if tracking.claim_job(job_id, worker_id=worker_id, message_id="m") is not None]
connection.close()
print(json.dumps(won), flush=True)
sys.stdin.readline()  # a worker outlives its claims: stay alive until every claimer has finished
stopping.set()
"""


def wait_until_blocked_on_the_row(thread):
    """Return once ``thread``'s claim is waiting for the lock the open transaction holds."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        conninfo = {
            "host": settings["HOST"],
            "port": settings["PORT"],
            "user": settings["USER"],
            "password": settings["PASSWORD"],
            "dbname": settings["NAME"],
            "autocommit": True,
        }
        deadline = time.monotonic() + 10
        with psycopg.connect(**conninfo) as watcher:
            while True:
                waiting = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s",
                    [settings["NAME"]],
                ).fetchone()[0]
                if waiting:
                    break
                assert time.monotonic() < deadline, "the second claim never waited for the row lock"
                time.sleep(0.02)
    else:
        # SQLite: the second claim's BEGIN IMMEDIATE waits for the database write lock.
        thread.join(0.5)
    assert thread.is_alive(), "the second claim finished while the first was uncommitted"


def test_a_claim_waiting_behind_an_uncommitted_claim_gets_nothing(transactional_db):
    job = make_job()
    results = {}

    def second_delivery():
        try:
            results["second"] = tracking.claim_job(job.pk, worker_id="second", message_id="m")
        finally:
            connection.close()

    with transaction.atomic():
        results["first"] = tracking.claim_job(job.pk, worker_id="first", message_id="m")
        thread = threading.Thread(target=second_delivery)
        thread.start()
        wait_until_blocked_on_the_row(thread)
    thread.join(30)

    assert not thread.is_alive()
    assert results["first"] is not None
    assert results["second"] is None
    job.refresh_from_db()
    assert (job.status, job.worker_id, job.attempt_count) == (Job.Status.RUNNING, "first", 1)
    # Attempt rows are written when an attempt ends: the loser wrote none.
    assert not Attempt.objects.filter(job=job).exists()


def test_processes_racing_over_the_same_jobs_claim_each_once(transactional_db):
    user = make_user("racer@example.com")
    job_ids = [make_job(user=user).pk for _ in range(100)]
    env = herald_env()
    claimers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, json.dumps(job_ids), f"worker-{n}"],
            cwd=PROJECT_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    try:
        for claimer in claimers:
            assert claimer.stdout.readline().strip() == "ready"
        for claimer in claimers:  # all four start claiming at once
            claimer.stdin.write("go\n")
            claimer.stdin.flush()
        won = [json.loads(claimer.stdout.readline()) for claimer in claimers]
        for claimer in claimers:  # every claimer has finished: now they may exit
            claimer.communicate("exit\n", timeout=30)
    finally:
        for claimer in claimers:
            if claimer.poll() is None:
                claimer.kill()
                claimer.wait()

    assert all(claimer.returncode == 0 for claimer in claimers)
    assert sorted(job_id for ids in won for job_id in ids) == sorted(job_ids)
    assert set(Job.objects.filter(pk__in=job_ids).values_list("attempt_count", flat=True)) == {1}
    assert not Attempt.objects.filter(job_id__in=job_ids).exists()  # losers wrote nothing
