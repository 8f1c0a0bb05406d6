"""Which workers are alive, read from Redis whatever the broker: one rule for "dead" (``worker_is_dead``)."""

import functools
import time
from typing import cast

import dramatiq
import redis
from django.conf import settings
from django.utils import timezone

from jobs.brokers import PROBE_TIMEOUT_S, HeraldBroker
from jobs.brokers.clients import redis_client

CONNECTION_PREFIX = "herald-worker:"
STAMP_EVERY_S = 0.5
GONE_GRACE_S = 2.0


def namespace(broker: dramatiq.Broker | None = None) -> str:
    return cast(HeraldBroker, broker or dramatiq.get_broker()).namespace


def broker_liveness_key(broker=None):
    """Where Dramatiq's Redis broker stamps each process's liveness (its name is Dramatiq's)."""
    return f"{namespace(broker)}:__heartbeats__"


def workers_key(broker=None):
    return f"{namespace(broker)}:herald:workers"


@functools.cache
def probe_client():
    """A Redis client (``REDIS_URL``) that gives up sooner than the broker's own (REDIS_SOCKET_TIMEOUT_S)."""
    return redis_client(settings.REDIS_URL, timeout_s=PROBE_TIMEOUT_S)


def connection_name(worker_id):
    return CONNECTION_PREFIX + worker_id


def named_client(worker_id):
    """A Redis client whose connections carry ``worker_id``'s name; the process keeps one open while it lives."""
    return redis_client(settings.REDIS_URL, timeout_s=PROBE_TIMEOUT_S, name=connection_name(worker_id))


def stamp_alive(client, worker_id, broker=None):
    """Record that worker process ``worker_id`` is alive now."""
    client.zadd(workers_key(broker), {worker_id: time.time()})


def connected_workers(client=None):
    """Ids of the workers whose named connection Redis holds now; None while Redis is younger than the grace.

    Raises RedisError.
    """
    client = client or probe_client()
    if client.info("server")["uptime_in_seconds"] < GONE_GRACE_S:
        return None
    names = (entry.get("name", "") for entry in client.client_list(_type="normal"))
    return {name[len(CONNECTION_PREFIX) :] for name in names if name.startswith(CONNECTION_PREFIX)}


def last_stamp(worker_id, client=None):
    """UNIX time of ``worker_id``'s last liveness stamp, or None."""
    return (client or probe_client()).zscore(workers_key(), worker_id)


def last_seen(worker_id, broker=None):
    """UNIX time of ``worker_id``'s broker liveness (RabbitMQ: its stamp), or None if forgotten."""
    broker = broker or dramatiq.get_broker()
    if not hasattr(broker, "client"):  # RabbitMQ keeps no liveness of its own
        return last_stamp(worker_id)
    score = broker.client.zscore(broker_liveness_key(broker), worker_id)
    return None if score is None else score / 1000


UNKNOWN = object()


def worker_is_dead(worker_id, *, since, now=None, connected=UNKNOWN):
    """Whether worker process ``worker_id`` is dead.

    Each ``rundramatiq`` process keeps three records (``jobs.worker.middleware``): its named
    Redis connection (``herald-worker:<worker_id>``), held open for its life, which Redis drops
    the moment the process dies and its kernel closes the socket; its liveness stamp in
    ``<namespace>:herald:workers``, written through that connection every ``STAMP_EVERY_S``; and,
    on the Redis broker, its broker liveness (Dramatiq's stamp at each fetch and ack).

    A worker is dead when its named connection is gone and it has not stamped for
    ``GONE_GRACE_S`` (a killed process, seen within seconds; the grace lets a blip of the
    connection pass, and the rule waits while Redis itself is younger than the grace), or when
    its broker liveness (RabbitMQ: its stamp) is older than ``JOBS_HEARTBEAT_TIMEOUT_MS`` (a lost
    machine, whose connections linger until TCP gives up on them).

    ``since`` (UNIX time) stands in for its broker liveness when the broker has none
    (it claimed a job then, so it was alive). ``connected``: a
    :func:`connected_workers` snapshot, to share one ``CLIENT LIST`` between
    many claims; read here when not given.
    """
    now = time.time() if now is None else now
    if connected is UNKNOWN:
        try:
            connected = connected_workers()
        except redis.RedisError:
            connected = None
    if connected is not None and worker_id not in connected:
        stamped = last_stamp(worker_id) or since
        if now - stamped > GONE_GRACE_S:
            return True
    seen = last_seen(worker_id)
    return now - (since if seen is None else seen) > settings.JOBS_HEARTBEAT_TIMEOUT_MS / 1000


def fresh_worker_stamps(client=None, now=None):
    """``[(worker_id, unix time)]`` of worker processes alive now, freshest last.

    A ``rundramatiq`` process that stamped within ``JOBS_HEARTBEAT_TIMEOUT_MS``
    is alive. Web processes only enqueue: they never stamp. Raises RedisError.
    """
    client = client or probe_client()
    now = time.time() if now is None else now
    fresh_since = now - settings.JOBS_HEARTBEAT_TIMEOUT_MS / 1000
    stamps = client.zrangebyscore(workers_key(), fresh_since, "+inf", withscores=True)
    return [(member.decode(), score) for member, score in stamps]


def claimant_is_dead(worker_id, claimed_at, time_limit_ms=None, now=None, connected=UNKNOWN):
    """True when the worker holding a claim is dead (:func:`worker_is_dead`).

    A claim held longer than its own time limit (``time_limit_ms``, kept on
    the job row; None: ``JOBS_TIME_LIMIT_S``) plus ``JOBS_HEARTBEAT_TIMEOUT_MS``
    is dead whatever the worker's records say: the time limit interrupts any
    attempt that runs so long, so one still running is stuck where nothing
    can interrupt it. Within its own limit, only the worker's records
    decide. ``connected`` shares one look at Redis's connections between claims.
    """
    now = now or timezone.now()
    timeout_s = settings.JOBS_HEARTBEAT_TIMEOUT_MS / 1000
    if claimed_at is None:
        return True
    held_for = (now - claimed_at).total_seconds()
    limit_s = settings.JOBS_TIME_LIMIT_S if time_limit_ms is None else time_limit_ms / 1000
    if held_for > limit_s + timeout_s:
        return True
    if not worker_id:
        return held_for > timeout_s
    return worker_is_dead(worker_id, since=claimed_at.timestamp(), now=now.timestamp(), connected=connected)
