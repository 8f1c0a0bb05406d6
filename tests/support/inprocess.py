"""A Dramatiq worker in the test process's threads, drained with a bound instead of ``Worker.join()``.

``Worker.join()`` waits without a timeout on the worker's in-memory queues,
and a consumer thread that restarts after a broker error replaces its delay
queue, so a join already waiting on the old one never returns. Tests wait
instead, bounded, for what they care about: nothing left in the broker's
queues (Redis counts a message until it is acknowledged) and nothing held in
the worker's memory. On timeout the failure names what was left and where
each of the worker's threads stood.
"""

import sys
import time
import traceback

import dramatiq
from dramatiq.common import dq_name
from dramatiq.worker import _WorkerMiddleware


def start_worker(broker, threads=2):
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    return worker


def stop_worker(broker, worker):
    """Stop ``worker`` and take its hook out of the shared broker, so no later queue gets a consumer in it."""
    worker.stop()
    broker.middleware[:] = [
        m for m in broker.middleware if not (isinstance(m, _WorkerMiddleware) and m.worker is worker)
    ]


def queued(broker, queue):
    """Messages ``queue`` holds: on Redis until acknowledged; on RabbitMQ those not delivered yet."""
    if hasattr(broker, "do_qsize"):
        return broker.do_qsize(queue)
    return broker.queue_counts(queue)["delayed" if queue.endswith(".DQ") else "queue_depth"]


def herald_queues(broker):
    """Every queue declared on ``broker`` (Herald's: "default", "emails"...) and its delay queue."""
    return [name for queue in sorted(broker.get_declared_queues()) for name in (queue, dq_name(queue))]


def left_over(broker, worker):
    """What is still queued, unacknowledged or held in the worker's memory; empty when drained."""
    left = {queue: queued(broker, queue) for queue in herald_queues(broker)}
    left["in worker threads"] = worker.work_queue.unfinished_tasks
    for name, consumer in worker.consumers.items():
        left[f"delay queue of {name} consumer"] = consumer.delay_queue.unfinished_tasks
    return {what: n for what, n in left.items() if n}


def drain(broker, worker, timeout=30.0):
    """Wait until the queues and the worker are empty twice in a row, 50 ms apart; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        left = left_over(broker, worker)
        quiet = 0 if left else quiet + 1
        if left and time.monotonic() > deadline:
            raise AssertionError(f"worker not drained within {timeout} s: {left}\n{thread_stacks(worker)}")
        time.sleep(0.05)


def thread_stacks(worker):
    """Where each of ``worker``'s threads stands (for a failure message)."""
    frames = sys._current_frames()
    threads = [*worker.consumers.values(), *worker.workers]
    lines = []
    for thread in threads:
        frame = frames.get(thread.ident)
        where = "".join(traceback.format_stack(frame, limit=4)) if frame else "  (not running)\n"
        lines.append(f"{thread.name} ({type(thread).__name__}):\n{where}")
    return "".join(lines)
