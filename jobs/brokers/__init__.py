"""Herald's Dramatiq brokers: Redis woken by enqueues (``redis``) and RabbitMQ (``rabbitmq``)."""

from typing import Any, Protocol

import redis
from dramatiq.errors import BrokerConnectionError

# What an unreachable broker raises, Redis or RabbitMQ (the RabbitMQ broker wraps pika's errors in ConnectionClosed).
BROKER_ERRORS = (redis.RedisError, BrokerConnectionError)
# A broker read for the admin, /metrics/ or /healthz/ gives up after this many seconds.
PROBE_TIMEOUT_S = 2.0


class HeraldBroker(Protocol):
    """What both of Herald's brokers add to Dramatiq's ``Broker``: the calls of the relay, health and metrics."""

    broker_id: str
    namespace: str

    def queue_counts(self, queue_name: str) -> dict[str, Any]:
        """``{"queue_depth", "in_progress", "delayed", "dead_lettered"}`` (int, or None when unknown) for ``queue_name``."""
        ...

    def ping(self) -> None:
        """Return once the broker answers; raise one of ``BROKER_ERRORS`` within seconds otherwise."""
        ...

    def requeue_dead_workers(self) -> None:
        """Put back on their queues the messages that dead workers fetched and never acknowledged."""
        ...
