"""The unit tier: nothing outside the test process.

Run alone (``pytest tests/unit``, ``make check``) it has no server at all: its
broker is Dramatiq's StubBroker and its cache Django's local-memory one
(tests/settings.py). In a run of the whole suite the same tests run on the
suite's redis-server.
"""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def clean_broker_and_cache(broker):
    """Every unit test starts with empty queues and an empty cache."""
    broker.flush_all()
    cache.clear()
