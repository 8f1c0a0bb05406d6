"""The wake-up lists: a queue and its delay queue each wake their own consumer, on time.

And the guard: the Dramatiq internals the wake-up broker relies on are those it was checked against.
"""

import hashlib
import inspect
import threading
import time
from pathlib import Path

import dramatiq
from dramatiq.brokers import redis as dramatiq_redis
from dramatiq.common import dq_name

from jobs.brokers.redis import WakeupRedisBroker

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


# What config/broker.py relies on in Dramatiq 2.2.1, by the SHA-256 of its source (first 16 hex digits).
CHECKED_DRAMATIQ = "2.2.1"
DRAMATIQ_INTERNALS = {
    "RedisBroker._dispatch": "ee77793d07f17bbe",  # the script's argument list, copied by script_args()
    "RedisBroker._should_do_maintenance": "12c5be867fd067ad",
    "RedisBroker._max_unpack_size": "502754eaaa6b949e",
    "RedisBroker.consume": "1b12ab3db95da1ec",  # builds consumer_class(broker, queue_name, prefetch, timeout)
    "_RedisConsumer.__init__": "c626986d71660eb6",  # message_cache, misses, prefetch, timeout
    "_RedisConsumer.__next__": "b8245bc4ab8044d6",  # replaced up to the fetch; called to decode the cache
    "_RedisConsumer.ack": "a44cb9ea8b6c3f92",
    "_RedisConsumer.nack": "573d58e9c2a0765e",
    "_RedisConsumer.requeue": "4d8aac265b34222e",  # close() puts the prefetch cache back with it
    "redis/dispatch.lua": "ba4d872e4fb204eb",  # its ARGV order; "qsize" with maintenance requeues dead workers
}


def dramatiq_fingerprint(name):
    if name.endswith(".lua"):
        source = (Path(dramatiq_redis.__file__).parent / name).read_bytes()
    else:
        owner, attr = name.split(".")
        member = vars(getattr(dramatiq_redis, owner))[attr]
        source = inspect.getsource(member.fget if isinstance(member, property) else member).encode()
    return hashlib.sha256(source).hexdigest()[:16]


def test_the_dramatiq_internals_the_wakeup_broker_overrides_are_those_it_was_checked_against():
    changed = [name for name, digest in DRAMATIQ_INTERNALS.items() if dramatiq_fingerprint(name) != digest]

    assert dramatiq.__version__ == CHECKED_DRAMATIQ and not changed, (
        f"Dramatiq is {dramatiq.__version__}; config/broker.py was checked against {CHECKED_DRAMATIQ}, "
        f"and these private internals it subclasses, calls or copies changed: {changed or 'none'}. "
        "Re-check WakeupRedisBroker.script_args and _WakeupConsumer against the new source, re-measure "
        "low-rate delivery with and without the wake-up (python -m bench, 'delivery at a low rate'), "
        "update the figures in config/broker.py's docstring (or drop the override if Dramatiq now "
        "blocks on fetch), then update CHECKED_DRAMATIQ and DRAMATIQ_INTERNALS here."
    )
