"""Herald's Dramatiq brokers: Redis woken by enqueues (``redis``) and RabbitMQ (``rabbitmq``)."""

import redis
from dramatiq.errors import BrokerConnectionError

# What an unreachable broker raises, Redis or RabbitMQ (the RabbitMQ broker wraps pika's errors in ConnectionClosed).
BROKER_ERRORS = (redis.RedisError, BrokerConnectionError)
# A broker read for the admin, /metrics/ or /healthz/ gives up after this many seconds.
PROBE_TIMEOUT_S = 2.0
