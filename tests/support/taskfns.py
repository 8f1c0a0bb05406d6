"""Tasks for the tests of Herald's django.tasks backend: module-level, so a worker process imports them."""

import asyncio
import os
import signal
import time

from django.core.cache import cache

from jobs.errors import retry_policy
from jobs.keys import job_key
from jobs.tasks_api import task, task_enqueued, task_finished, task_started

# flaky and flaky_async: retried soon, and only on ConnectionError.
retried_fast_on_connection_errors = retry_policy(
    max_retries=3,
    min_backoff_ms=50,
    max_backoff_ms=100,
    transient=lambda exc: isinstance(exc, ConnectionError),
)


def failing_first(runs, failures):
    """``runs``, once more than ``failures``; until then a ConnectionError."""
    if runs <= failures:
        raise ConnectionError(f"run {runs} of {failures} failing")
    return runs


@task()
def calculate_meaning_of_life():
    return 42


@task()
def add(a, b):
    return a + b


@task()
def refuse(reason):
    raise ValueError(reason)


@task()
@retried_fast_on_connection_errors
def flaky(key, failures):
    """Raise ConnectionError on the first ``failures`` runs (counted in the cache), then succeed."""
    cache.add(key, 0)
    return failing_first(cache.incr(key), failures)


@task()
@job_key(lambda name: f"runs:{name}")
def count_runs(name):
    """One job per ``name`` while it waits; counts its runs in the cache under ``name``."""
    cache.add(name, 0)
    return cache.incr(name)


@task()
@job_key(lambda name: name)
@retry_policy(max_retries=3, min_backoff_ms=50, max_backoff_ms=100)
def keyed_and_flaky(name):
    """One job per ``name`` while it waits; fails transiently (ConnectionError)."""
    raise ConnectionError(name)


@task()
async def add_async(a, b):
    await asyncio.sleep(0)
    return a + b


@task()
@retried_fast_on_connection_errors
async def flaky_async(key, failures):
    """:func:`flaky`, as a coroutine: raise ConnectionError on the first ``failures`` runs, then succeed."""
    await cache.aadd(key, 0)
    return failing_first(await cache.aincr(key), failures)


@task()
def sleep_then_return(seconds, value):
    time.sleep(seconds)
    return value


def busy_for(seconds):
    """Run Python for ``seconds`` (short sleeps: a time limit interrupts it between two); the seconds run."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(0.05)
    return round(time.monotonic() - started, 1)


@task()
def run_for(seconds):
    """No limit of its own: ``JOBS_TIME_LIMIT_S`` applies."""
    return busy_for(seconds)


@task()
async def wait_for_async(seconds):
    """:func:`run_for` as a coroutine, one ``await`` long: a limit or a cancel ends it at that ``await``."""
    started = time.monotonic()
    await asyncio.sleep(seconds)
    return round(time.monotonic() - started, 1)


@task()
@retry_policy(time_limit_s=60)
def run_for_within_its_own_limit(seconds):
    """A limit of its own, 60 s."""
    return busy_for(seconds)


@task()
def kill_own_worker():
    """A poison task: its worker process dies running it, every time."""
    os.kill(os.getpid(), signal.SIGKILL)


@task(takes_context=True)
def which_attempt(context):
    return {"id": context.task_result.id, "attempt": context.attempt}


@task(queue_name="emails")
def on_the_email_queue():
    return "emails"


@task()
def noted(key):
    """Returns ``key``; the signals sent for it are noted in the cache (:func:`_note`), in whichever process."""
    return key


def _note(name):
    def note(sender, task_result, **kwargs):
        if task_result.task.module_path == noted.module_path:
            seen = {"status": str(task_result.status), "sender": sender.__name__, "pid": os.getpid()}
            seen["worker_ids"], seen["errors"] = list(task_result.worker_ids), len(task_result.errors)
            if str(task_result.status) == "SUCCESSFUL":
                seen["return_value"] = task_result.return_value
            cache.set(f"{task_result.args[0]}:{name}", seen, 60)

    return note


task_enqueued.connect(_note("task_enqueued"), weak=False)
task_started.connect(_note("task_started"), weak=False)
task_finished.connect(_note("task_finished"), weak=False)


@task()
async def counted_wait_async(key, seconds):
    """:func:`counted_busy_for` as a coroutine: counts its runs under ``key``, then awaits ``seconds``."""
    await cache.aadd(key, 0)
    await cache.aincr(key)
    await asyncio.sleep(seconds)
    return "done"


@task()
def counted_busy_for(key, seconds):
    """Counts its runs in the cache under ``key``, then works for ``seconds`` in short steps (Python code)."""
    cache.add(key, 0)
    cache.incr(key)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return "done"
