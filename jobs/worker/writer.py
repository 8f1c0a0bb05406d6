"""Group commit: one writer thread per worker process commits the job writes of all its threads.

A batch per transaction; each write answered after the commit (``BatchWriter``).
"""

import logging
import os
import queue
import threading
from typing import Any

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from dramatiq.middleware import Middleware

logger = logging.getLogger("jobs.worker.writer")

# At most this many writes share a transaction: a bound on how long the write lock is held.
MAX_BATCH = 64
# A write not begun in this long is given up: it fails with OperationalError (as "database is locked"
# would) and is never run. A write the writer has begun is waited for to its end.
ANSWER_WITHIN_S = 60.0
# A write the writer has not run (yet).
_UNANSWERED = object()
# Put on the queue by stop(): the writer ends there.
_STOP = object()


class _Write:
    __slots__ = ("answered", "args", "error", "fn", "result", "state")

    def __init__(self, fn, args):
        self.fn, self.args = fn, args
        self.answered = threading.Lock()
        self.answered.acquire()
        self.result, self.error = _UNANSWERED, None
        self.state = "waiting"  # then "begun" by the writer, or "given up" by its caller


class BatchWriter:
    """The writer thread and its queue of writes.

    It runs every write waiting, up to ``MAX_BATCH``, in one transaction, and answers each one
    after the commit: a claim is never used, nor an outcome acknowledged, before it is durable.
    One write's error does not fail the others: the batch is rolled back and each write runs
    alone, answered with its own result or error. Why: every task writes its row twice, and a
    transaction per write left the threads queueing for the one write lock (the figures are in
    docs/benchmarks.md).
    """

    def __init__(self):
        self.transactions = 0  # committed, with at least one write each
        self._waiting: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._states = threading.Lock()  # guards each write's state
        self._thread = threading.Thread(target=self._run, name="herald-job-writer", daemon=True)
        self._thread.start()

    def write(self, fn, *args):
        """``fn(*args)`` on the writer's connection; its result once committed.

        ``fn`` runs inside the writer's transaction and must not open one of its own.
        """
        one = _Write(fn, args)
        self._waiting.put(one)
        if not one.answered.acquire(timeout=ANSWER_WITHIN_S):
            with self._states:
                given_up = one.state == "waiting"
                if given_up:
                    one.state = "given up"
            if given_up:
                raise OperationalError(f"the job writer did not begin this write in {ANSWER_WITHIN_S:.0f} s")
            one.answered.acquire()  # begun: its transaction ends, one way or the other
        if one.error is not None:
            raise one.error
        return one.result

    def stop(self):
        """Let the writer finish the writes already waiting, close its connection and end."""
        self._waiting.put(_STOP)
        self._thread.join(ANSWER_WITHIN_S)

    def _run(self):
        while True:
            first = self._waiting.get()
            if first is _STOP:
                connections[DEFAULT_DB_ALIAS].close()
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    one = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if one is _STOP:
                    self._waiting.put(_STOP)  # after this batch
                    break
                batch.append(one)
            with self._states:
                batch = [one for one in batch if one.state == "waiting"]
                for one in batch:
                    one.state = "begun"
            if not batch:
                continue
            try:
                self._commit(batch)
            finally:
                for one in batch:
                    if one.result is _UNANSWERED and one.error is None:  # the thread is being stopped
                        one.error = OperationalError("the job writer stopped before this write")
                    one.answered.release()

    def _commit(self, batch):
        try:
            with transaction.atomic():
                results = [one.fn(*one.args) for one in batch]
        except Exception:
            if len(batch) > 1:
                logger.info("a batch of %d job writes failed; writing each alone", len(batch))
            for one in batch:
                self._alone(one)
            return
        self.transactions += 1
        for one, result in zip(batch, results, strict=True):
            one.result = result

    def _alone(self, one):
        try:
            with transaction.atomic():
                one.result = one.fn(*one.args)
            self.transactions += 1
        except Exception as exc:
            one.error = exc
            connections[DEFAULT_DB_ALIAS].close_if_unusable_or_obsolete()


_writer = None


def write(fn, *args):
    """Run the write ``fn(*args)`` in a committed transaction; its result.

    In a worker process, the process's writer batches it with the other
    threads' writes; elsewhere (the web process, a shell, tests), and for a caller already in a
    transaction, it runs here, alone.
    """
    running = _writer
    if running is None or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        # A caller already in a transaction holds the write lock the writer would wait for.
        with transaction.atomic():
            return fn(*args)
    return running.write(fn, *args)


def start():
    """Start this process's writer (once)."""
    global _writer
    if _writer is None:
        _writer = BatchWriter()


def stop():
    """Stop this process's writer, if it runs; later writes run in their callers' threads."""
    global _writer
    running, _writer = _writer, None
    if running is not None:
        running.stop()


def _forget_writer():
    # A forked child has the parent's writer object but not its thread.
    global _writer
    _writer = None


os.register_at_fork(after_in_child=_forget_writer)


class BatchedWrites(Middleware):
    """Starts the job writer in every worker process, and stops it once the worker threads have ended."""

    def after_worker_boot(self, broker, worker):
        start()

    def after_worker_shutdown(self, broker, worker):
        stop()
