"""The relay: a thread in every worker process that sends lost jobs to the broker.

It needs no process of its own: ``rundramatiq`` starts it through this
middleware. Every ``JOBS_RELAY_INTERVAL_S`` one relay (a Redis lock picks it
among all worker processes) puts the messages of dead workers back on their
queues (the broker's maintenance pass, which Dramatiq otherwise runs only at
random) and runs ``jobs.services.relay_unsent``. Each worker
also stamps its liveness for the admin and the health check.
"""

import logging
import threading
import time

from django import db
from django.conf import settings
from dramatiq.middleware import Middleware

logger = logging.getLogger("jobs.relay")

# The relay runs this soon after a worker starts, so a restarted worker picks up at once.
FIRST_SWEEP_AFTER_S = 1.0
STAMP_EVERY_S = 5.0


def workers_key(broker):
    return f"{broker.namespace}:herald:workers"


def relay_lock_key(broker):
    return f"{broker.namespace}:herald:relay-lock"


def stamp_alive(broker):
    """Record that this worker process is alive (read by ``jobs.selectors``)."""
    broker.client.zadd(workers_key(broker), {broker.broker_id: time.time()})


def sweep_if_due(broker):
    """Run one relay sweep unless another worker's relay ran one this interval."""
    from jobs.services import relay_unsent

    lock_ms = max(int(settings.JOBS_RELAY_INTERVAL_S * 1000 * 0.9), 100)
    if not broker.client.set(relay_lock_key(broker), broker.broker_id, nx=True, px=lock_ms):
        return []
    try:
        broker.requeue_dead_workers()
        return relay_unsent()
    finally:
        db.connections.close_all()


class RelayMiddleware(Middleware):
    """Starts the relay thread when a worker boots and stops it at shutdown."""

    def __init__(self):
        self.stopping = threading.Event()
        self.thread = None

    def after_worker_boot(self, broker, worker):
        self.stopping.clear()
        self.thread = threading.Thread(target=self._run, args=(broker,), name="herald-relay", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker, worker):
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        try:
            broker.client.zrem(workers_key(broker), broker.broker_id)
        except Exception:  # noqa: BLE001 - the broker may be gone at shutdown
            pass

    def _run(self, broker):
        next_sweep = time.monotonic() + FIRST_SWEEP_AFTER_S
        tick = min(STAMP_EVERY_S, settings.JOBS_RELAY_INTERVAL_S)
        while not self.stopping.is_set():
            try:
                stamp_alive(broker)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + settings.JOBS_RELAY_INTERVAL_S
                    sweep_if_due(broker)
            except Exception:  # noqa: BLE001 - the relay must outlive a broker or database outage
                logger.exception("relay sweep failed; trying again in %.0f s", tick)
            self.stopping.wait(min(tick, max(0.05, next_sweep - time.monotonic())))
