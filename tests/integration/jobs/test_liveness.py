"""Who is alive: a killed worker's named Redis connection is gone at once; a blip or a restart is not a death."""

import time

import pytest

from jobs.worker import liveness


@pytest.fixture
def live_worker(broker):
    """A worker id with its named connection open and a fresh stamp, as ``jobs.worker.middleware`` keeps them."""
    client = liveness.named_client("worker-a")
    liveness.stamp_alive(client, "worker-a")
    yield client
    client.close()


def wait_for_redis_older_than_the_grace():
    info = liveness.probe_client().info("server")
    time.sleep(max(0.0, liveness.GONE_GRACE_S - info["uptime_in_seconds"] + 0.1))


def test_a_named_connection_is_listed_while_it_is_open(live_worker):
    wait_for_redis_older_than_the_grace()
    assert "worker-a" in liveness.connected_workers()

    live_worker.close()

    assert "worker-a" not in liveness.connected_workers()


def test_a_worker_whose_connection_is_gone_and_stamp_stale_is_dead_before_the_liveness_timeout(
    live_worker, settings
):
    wait_for_redis_older_than_the_grace()
    now = time.time()
    stale = now - liveness.GONE_GRACE_S - 0.5
    assert stale > now - settings.JOBS_HEARTBEAT_TIMEOUT_MS / 1000  # well inside the liveness timeout
    liveness.probe_client().zadd(liveness.workers_key(), {"worker-a": stale})

    assert not liveness.worker_is_dead("worker-a", since=stale, now=now)  # still connected
    live_worker.close()
    assert liveness.worker_is_dead("worker-a", since=stale, now=now)


def test_a_connection_blip_with_a_fresh_stamp_is_not_a_death(live_worker):
    wait_for_redis_older_than_the_grace()
    live_worker.close()  # gone from CLIENT LIST, but it stamped just now

    assert not liveness.worker_is_dead("worker-a", since=time.time())


def test_names_are_not_trusted_while_redis_is_younger_than_the_grace(redis_server):
    redis_server.restart()

    assert liveness.connected_workers() is None
