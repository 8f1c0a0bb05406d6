"""Rate limits on a real redis-server that stops or freezes: the fallback still counts, and nothing stalls."""

import logging
import time

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from jobs.models import Job
from tests.support.accounts import post_resend, signup
from tests.support.hung import hung_redis
from tests.support.publishing import tasks_publishing

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_fallback")]


def test_resend_while_redis_is_stopped_still_queues_one_link(settings, inactive_user, redis_server):
    settings.RATE_LIMIT_RESEND = "1/3m"
    settings.TASKS = tasks_publishing(background=True)  # the job row is written; the hand-off waits for Redis

    redis_server.stop()
    try:
        answers = [post_resend(inactive_user.email).status_code for _ in range(3)]
    finally:
        redis_server.start()

    assert answers == [302, 302, 302]
    assert Job.objects.filter(args__0=inactive_user.email).count() == 1


@pytest.fixture
def frozen_ratelimit_redis(settings, tmp_path):
    """The rate limits' cache on a redis-server of its own, then frozen (SIGSTOP) as a hung Redis is."""
    alias = settings.RATELIMIT_USE_CACHE

    def warm(url):
        settings.CACHES = {**settings.CACHES, alias: {**settings.CACHES[alias], "LOCATION": url}}
        caches[alias].set("warm", 1)  # a pooled connection, as a busy web process has

    with hung_redis(tmp_path / "redis", warm=warm) as server:
        yield server


def timed_answer(post):
    started = time.monotonic()
    response = post()
    return response.status_code, time.monotonic() - started


def test_a_frozen_redis_costs_each_check_at_most_the_short_bound(settings, frozen_ratelimit_redis, caplog):
    """Seen with a 10 s socket timeout: resend took 10.0 s, signup 20.7 s (two checks)."""
    settings.RATE_LIMIT_SIGNUP, settings.RATE_LIMIT_CLIENT_EMAILS = "20/m", "5/h"
    settings.RATE_LIMIT_NOTICE = settings.RATE_LIMIT_RESET = "3/h"
    settings.RATE_LIMIT_RESEND = "1/3m"
    bound = settings.RATE_LIMIT_CACHE_TIMEOUT_S
    slack = 1.0  # the request's own work on a busy machine
    assert bound < 1

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        signup_answer = timed_answer(lambda: signup(Client(), "ada@example.com"))  # 3 checks
        resend_answer = timed_answer(lambda: post_resend("ada@example.com"))  # 2 checks
        resends = [post_resend("ada@example.com").status_code for _ in range(2)]
        reset_answer = timed_answer(
            lambda: Client().post(reverse("accounts:password_reset"), {"email": "ada@example.com"})
        )

    assert signup_answer[0] == 302 and signup_answer[1] < 3 * bound + slack, signup_answer
    assert resend_answer[0] == 302 and resend_answer[1] < 2 * bound + slack, resend_answer
    assert reset_answer[0] == 302 and reset_answer[1] < 2 * bound + slack, reset_answer
    assert resends == [302, 302]
    # The budgets fell back to this process's memory: one link, however often asked.
    assert Job.objects.filter(task_path__endswith="send_requested_confirmation").count() == 1
    assert "counting in this process instead" in caplog.text
