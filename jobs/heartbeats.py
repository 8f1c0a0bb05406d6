"""Worker liveness, read from Redis.

Two records, for two questions:
- Dramatiq's broker heartbeats: every broker call a process makes (each
  fetch, at least once per worker timeout, and each ack) stamps its
  ``broker_id`` in ``<namespace>:__heartbeats__``. A claim whose holder's
  heartbeat is older than the heartbeat timeout may be taken over; the broker
  requeues that worker's messages too. Web processes appear here as well.
- Herald's worker stamps (``jobs.relay``), written only by ``rundramatiq``
  processes: how many workers are alive, for the admin, health and metrics.
"""

import functools
import time

import dramatiq
import redis
from django.conf import settings


def heartbeats_key(broker=None):
    broker = broker or dramatiq.get_broker()
    return f"{broker.namespace}:__heartbeats__"


def last_seen(worker_id, broker=None):
    """UNIX time of ``worker_id``'s last heartbeat, or None if the broker forgot it."""
    broker = broker or dramatiq.get_broker()
    score = broker.client.zscore(heartbeats_key(broker), worker_id)
    return None if score is None else score / 1000


# A broker that does not answer within this many seconds counts as down.
PROBE_TIMEOUT_S = 2.0


@functools.cache
def probe_client():
    """A Redis client on the broker's server that gives up sooner than the broker's own (REDIS_SOCKET_TIMEOUT_S)."""
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=PROBE_TIMEOUT_S, socket_connect_timeout=PROBE_TIMEOUT_S
    )


def fresh_worker_stamps(client=None, now=None):
    """``[(broker_id, unix time)]`` of worker processes alive now, freshest last.

    Every ``rundramatiq`` process stamps ``<namespace>:herald:workers`` every
    few seconds (``jobs.relay``); one that stamped within
    ``JOBS_HEARTBEAT_TIMEOUT_MS`` is alive. Web processes only enqueue: they
    appear in the broker's heartbeats but never stamp. Raises RedisError.
    """
    from jobs.relay import workers_key

    client = client or probe_client()
    now = time.time() if now is None else now
    fresh_since = now - settings.JOBS_HEARTBEAT_TIMEOUT_MS / 1000
    stamps = client.zrangebyscore(workers_key(dramatiq.get_broker()), fresh_since, "+inf", withscores=True)
    return [(member.decode(), score) for member, score in stamps]
