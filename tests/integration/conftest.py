"""Fixtures of the integration tier."""

import pytest


@pytest.fixture
def worker(live_env, processes):
    """A worker process (``rundramatiq``) started with the live test environment."""
    return processes.worker(live_env)
