"""Worker liveness, read from the heartbeats Dramatiq's Redis broker keeps.

Every broker call a worker process makes (each fetch, at least once per
worker timeout, and each ack) stamps its ``broker_id`` in the sorted set
``<namespace>:__heartbeats__``. A worker whose stamp is older than the
heartbeat timeout is dead: the broker itself requeues its messages then.
"""

import time

import dramatiq
from django.conf import settings


def heartbeats_key(broker=None):
    broker = broker or dramatiq.get_broker()
    return f"{broker.namespace}:__heartbeats__"


def worker_heartbeats(broker=None):
    """``{broker_id: seconds since its last heartbeat}`` for every known worker."""
    broker = broker or dramatiq.get_broker()
    now = time.time()
    entries = broker.client.zrange(heartbeats_key(broker), 0, -1, withscores=True)
    return {member.decode(): now - score / 1000 for member, score in entries}


def last_seen(worker_id, broker=None):
    """UNIX time of ``worker_id``'s last heartbeat, or None if the broker forgot it."""
    broker = broker or dramatiq.get_broker()
    score = broker.client.zscore(heartbeats_key(broker), worker_id)
    return None if score is None else score / 1000


def live_worker_count(broker=None):
    """Workers whose heartbeat is fresher than the heartbeat timeout."""
    timeout_s = settings.JOBS_HEARTBEAT_TIMEOUT_MS / 1000
    return sum(1 for age in worker_heartbeats(broker).values() if age < timeout_s)
