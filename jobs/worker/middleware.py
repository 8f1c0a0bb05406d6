"""The worker middleware that keeps each worker process known alive, sends dead workers' jobs again and relays."""

import logging
import threading
import time

from django import db
from django.conf import settings
from django.utils.module_loading import import_string
from dramatiq.middleware import Middleware, TimeLimit

from jobs import housekeeping
from jobs.logs import OutageLog
from jobs.worker import liveness

logger = logging.getLogger("jobs.worker.middleware")

DEAD_SWEEP_EVERY_S = 1.0
# How often the time-limit middleware looks for threads past their limit (Dramatiq's default: every second).
TIME_LIMIT_CHECK_EVERY_MS = 100
RELAY_DEAD_CLAIMS = "jobs.enqueue.outbox.relay_dead_claims"
RELAY_SWEEP = "jobs.enqueue.outbox.relay_sweep"
# How often each worker process tries for the relay's lock: a sweep is at most this late.
RELAY_TRY_EVERY_S = 1.0
# A dead claim relayed once is not relayed again by this process for this long (its take-over is on its way).
RELAYED_CLAIM_MEMORY_S = 30.0


def workers_key(broker):
    return liveness.workers_key(broker)


def relay_lock_key(broker):
    return f"{broker.namespace}:herald:relay-lock"


def dead_sweep_lock_key(broker):
    return f"{broker.namespace}:herald:dead-sweep-lock"


def stamp_alive(broker, client=None):
    """Record that this worker process is alive (read by ``jobs.selectors``)."""
    liveness.stamp_alive(client or liveness.probe_client(), broker.broker_id, broker)


def take_lock(broker, key, period_s):
    """True for the one worker process that takes ``key`` in this period."""
    lock_ms = max(int(period_s * 1000 * 0.9), 100)
    return bool(liveness.probe_client().set(key, broker.broker_id, nx=True, px=lock_ms))


def relay_sweep_if_due(broker, relay_sweep):
    """Run the relay sweep (``relay_sweep``) unless another worker's relay did this interval; the ids relayed.

    The one worker that takes the interval's lock also looks at housekeeping
    (:func:`warn_if_housekeeping_overdue`).
    """
    if not take_lock(broker, relay_lock_key(broker), settings.JOBS_RELAY_INTERVAL_S):
        return []
    relayed = relay_sweep(broker)
    warn_if_housekeeping_overdue()
    return relayed


def warn_if_housekeeping_overdue():
    """Log one warning, for the whole cluster, when housekeeping is overdue; again after it ran and stopped."""
    status = housekeeping.housekeeping_status()
    if status.overdue and housekeeping.first_to_warn():
        logger.warning(
            "No housekeeping (pruning old jobs, expiring unconfirmed accounts) ran for over %d h: "
            "is the scheduler (manage.py scheduler) running?",
            housekeeping.OVERDUE_AFTER_S // 3600,
        )


def sweep_dead_claims_if_due(broker, relay_dead_claims, skip=()):
    """Relay the jobs of dead workers (``relay_dead_claims``) unless another worker swept this second."""
    if not take_lock(broker, dead_sweep_lock_key(broker), DEAD_SWEEP_EVERY_S):
        return []
    return relay_dead_claims(skip=skip)


class TaskTimeLimit(TimeLimit):
    """Dramatiq's TimeLimit, checking every ``TIME_LIMIT_CHECK_EVERY_MS``: a task stops within a second of its limit.

    Its default limit, for actors and messages that name none, is
    ``JOBS_TIME_LIMIT_S``; each job's message names its task's own
    (``jobs.worker.limits``).
    """

    def __init__(self, *, time_limit: float | None = None, interval: int = TIME_LIMIT_CHECK_EVERY_MS) -> None:
        default_ms = settings.JOBS_TIME_LIMIT_S * 1000 if time_limit is None else time_limit
        super().__init__(time_limit=default_ms, interval=interval)


class LivenessMiddleware(Middleware):
    """Starts the liveness, dead-claim and relay threads when a worker boots and stops them at shutdown.

    - The liveness thread holds the process's named Redis connection and stamps through it
      every ``STAMP_EVERY_S`` (``jobs.worker.liveness``).
    - The dead-claim thread: every ``DEAD_SWEEP_EVERY_S`` one worker of the cluster (a Redis
      lock picks it) sends again the jobs of dead workers (``relay_dead_claims``).
    - The relay thread: every ``JOBS_RELAY_INTERVAL_S`` one worker of the cluster (another Redis
      lock) runs the relay sweep for jobs the broker never got or lost (``relay_sweep``) and looks
      whether housekeeping still runs (``jobs.housekeeping``). Web and workers alone keep every
      delivery guarantee; the scheduler adds housekeeping and the apps' schedules.
    """

    def __init__(self):
        self.stopping = threading.Event()
        self.threads = []

    def after_worker_boot(self, broker, worker):
        # Looked up now, not imported with this module: the broker and its
        # middleware are built from the settings before Django's apps (and the
        # job models the outbox uses) are loaded.
        self.relay_dead_claims = import_string(RELAY_DEAD_CLAIMS)
        self.relay_sweep = import_string(RELAY_SWEEP)
        self.stopping.clear()
        self.threads = [
            threading.Thread(target=self._keep_alive, args=(broker,), name="herald-liveness", daemon=True),
            threading.Thread(
                target=self._sweep_dead_claims, args=(broker,), name="herald-dead-claims", daemon=True
            ),
            threading.Thread(target=self._relay, args=(broker,), name="herald-relay", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def before_worker_shutdown(self, broker, worker):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=10)
        try:
            liveness.probe_client().zrem(workers_key(broker), broker.broker_id)
        except Exception:
            pass

    def _keep_alive(self, broker):
        client = liveness.named_client(broker.broker_id)
        outage = OutageLog(logger)
        while not self.stopping.is_set():
            try:
                stamp_alive(broker, client)
                outage.worked("liveness stamp")
            except Exception as exc:
                outage.failed("liveness stamp", exc)
            self.stopping.wait(liveness.STAMP_EVERY_S)
        client.close()

    def _sweep_dead_claims(self, broker):
        relayed: dict[int, float] = {}  # dead claims this process relayed: job id -> when

        def sweep():
            forget_before = time.monotonic() - RELAYED_CLAIM_MEMORY_S
            for pk in [pk for pk, at in relayed.items() if at <= forget_before]:
                del relayed[pk]
            for pk in sweep_dead_claims_if_due(broker, self.relay_dead_claims, skip=relayed):
                relayed[pk] = time.monotonic()

        self._repeat("dead-claim sweep", sweep, DEAD_SWEEP_EVERY_S)

    def _relay(self, broker):
        self._repeat("relay sweep", lambda: relay_sweep_if_due(broker, self.relay_sweep), RELAY_TRY_EVERY_S)

    def _repeat(self, what, step, every_s):
        """Run ``step`` every ``every_s`` seconds until the worker stops.

        Its failures go to an ``OutageLog`` (the first with its traceback, not one a turn); the
        thread's database connections are closed after each turn.
        """
        outage = OutageLog(logger)
        while not self.stopping.is_set():
            try:
                step()
                outage.worked(what)
            except Exception as exc:
                outage.failed(what, exc)
            finally:
                db.connections.close_all()
            self.stopping.wait(every_s)
