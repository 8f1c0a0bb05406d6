"""The lockout and rate-limit settings the accounts tests share (registered by tests/conftest.py)."""

from datetime import timedelta

import pytest

from accounts import ratelimits

LIMIT = 3  # failed log-ins before a lockout, with ``low_lockout_limit``
WRONG = "Wrong-Passw0rd-42"


@pytest.fixture
def low_lockout_limit(settings):
    """A lockout after ``LIMIT`` failures, for 15 minutes."""
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def fresh_rate_fallback():
    """Each test starts with empty in-memory counters and its own first warning."""
    ratelimits.fallback_counter.clear()
    ratelimits.last_warning_at.clear()
    yield
    ratelimits.fallback_counter.clear()
