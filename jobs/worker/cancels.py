"""The cancel watch: each worker process interrupts the running jobs that were cancelled (docs/tasks.md#cancel)."""

import logging
import threading
import time

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, connections
from dramatiq.middleware import Middleware
from dramatiq.middleware.threading import raise_thread_exception

from jobs.errors import JobCancelled
from jobs.logs import OutageLog

logger = logging.getLogger("jobs.worker.cancels")

POLL_EVERY_S = 0.5
# An interrupt sent as a task ended lands within microseconds; this only bounds a wait that cannot hang.
LAND_WITHIN_S = 1.0


class Watched:
    """One job running in one thread, while it may be interrupted (``with watch.interruptible(job_id)``)."""

    def __init__(self, watch: "CancelWatch", job_id: int) -> None:
        self.watch, self.job_id = watch, job_id
        self.thread_id = threading.get_ident()
        self.interrupted = False
        self.cancelled_by = ""

    def __enter__(self):
        with self.watch.lock:
            self.watch.running[self.job_id] = self
        return self

    def __exit__(self, exc_type, exc, tb):
        """Leave the watch; an interrupt sent meanwhile lands here at the latest, never after.

        Raises ``JobCancelled`` when the interrupt lands here: the job counts
        as cancelled, whatever the task returned.
        """
        landed = exc_type is not None and issubclass(exc_type, JobCancelled)
        try:
            with self.watch.lock:
                self.watch.running.pop(self.job_id, None)
                sent = self.interrupted
            if sent and not landed:
                wait_for_interrupt()
        finally:
            self.watch.forget(self.job_id)
        return False


def wait_for_interrupt() -> None:
    """Run Python code until an interrupt already sent to this thread lands (it raises), within a bound."""
    deadline = time.monotonic() + LAND_WITHIN_S
    while time.monotonic() < deadline:
        time.sleep(0.001)
    logger.warning("a cancel interrupt sent to this thread did not land within %.0f s", LAND_WITHIN_S)


class CancelWatch:
    """The jobs this process runs, and the thread that interrupts the cancelled ones.

    A cancel asked of a running job (``jobs.services.cancel_job``) sets its
    row's ``cancel_requested_at``. Every ``POLL_EVERY_S``, while the process
    runs jobs, the watch reads which of them were cancelled (one primary-key
    query; none when idle) and raises ``JobCancelled`` into the thread running
    each, once, with Dramatiq's ``raise_thread_exception`` (what its time limit
    uses). Why a poll of the rows rather than a Redis channel: the row is what
    the cancel writes anyway, it is there on either broker, and a poll cannot
    miss a cancel the way a subscriber that was reconnecting would. The
    exception lands when the thread next runs Python code: a task blocked in
    one long C call (a socket read, one long ``time.sleep``) stops when that
    call returns.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.running: dict[int, Watched] = {}
        self.stopping = threading.Event()
        self.thread = None

    def interruptible(self, job_id: int) -> Watched:
        """A context for running job ``job_id``'s task: a cancel raises ``JobCancelled`` in it."""
        return Watched(self, job_id)

    def forget(self, job_id: int) -> None:
        with self.lock:
            self.running.pop(job_id, None)

    def interrupt_cancelled(self) -> list[int]:
        """Raise ``JobCancelled`` in the thread of each running job whose cancel was asked; their ids."""
        with self.lock:
            ids = list(self.running)
        if not ids:
            return []
        # Looked up, not imported: the broker's middleware (this module) loads before Django's apps.
        rows = (
            apps.get_model("jobs", "Job")
            .objects.filter(pk__in=ids, cancel_requested_at__isnull=False)
            .values_list("pk", "cancelled_by")
        )
        interrupted = []
        with self.lock:  # held while raising, so that the thread cannot leave its watch in between
            for job_id, by in rows:
                watched = self.running.get(job_id)
                if watched is not None and not watched.interrupted:
                    watched.interrupted, watched.cancelled_by = True, by
                    raise_thread_exception(watched.thread_id, JobCancelled)
                    interrupted.append(job_id)
        for job_id in interrupted:
            logger.info("job=%s cancelled while running: interrupting its task", job_id)
        return interrupted

    def start(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return  # one watch thread per process, however many workers it runs
        self.stopping.clear()
        self.thread = threading.Thread(target=self._run, name="herald-cancel-watch", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
            self.thread = None

    def _run(self):
        outage = OutageLog(logger)  # once per outage, not twice a second
        while not self.stopping.wait(POLL_EVERY_S):
            try:
                self.interrupt_cancelled()
                outage.worked("cancel watch")
            except Exception as exc:
                outage.failed("cancel watch", exc)
                connections[DEFAULT_DB_ALIAS].close_if_unusable_or_obsolete()
        connections[DEFAULT_DB_ALIAS].close()


watch = CancelWatch()


class CancelWatcher(Middleware):
    """Starts this worker process's cancel watch thread when it boots, and stops it at shutdown."""

    def after_worker_boot(self, broker, worker):
        watch.start()

    def before_worker_shutdown(self, broker, worker):
        watch.stop()
