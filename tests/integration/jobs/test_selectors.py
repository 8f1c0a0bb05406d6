"""Broker queues and live workers read from the real Redis, and reads that give up on a hung one."""

import signal
import time

from jobs import selectors
from jobs.worker.liveness import PROBE_TIMEOUT_S
from jobs.worker.middleware import stamp_alive, workers_key


def test_broker_reads_give_up_on_a_hung_redis(db, redis_server):
    """A Redis that accepts connections but never answers (SIGSTOP) costs the page seconds, not forever."""
    selectors.broker_queue_stats()  # connect while Redis answers: the hang must not be in connecting
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        queues = selectors.broker_queue_stats()
        workers = selectors.live_workers()
        waited = time.monotonic() - started
    finally:
        redis_server.process.send_signal(signal.SIGCONT)

    assert queues["reachable"] is False and workers is None
    assert waited < 2 * PROBE_TIMEOUT_S + 2, waited


def test_live_workers_counts_fresh_stamps_only(broker):
    stamp_alive(broker)
    broker.client.zadd(workers_key(broker), {"long-gone-worker": time.time() - 3600})

    workers = selectors.live_workers()

    assert [worker["id"] for worker in workers] == [broker.broker_id]
    assert workers[0]["last_seen_s"] < 5


def test_stats_shape_reports_workers_and_broker(db, broker):
    stamp_alive(broker)

    summary = selectors.stats()

    assert set(summary) == {
        "generated_at",
        "jobs",
        "total",
        "sent",
        "failed",
        "broker",
        "workers",
        "housekeeping",
    }
    assert summary["workers"]["alive"] == 1
    assert summary["broker"]["reachable"] is True
