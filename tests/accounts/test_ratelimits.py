"""Rate limits on real Redis: signups per client IP, links per address; "0" turns one off."""

import logging

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from jobs.models import EmailJob
from tests.accounts.conftest import signup, user_in_state

pytestmark = pytest.mark.django_db


def post_resend(email, **extra):
    return Client().post(reverse("accounts:resend"), {"email": email}, **extra)


def test_second_link_within_the_period_is_a_429_page_and_no_job(settings, inactive_user):
    settings.RATE_LIMIT_RESEND = "1/3m"

    first = post_resend(inactive_user.email)
    second = post_resend(inactive_user.email)

    assert first.status_code == 302
    assert second.status_code == 429
    assert "Too many requests" in second.text
    assert EmailJob.objects.count() == 1


def test_resend_limit_counts_per_address_not_per_visitor(settings, inactive_user):
    settings.RATE_LIMIT_RESEND = "1/3m"
    other = user_in_state("other@example.com", active=False)

    answers = [
        post_resend(inactive_user.email, REMOTE_ADDR="192.0.2.1").status_code,
        post_resend(inactive_user.email.upper(), REMOTE_ADDR="192.0.2.2").status_code,
        post_resend(other.email, REMOTE_ADDR="192.0.2.1").status_code,
    ]

    assert answers == [302, 429, 302]
    assert sorted(EmailJob.objects.values_list("recipient", flat=True)) == sorted([inactive_user.email, other.email])


def test_resend_limit_answers_unknown_addresses_the_same_way(settings):
    settings.RATE_LIMIT_RESEND = "1/3m"

    assert [post_resend("nobody@example.com").status_code for _ in range(2)] == [302, 429]


def test_signup_over_the_ip_limit_is_a_429_page_no_user_no_job(settings):
    settings.RATE_LIMIT_SIGNUP = "2/m"

    answers = [signup(Client(), f"user{n}@example.com").status_code for n in range(3)]

    assert answers == [302, 302, 429]
    assert sorted(User.objects.values_list("email", flat=True)) == ["user0@example.com", "user1@example.com"]
    assert EmailJob.objects.count() == 2


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
    resends = [post_resend(inactive_user.email).status_code for _ in range(4)]

    assert signups == resends == [302] * 4
    assert EmailJob.objects.filter(user=inactive_user).count() == 4


def test_unreachable_cache_lets_signup_through_and_says_so(settings, caplog):
    settings.RATE_LIMIT_SIGNUP = "1/m"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        response = signup(Client(), "ada@example.com")

    assert response.status_code == 302
    assert User.objects.filter(email="ada@example.com").exists()
    assert "cache unreachable" in caplog.text
