"""Rate limits while the real redis-server is stopped: the in-process fallback still refuses."""

import pytest

from accounts import ratelimits
from jobs.models import Job
from tests.support.accounts import post_resend
from tests.support.publishing import tasks_publishing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_fallback():
    """Each test starts with empty in-memory counters and its own first warning."""
    ratelimits.fallback_counter.clear()
    ratelimits.last_warning_at.clear()
    yield
    ratelimits.fallback_counter.clear()


def test_resend_while_redis_is_stopped_is_still_a_429_after_the_first(settings, inactive_user, redis_server):
    settings.RATE_LIMIT_RESEND = "1/3m"
    settings.TASKS = tasks_publishing(background=True)  # the job row is written; the hand-off waits for Redis

    redis_server.stop()
    try:
        answers = [post_resend(inactive_user.email).status_code for _ in range(3)]
    finally:
        redis_server.start()

    assert answers == [302, 429, 429]
    assert Job.objects.filter(args__0=inactive_user.pk).count() == 1
