"""Fault injection loaded into real worker processes through ``JOBS_EXTRA_MIDDLEWARE``."""

import os
import signal
from pathlib import Path

from dramatiq.middleware import Middleware


class KillAfterRetryEnqueued(Middleware):
    """SIGKILL the worker right after Retries enqueued a retry, before the original is acknowledged.

    Fires once: the marker file named by ``HERALD_FAULT_MARKER`` is created first.
    """

    def after_enqueue(self, broker, message, delay):
        marker = Path(os.environ["HERALD_FAULT_MARKER"])
        if delay and message.options.get("retries", 0) >= 1 and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
