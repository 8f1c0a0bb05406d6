"""The relay: threads in every worker process that keep it known alive and send lost jobs to the broker.

It needs no process of its own: ``rundramatiq`` starts it through this
middleware, in each worker process:
- a liveness thread holds the process's named Redis connection and stamps
  through it every ``STAMP_EVERY_S`` (``jobs.heartbeats``);
- a relay thread. Every ``DEAD_SWEEP_EVERY_S`` one worker of the cluster (a
  Redis lock picks it) sends again the jobs of workers that died while sending
  (``jobs.services.relay_dead_claims``): a killed worker's email goes out
  within seconds. Every ``JOBS_RELAY_INTERVAL_S`` one worker puts the messages
  of dead workers back on their queues (the Redis broker's maintenance pass,
  which Dramatiq otherwise runs only at random; RabbitMQ needs none) and runs
  ``jobs.services.relay_unsent``.

The locks, stamps and named connections live in Redis (``REDIS_URL``) on
either broker: RabbitMQ carries the messages, Redis the cache, the results and
who is alive.
"""

import logging
import threading
import time

from django import db
from django.conf import settings
from dramatiq.middleware import Middleware

from jobs import heartbeats

logger = logging.getLogger("jobs.relay")

# The relay runs this soon after a worker starts, so a restarted worker picks up at once.
FIRST_SWEEP_AFTER_S = 1.0
DEAD_SWEEP_EVERY_S = 1.0
# A dead claim relayed once is not relayed again by this process for this long (its take-over is on its way).
RELAYED_CLAIM_MEMORY_S = 30.0


def workers_key(broker):
    return heartbeats.workers_key(broker)


def relay_lock_key(broker):
    return f"{broker.namespace}:herald:relay-lock"


def dead_sweep_lock_key(broker):
    return f"{broker.namespace}:herald:dead-sweep-lock"


def stamp_alive(broker, client=None):
    """Record that this worker process is alive (read by ``jobs.selectors``)."""
    heartbeats.stamp_alive(client or heartbeats.probe_client(), broker.broker_id, broker)


def take_lock(broker, key, period_s):
    """True for the one worker process that takes ``key`` in this period."""
    lock_ms = max(int(period_s * 1000 * 0.9), 100)
    return bool(heartbeats.probe_client().set(key, broker.broker_id, nx=True, px=lock_ms))


def sweep_if_due(broker):
    """Run one relay sweep unless another worker's relay ran one this interval."""
    from jobs.services import relay_unsent

    if not take_lock(broker, relay_lock_key(broker), settings.JOBS_RELAY_INTERVAL_S):
        return []
    try:
        broker.requeue_dead_workers()
        return relay_unsent()
    finally:
        db.connections.close_all()


def sweep_dead_claims_if_due(broker, skip=()):
    """Relay the jobs of dead workers unless another worker's relay did this second."""
    from jobs.services import relay_dead_claims

    if not take_lock(broker, dead_sweep_lock_key(broker), DEAD_SWEEP_EVERY_S):
        return []
    return relay_dead_claims(skip=skip)


class OutageLog:
    """Logs the first failure of a run with its traceback, and the recovery; nothing in between.

    The threads below retry every second or faster: during a Redis or
    database outage a line per try would flood the log.
    """

    def __init__(self, what):
        self.what = what
        self.failing = False

    def failed(self):
        """Call from inside the ``except``."""
        if not self.failing:
            logger.warning("%s failed; trying again until it works", self.what, exc_info=True)
        self.failing = True

    def worked(self):
        if self.failing:
            logger.info("%s works again", self.what)
        self.failing = False


class RelayMiddleware(Middleware):
    """Starts the liveness and relay threads when a worker boots and stops them at shutdown."""

    def __init__(self):
        self.stopping = threading.Event()
        self.threads = []

    def after_worker_boot(self, broker, worker):
        self.stopping.clear()
        self.threads = [
            threading.Thread(target=self._keep_alive, args=(broker,), name="herald-liveness", daemon=True),
            threading.Thread(target=self._relay, args=(broker,), name="herald-relay", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def before_worker_shutdown(self, broker, worker):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=10)
        try:
            heartbeats.probe_client().zrem(workers_key(broker), broker.broker_id)
        except Exception:  # noqa: BLE001 - Redis may be gone at shutdown
            pass

    def _keep_alive(self, broker):
        client = heartbeats.named_client(broker.broker_id)
        outage = OutageLog("liveness stamp")
        while not self.stopping.is_set():
            try:
                stamp_alive(broker, client)
                outage.worked()
            except Exception:  # noqa: BLE001 - stamping must outlive a Redis outage
                outage.failed()
            self.stopping.wait(heartbeats.STAMP_EVERY_S)
        client.close()

    def _relay(self, broker):
        next_sweep = time.monotonic() + FIRST_SWEEP_AFTER_S
        relayed = {}  # dead claims this process relayed: job id -> when
        outage = OutageLog("relay sweep")
        while not self.stopping.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + settings.JOBS_RELAY_INTERVAL_S
                    sweep_if_due(broker)
                forget_before = time.monotonic() - RELAYED_CLAIM_MEMORY_S
                relayed = {pk: at for pk, at in relayed.items() if at > forget_before}
                for pk in sweep_dead_claims_if_due(broker, skip=relayed):
                    relayed[pk] = time.monotonic()
                outage.worked()
            except Exception:  # noqa: BLE001 - the relay must outlive a broker or database outage
                outage.failed()
            finally:
                db.connections.close_all()
            self.stopping.wait(DEAD_SWEEP_EVERY_S)
