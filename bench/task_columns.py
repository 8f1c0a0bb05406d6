"""The three columns of ``python -m bench.tasks``: how each enqueues a task, runs workers, is killed, keeps rows.

- ``herald``: Herald's ``django.tasks`` backend (the ``default`` alias of
  ``bench.tasks_settings``), run by ``manage.py rundramatiq``;
- ``db``: django-tasks-db's ``DatabaseBackend`` (alias ``db``), run by
  ``manage.py db_worker``, one process per worker process, as its
  documentation runs it, at its shipped poll interval (1 s), without the
  random start-up delay (up to 1 s) that would leave one of two workers
  alone at the start of a burst;
- ``bare``: the same functions as plain Dramatiq actors (``bench.taskfns``),
  run by ``rundramatiq``: no row, no result.
"""

import os
import signal
import sys
import time

from django.utils.module_loading import import_string

TASKS_SETTINGS = "bench.tasks_settings"
HERALD_ALIAS = "default"
DB_ALIAS = "db"
THREADS = 8  # per rundramatiq process, as the rest of the bench runs it
FINAL = ("SUCCESSFUL", "FAILED")
DB_WORKER = [sys.executable, "manage.py", "db_worker"]
# Knobs the test suite and the smoke test turn down; unset, a worker runs at the shipped defaults.
LIVENESS_KNOBS = ("JOBS_HEARTBEAT_TIMEOUT_MS", "JOBS_RELAY_INTERVAL_S")


def task_named(name):
    return import_string(f"bench.taskfns.{name}")


class DramatiqWorkers:
    """``rundramatiq`` with the bench's task settings: Herald's actors and the bare ones."""

    def __init__(self, env, *, shipped_liveness=False):
        self.env = {**env, "DJANGO_SETTINGS_MODULE": TASKS_SETTINGS}
        if shipped_liveness:
            for knob in LIVENESS_KNOBS:
                self.env.pop(knob, None)

    def start(self, processes):
        from tests.support.processes import start_worker

        return [start_worker(self.env, processes=processes, threads=THREADS, name="bench-tasks-worker")]

    @staticmethod
    def kill(workers):
        """SIGKILL dramatiq's worker processes (as the OOM killer would); the main process then exits."""
        for worker in workers:
            worker.kill_children()


class HeraldColumn(DramatiqWorkers):
    name, label, threads = "herald", "Herald (rundramatiq, Redis)", THREADS
    has_rows = True

    def enqueue(self, task_name, *args):
        return task_named(task_name).using(backend=HERALD_ALIAS).enqueue(*args).id

    def statuses(self, ids):
        from jobs.tasks_api import task_backends

        backend = task_backends[HERALD_ALIAS]
        return [str(backend.get_result(result_id).status) for result_id in ids]


class BareColumn(DramatiqWorkers):
    name, label, threads = "bare", "bare Dramatiq actor", THREADS
    has_rows = False

    def enqueue(self, task_name, *args):
        from bench.taskfns import BARE_ACTORS

        return BARE_ACTORS[task_name].send(*args).message_id

    def statuses(self, ids):
        return None


class DbColumn:
    name, label, threads = "db", "django-tasks-db (db_worker)", 1
    has_rows = True

    def __init__(self, env, **_liveness):
        # db_worker has no liveness or relay: nothing notices a dead worker.
        self.env = {**env, "DJANGO_SETTINGS_MODULE": TASKS_SETTINGS}

    def enqueue(self, task_name, *args):
        return task_named(task_name).using(backend=DB_ALIAS).enqueue(*args).id

    def start(self, processes):
        """``processes`` ``db_worker`` processes, each waited for until it polls."""
        from tests.support.processes import HeraldProcess

        workers = [
            HeraldProcess(
                "bench-db-worker", [*DB_WORKER, "--backend", DB_ALIAS, "--no-startup-delay"], self.env
            )
            for _ in range(processes)
        ]
        for worker in workers:
            worker.wait_until(
                lambda worker=worker: "Starting worker" in worker.output(), 60, "db_worker start"
            )
        return workers

    @staticmethod
    def kill(workers):
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait_stopped(10)

    def statuses(self, ids):
        from jobs.tasks_api import task_backends

        backend = task_backends[DB_ALIAS]
        return [str(backend.get_result(result_id).status) for result_id in ids]


COLUMNS = {column.name: column for column in (HeraldColumn, DbColumn, BareColumn)}


def wait_rows_final(column, ids, timeout):
    """The rows' statuses once none is READY or RUNNING, or as they are after ``timeout`` s; None: no rows."""
    if not column.has_rows:
        return None
    deadline = time.monotonic() + timeout
    while True:
        statuses = column.statuses(ids)
        if all(status in FINAL for status in statuses) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)
