"""Rate limits: signups per client IP, links per address; "0" turns one off.

Resend, password reset and the notice email stay limited while the cache is down
(the in-process fallback).
"""

import logging

import pytest
from django.test import Client, RequestFactory

from accounts import ratelimits
from accounts.models import User
from accounts.ratelimits import notice_over_limit, parse_rate, resend_over_limit, reset_over_limit
from jobs.models import Job
from tests.support.accounts import post_resend, signup, user_in_state

pytestmark = pytest.mark.django_db


DEAD_CACHE = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
}


@pytest.fixture(autouse=True)
def fresh_fallback():
    """Each test starts with empty in-memory counters and its own first warning."""
    ratelimits.fallback_counter.clear()
    ratelimits.last_warning_at.clear()
    yield
    ratelimits.fallback_counter.clear()


def visitor(ip="192.0.2.1"):
    return RequestFactory().post("/", REMOTE_ADDR=ip)


def test_second_link_within_the_period_is_a_429_page_and_no_job(settings, inactive_user):
    settings.RATE_LIMIT_RESEND = "1/3m"

    first = post_resend(inactive_user.email)
    second = post_resend(inactive_user.email)

    assert first.status_code == 302
    assert second.status_code == 429
    assert "Too many requests" in second.text
    assert Job.objects.count() == 1


def test_resend_limit_counts_per_address_not_per_visitor(settings, inactive_user):
    settings.RATE_LIMIT_RESEND = "1/3m"
    other = user_in_state("other@example.com", active=False)

    answers = [
        post_resend(inactive_user.email, REMOTE_ADDR="192.0.2.1").status_code,
        post_resend(inactive_user.email.upper(), REMOTE_ADDR="192.0.2.2").status_code,
        post_resend(other.email, REMOTE_ADDR="192.0.2.1").status_code,
    ]

    assert answers == [302, 429, 302]
    assert sorted(Job.objects.values_list("label", flat=True)) == sorted([inactive_user.email, other.email])


def test_resend_limit_answers_unknown_addresses_the_same_way(settings):
    settings.RATE_LIMIT_RESEND = "1/3m"

    assert [post_resend("nobody@example.com").status_code for _ in range(2)] == [302, 429]


def test_signup_over_the_ip_limit_is_a_429_page_no_user_no_job(settings):
    settings.RATE_LIMIT_SIGNUP = "2/m"

    answers = [signup(Client(), f"user{n}@example.com").status_code for n in range(3)]

    assert answers == [302, 302, 429]
    assert sorted(User.objects.values_list("email", flat=True)) == ["user0@example.com", "user1@example.com"]
    assert Job.objects.count() == 2


def test_signup_limit_counts_per_client_ip(settings):
    settings.RATE_LIMIT_SIGNUP = "1/m"

    answers = [
        signup(Client(), "a@example.com", REMOTE_ADDR="192.0.2.1").status_code,
        signup(Client(), "b@example.com", REMOTE_ADDR="192.0.2.2").status_code,
        signup(Client(), "c@example.com", REMOTE_ADDR="192.0.2.1").status_code,
    ]

    assert answers == [302, 302, 429]
    assert not User.objects.filter(email="c@example.com").exists()


def test_zero_turns_both_limits_off(settings, inactive_user):
    settings.RATE_LIMIT_SIGNUP = "0"
    settings.RATE_LIMIT_RESEND = "0"

    signups = [signup(Client(), f"user{n}@example.com").status_code for n in range(4)]
    resends = [post_resend(inactive_user.email).status_code for _ in range(3)]

    assert signups == [302] * 4 and resends == [302] * 3
    assert Job.objects.filter(args__0=inactive_user.pk).count() == 3


def test_unreachable_cache_lets_signup_through_and_says_so(settings, caplog):
    settings.RATE_LIMIT_SIGNUP = "1/m"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        response = signup(Client(), "ada@example.com")

    assert response.status_code == 302
    assert User.objects.filter(email="ada@example.com").exists()
    assert "cache unreachable" in caplog.text


def test_reset_is_limited_per_address_whoever_asks(settings):
    settings.RATE_LIMIT_RESET = "2/h"

    answers = [reset_over_limit(visitor(f"192.0.2.{n}"), "ada@example.com") for n in range(3)]

    assert answers == [False, False, True]
    assert reset_over_limit(visitor("192.0.2.9"), "bob@example.com") is False


def test_reset_is_limited_per_client_ip_whatever_the_address(settings):
    settings.RATE_LIMIT_RESET_IP = "2/h"

    answers = [reset_over_limit(visitor("192.0.2.1"), f"user{n}@example.com") for n in range(3)]

    assert answers == [False, False, True]
    assert reset_over_limit(visitor("192.0.2.2"), "user9@example.com") is False


def test_notice_is_limited_per_address_without_a_request(settings):
    settings.RATE_LIMIT_NOTICE = "1/h"

    assert [notice_over_limit("ada@example.com") for _ in range(2)] == [False, True]
    assert notice_over_limit("bob@example.com") is False


def test_zero_turns_the_reset_and_notice_limits_off(settings):
    settings.RATE_LIMIT_RESET = settings.RATE_LIMIT_RESET_IP = settings.RATE_LIMIT_NOTICE = "0"

    assert not any(reset_over_limit(visitor(), "ada@example.com") for _ in range(5))
    assert not any(notice_over_limit("ada@example.com") for _ in range(5))


@pytest.mark.parametrize(
    "rate, parsed", [("3/h", (3, 3600)), ("1/3m", (1, 180)), ("20/m", (20, 60)), ("0", None)]
)
def test_rates_read_as_django_ratelimit_reads_them(rate, parsed):
    assert parse_rate(rate) == parsed


def test_a_malformed_rate_is_refused():
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate("three per hour")


def test_unreachable_cache_keeps_the_email_limits_in_this_process(settings, caplog):
    settings.CACHES = DEAD_CACHE
    settings.RATE_LIMIT_RESEND = settings.RATE_LIMIT_NOTICE = "1/h"
    settings.RATE_LIMIT_RESET = "2/h"

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        resends = [resend_over_limit(visitor(), "ada@example.com") for _ in range(3)]
        resets = [reset_over_limit(visitor(f"192.0.2.{n}"), "ada@example.com") for n in range(3)]
        notices = [notice_over_limit("ada@example.com") for _ in range(3)]

    assert resends == [False, True, True]
    assert resets == [False, False, True]
    assert notices == [False, True, True]
    assert "counting in this process instead" in caplog.text


def test_unreachable_cache_keeps_the_reset_ip_limit(settings):
    settings.CACHES = DEAD_CACHE
    settings.RATE_LIMIT_RESET_IP = "1/h"

    assert [reset_over_limit(visitor("192.0.2.1"), f"u{n}@example.com") for n in range(2)] == [False, True]
    assert reset_over_limit(visitor("192.0.2.2"), "u9@example.com") is False


def test_the_outage_warning_is_logged_once_a_minute_per_limit(settings, caplog):
    settings.CACHES = DEAD_CACHE
    settings.RATE_LIMIT_NOTICE = "100/h"

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        for _ in range(5):
            notice_over_limit("ada@example.com")

    assert len(caplog.records) == 1


def test_memory_counter_starts_afresh_in_the_next_window():
    now = [1000.0]
    counter = ratelimits.MemoryCounter(clock=lambda: now[0])

    assert [counter.over_limit("g", "a", 1, 60) for _ in range(2)] == [False, True]
    now[0] += 60
    assert counter.over_limit("g", "a", 1, 60) is False
    assert len(counter.counts) == 1  # the ended window was dropped


def test_a_rate_with_spaces_around_it_is_read_as_written(settings):
    settings.RATE_LIMIT_NOTICE = " 1/h "

    assert [notice_over_limit("ada@example.com") for _ in range(2)] == [False, True]
