"""The hand-off: a thread of the web process publishes each job after commit.

So a visitor never waits on the broker.
"""

import atexit
import logging
import os
import queue
import threading
from typing import Any, cast

from django import db

logger = logging.getLogger("jobs.enqueue.handoff")

_STOP = object()


class Sender:
    """One thread per process that sends the messages of handed-off jobs, in order."""

    def __init__(self):
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = None
        self._pid = None
        self._guard = threading.Lock()

    def hand_off(self, send):
        self._ensure_running()
        self._queue.put(send)

    def _running(self):
        """Whether this process's thread is alive (a forked child has none)."""
        return self._thread is not None and self._thread.is_alive() and self._pid == os.getpid()

    def _ensure_running(self):
        if self._running():
            return
        with self._guard:
            if self._running():
                return
            if self._pid != os.getpid():
                self._queue = queue.SimpleQueue()  # a forked child starts with none of its parent's work
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="herald-handoff", daemon=True)
            self._thread.start()

    def _run(self):
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            try:
                item()
            except Exception:
                logger.exception("%s failed; the relay will send the job", item)
            if self._queue.empty():
                db.connections.close_all()  # idle: hold no database connection
        db.connections.close_all()

    def stop(self, timeout=5.0):
        """Send what was handed off (for up to ``timeout`` seconds), then stop the thread."""
        if not self._running():
            return
        self._queue.put(_STOP)
        cast(threading.Thread, self._thread).join(timeout)


sender = Sender()
atexit.register(sender.stop)


def hand_off(send):
    """Call ``send()`` (``jobs.enqueue.outbox.publish``) from this process's hand-off thread, and return.

    Nothing waits only in memory: a job whose publish never happened (this process died, or
    the broker was down) has no ``enqueued_at``, and the relay sends it.
    """
    sender.hand_off(send)
