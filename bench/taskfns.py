"""The tasks ``python -m bench.tasks`` runs through every backend, and the bare actors that run the same functions.

Module-level tasks on the default backend (Herald's); each column picks its
own with ``.using(backend=...)``, and any backend's worker imports them by path.
Each one records on the benchmark's Redis that it ran: the key it was given,
when it started and ended, and the worker process. That one record times all
three columns alike (the bare actor keeps no row) and is what the job rows
are checked against.
"""

import functools
import os
import time

import dramatiq
import redis
from django.conf import settings
from django.contrib.auth import get_user_model

from bench.actors import BARE_QUEUE
from bench.mail import send_confirmation_with_send_mail
from jobs.tasks_api import task

RAN_KEY = "bench:tasks:ran"  # "key started ended pid", once per run of a task to its end
STARTED_KEY = "bench:tasks:started"  # "key started pid", when a sleeping task begins


@functools.cache
def redis_client():
    return redis.Redis.from_url(settings.REDIS_URL)


def record_ran(key, started):
    """Append this run of task ``key`` to the record of what ran."""
    redis_client().rpush(RAN_KEY, f"{key} {started!r} {time.time()!r} {os.getpid()}")


@task
def noop(key):
    """Nothing but the record that it ran (one RPUSH)."""
    record_ran(key, time.time())


@task
def send_confirmation(key, user_id):
    """Render user ``user_id``'s confirmation email from Herald's templates and send it with ``send_mail``."""
    started = time.time()
    send_confirmation_with_send_mail(get_user_model()._default_manager.get(pk=user_id))
    record_ran(key, started)


@task
def sleep_then_record(key, seconds):
    """Record the start, sleep ``seconds``, record the end: the task a worker is killed in the middle of."""
    started = time.time()
    redis_client().rpush(STARTED_KEY, f"{key} {started!r} {os.getpid()}")
    time.sleep(seconds)
    record_ran(key, started)


# The same functions as plain Dramatiq actors: no job row, no result, no retries.
BARE_ACTORS = {
    one.name: dramatiq.actor(
        one.func, actor_name=f"bench_bare_{one.name}", queue_name=BARE_QUEUE, max_retries=0
    )
    for one in (noop, send_confirmation, sleep_then_record)
}
