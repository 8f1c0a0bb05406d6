"""One job per key under concurrent enqueues: many threads, one key, one job, run once by a real worker.

The threads enqueue in transactions of their own against this run's database
(SQLite, or PostgreSQL with ``--postgres``); a ``rundramatiq`` process runs
the job once they are done.
"""

import threading
import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connections, transaction

from jobs.models import Job
from jobs.tasks_api import TaskResultStatus
from tests.support import taskfns
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

THREADS = 50


def enqueue_from_threads(name, threads):
    """``count_runs.enqueue(name)`` from ``threads`` threads at once, each in its own transaction; their ids."""
    start = threading.Barrier(threads)
    ids, errors = [], []

    def enqueue():
        try:
            start.wait(timeout=30)
            with transaction.atomic():
                ids.append(taskfns.count_runs.enqueue(name).id)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    running = [threading.Thread(target=enqueue) for _ in range(threads)]
    began = time.monotonic()
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(120)
    print(f"{threads} concurrent enqueues with one key took {time.monotonic() - began:.2f} s")
    assert errors == [] and len(ids) == threads
    return ids


def test_concurrent_enqueues_with_one_key_make_one_job_that_runs_once(live_env, processes):
    name = f"once-{uuid.uuid4()}"

    ids = enqueue_from_threads(name, THREADS)

    assert len(set(ids)) == 1
    assert Job.objects.filter(task_path=taskfns.count_runs.module_path).count() == 1
    processes.worker(live_env)
    result = taskfns.count_runs.get_result(ids[0])

    def finished():
        result.refresh()
        return result.is_finished

    wait_until(finished, 30, "the keyed job finished")
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 1
    assert result.attempts == 1 and cache.get(name) == 1  # one run
