"""The wake-up lists: a queue and its delay queue each wake their own consumer, on time."""

import threading
import time

import dramatiq
from dramatiq.common import dq_name

from config.broker import WakeupRedisBroker

LONG_IDLE = 20  # misses: a consumer this idle backs off for the worker timeout before fetching again


def idle_consumer(broker, queue_name, timeout_ms=5000):
    consumer = broker.consume(queue_name, prefetch=4, timeout=timeout_ms)
    consumer.misses = LONG_IDLE
    return consumer


def next_message(consumer, limit_s=10):
    """Seconds until ``consumer`` yields a message (it returns None when idle, as Dramatiq's loop expects)."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        message = next(consumer)
        if message is not None:
            return time.monotonic() - started, message
    raise AssertionError(f"no message within {limit_s} s")


def test_enqueue_wakes_the_queue_consumer_not_the_delay_queue_consumer(settings):
    broker = WakeupRedisBroker(url=settings.REDIS_URL, namespace="wake-split")
    broker.declare_queue("q")
    delayed = idle_consumer(broker, dq_name("q"))
    stop = threading.Event()

    def delay_queue_loop():
        # Blocks first, so a shared wake-up list would hand it the token.
        while not stop.is_set():
            next(delayed)

    rival = threading.Thread(target=delay_queue_loop)
    rival.start()
    try:
        time.sleep(0.2)
        consumer = idle_consumer(broker, "q")
        threading.Timer(0.3, lambda: broker.enqueue(dramatiq.Message("q", "a", (), {}, {}))).start()
        waited, _ = next_message(consumer)
    finally:
        stop.set()
        broker.enqueue(dramatiq.Message("q", "a", (), {}, {}), delay=1)  # wakes the rival so it can stop
        rival.join(10)

    assert waited < 1.5, waited


def test_a_delayed_message_wakes_the_delay_queue_consumer(settings):
    broker = WakeupRedisBroker(url=settings.REDIS_URL, namespace="wake-delayed")
    broker.declare_queue("q")
    consumer = idle_consumer(broker, dq_name("q"))
    threading.Timer(0.3, lambda: broker.enqueue(dramatiq.Message("q", "a", (), {}, {}), delay=100)).start()

    waited, message = next_message(consumer)

    assert waited < 1.5, waited
    assert message.options["eta"] > 0


def test_the_delay_queue_consumer_is_back_when_its_message_is_due(settings):
    broker = WakeupRedisBroker(url=settings.REDIS_URL, namespace="wake-due")
    broker.declare_queue("q")
    consumer = idle_consumer(broker, dq_name("q"))
    broker.enqueue(dramatiq.Message("q", "a", (), {}, {}), delay=400)
    _, message = next_message(consumer)
    due = message.options["eta"] / 1000
    consumer.misses = LONG_IDLE  # each idle wait would now be the full 5 s

    # Dramatiq's consumer thread re-enqueues a due message whenever next() returns.
    while time.time() < due:
        assert next(consumer) is None
    late = time.time() - due

    assert late < 0.5, late


def test_a_one_millisecond_wait_does_not_block_until_the_socket_times_out(settings):
    # Redis truncates a BLPOP timeout of 0.001 s to 0, which means "forever":
    # a consumer whose delayed message is due in 1 ms must not ask for that.
    broker = WakeupRedisBroker(url=settings.REDIS_URL, namespace="wake-1ms", socket_timeout=3)
    broker.declare_queue("q")
    consumer = idle_consumer(broker, dq_name("q"))

    started = time.monotonic()
    consumer._wait_for_wake(1)

    assert time.monotonic() - started < 0.5


def test_an_enqueue_after_redis_lost_its_scripts_still_queues_and_wakes(settings):
    broker = WakeupRedisBroker(url=settings.REDIS_URL, namespace="wake-noscript")
    broker.declare_queue("q")
    broker.client.script_flush()  # as after a restart without persistence of scripts

    broker.enqueue(dramatiq.Message("q", "a", (), {}, {}))
    broker.enqueue(dramatiq.Message("q", "a", (), {}, {}))

    assert broker.client.llen("wake-noscript:q") == 2
    assert broker.client.llen("wake-noscript:q.wake") == 2
