"""The one way Herald makes a Redis client: bounded waits, and a name when the connection must be seen."""

import redis


def redis_client(url, *, timeout_s, name=None):
    """A client on ``url`` whose connect and every reply give up after ``timeout_s`` seconds.

    Every client Herald builds itself (the broker's, the probes of the admin, ``/healthz/`` and
    ``/metrics/``, the workers' liveness connection) comes from here, so none of them can hang on
    a Redis that stopped answering. (Django's cache and dramatiq-crontab's lock build their own.)
    ``name``: the name its connections carry (``CLIENT SETNAME``), as
    ``CLIENT LIST`` shows them.
    """
    return redis.Redis.from_url(
        url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, client_name=name
    )
