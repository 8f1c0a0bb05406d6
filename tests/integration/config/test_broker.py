"""The wake-up broker: an idle consumer fetches as soon as a message is enqueued."""

import socket
import threading
import time

import dramatiq
import pytest
import redis

from jobs.brokers.redis import WakeupRedisBroker
from jobs.worker.middleware import LivenessMiddleware


def test_idle_consumer_wakes_on_enqueue_instead_of_sleeping(settings):
    broker = WakeupRedisBroker(url=settings.REDIS_URL, namespace="wake-test")
    broker.declare_queue("q")
    consumer = broker.consume("q", prefetch=1, timeout=5000)
    consumer.misses = 20  # a long-idle consumer: Dramatiq would now sleep for seconds

    received = []
    sender = threading.Timer(0.3, lambda: broker.enqueue(dramatiq.Message("q", "a", (), {}, {})))
    sender.start()
    started = time.monotonic()
    while not received and time.monotonic() - started < 10:
        message = next(consumer)
        if message is not None:
            received.append(time.monotonic() - started)
    sender.join()

    # Without the wake-up the consumer would sleep 2.5-5 s before fetching again.
    assert received and received[0] < 1.5, received


def test_requeue_dead_workers_returns_their_messages(settings):
    dead = WakeupRedisBroker(url=settings.REDIS_URL, namespace="dead-test", heartbeat_timeout=100)
    dead.declare_queue("q")
    dead.enqueue(dramatiq.Message("q", "a", (), {}, {}))
    assert dead.consume("q", prefetch=1, timeout=100).__next__() is not None  # fetched, never acked
    assert dead.client.llen("dead-test:q") == 0

    live = WakeupRedisBroker(url=settings.REDIS_URL, namespace="dead-test", heartbeat_timeout=100)
    live.declare_queue("q")
    time.sleep(0.2)
    live.requeue_dead_workers()

    assert live.client.llen("dead-test:q") == 1


def test_closing_a_consumer_puts_back_the_messages_it_fetched_ahead(settings):
    broker = WakeupRedisBroker(url=settings.REDIS_URL, namespace="close-test")
    broker.declare_queue("q")
    broker.client.delete("close-test:q")
    for name in "abc":
        broker.enqueue(dramatiq.Message("q", name, (), {}, {}))
    consumer = broker.consume("q", prefetch=3, timeout=100)
    handed_out = next(consumer)  # the fetch takes all three; one goes to a worker thread
    assert handed_out is not None and broker.client.llen("close-test:q") == 0

    consumer.close()

    # The two never handed out are back for any worker; the one handed out is its thread's to ack.
    assert broker.client.llen("close-test:q") == 2


def test_relay_middleware_is_installed(broker):
    assert any(isinstance(m, LivenessMiddleware) for m in broker.middleware)


@pytest.fixture
def hung_redis_url():
    """The URL of a server that accepts connections and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    yield f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
    silent.close()


def test_a_hung_redis_fails_an_enqueue_within_the_socket_timeout(hung_redis_url):
    hung = WakeupRedisBroker(url=hung_redis_url, namespace="hung-test", socket_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(redis.RedisError):
        hung.enqueue(dramatiq.Message("q", "a", (), {}, {}))
    assert time.monotonic() - started < 5


def test_the_configured_broker_bounds_its_socket_waits(broker, settings):
    kwargs = broker.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == settings.REDIS_SOCKET_TIMEOUT_S
