"""Jobs handed to the broker from a thread of the web process, so that a visitor never waits on Redis.

Signup and resend commit the user and the job row, then put the job's publish
call on this process's hand-off queue and answer. A thread makes each call
(``jobs.enqueue.outbox.publish``, which notes it on the row). Nothing waits only in
memory: a job whose message was never noted as sent (this process
died, or Redis was down) has no ``enqueued_at`` and the relay sends it.
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
    """Call ``send()`` from this process's hand-off thread."""
    sender.hand_off(send)
