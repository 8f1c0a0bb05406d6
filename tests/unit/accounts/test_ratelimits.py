"""Rate limits: signups per client, email budgets per client and per mailbox; "0" turns one off.

Over an email budget a page answers as usual and sends nothing. The email
budgets stay in force while the cache is down (the in-process fallback).
"""

import logging

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts import ratelimits
from accounts.models import User
from accounts.ratelimits import may_email, parse_rate
from jobs.models import Job
from jobs.worker.actors import run_task
from tests.support.accounts import post_resend, signup, user_in_state

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_fallback")]

DEAD_CACHE = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": "redis://127.0.0.1:1/0",
}


@pytest.fixture
def dead_cache(settings):
    settings.CACHES = {**settings.CACHES, "ratelimits": DEAD_CACHE}


def visitor(ip="192.0.2.1"):
    return RequestFactory().post("/", REMOTE_ADDR=ip)


def test_second_link_within_the_period_answers_alike_and_queues_nothing(settings, inactive_user):
    settings.RATE_LIMIT_RESEND = "1/3m"

    first = post_resend(inactive_user.email)
    second = post_resend(inactive_user.email)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Job.objects.count() == 1


def test_resend_limit_counts_per_mailbox_not_per_visitor(settings, inactive_user):
    settings.RATE_LIMIT_RESEND = "1/3m"
    other = user_in_state("other@example.com", active=False)

    post_resend(inactive_user.email, REMOTE_ADDR="192.0.2.1")
    post_resend(inactive_user.email.upper(), REMOTE_ADDR="192.0.2.2")
    post_resend(other.email, REMOTE_ADDR="192.0.2.1")

    assert sorted(Job.objects.values_list("label", flat=True)) == sorted([inactive_user.email, other.email])


def test_resend_limit_counts_unknown_addresses_the_same_way(settings):
    settings.RATE_LIMIT_RESEND = "1/3m"

    assert [post_resend("nobody@example.com").status_code for _ in range(2)] == [302, 302]
    assert Job.objects.count() == 1


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


def test_zero_turns_the_limits_off(settings, inactive_user):
    settings.RATE_LIMIT_SIGNUP = settings.RATE_LIMIT_RESEND = settings.RATE_LIMIT_CLIENT_EMAILS = "0"

    signups = [signup(Client(), f"user{n}@example.com").status_code for n in range(4)]
    resends = [post_resend(inactive_user.email).status_code for _ in range(3)]

    assert signups == [302] * 4 and resends == [302] * 3
    assert Job.objects.filter(args__0=inactive_user.email).count() == 3


def test_unreachable_cache_lets_signup_through_and_says_so(settings, caplog, dead_cache):
    settings.RATE_LIMIT_SIGNUP = "1/m"

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        response = signup(Client(), "ada@example.com")

    assert response.status_code == 302
    assert User.objects.filter(email="ada@example.com").exists()
    assert "cache unreachable" in caplog.text


@pytest.mark.parametrize("kind, setting", list(ratelimits.MAILBOX_RATES.items()))
def test_each_kind_is_limited_per_mailbox_whoever_asks(settings, kind, setting):
    setattr(settings, setting, "2/h")

    answers = [may_email(visitor(f"192.0.2.{n}"), kind, "ada@example.com") for n in range(3)]

    assert answers == [True, True, False]
    assert may_email(visitor("192.0.2.9"), kind, "bob@example.com") is True


@pytest.mark.parametrize("kind", list(ratelimits.MAILBOX_RATES))
def test_sub_addresses_share_their_mailbox_budget(settings, kind):
    setattr(settings, ratelimits.MAILBOX_RATES[kind], "2/h")

    answers = [may_email(visitor(f"192.0.2.{n}"), kind, f"box+{n}@example.com") for n in range(3)]

    assert answers == [True, True, False]
    assert may_email(visitor(), kind, "box@example.com") is False
    assert may_email(visitor(), kind, "boxer@example.com") is True


def test_one_client_budget_for_every_kind_whatever_the_address(settings):
    settings.RATE_LIMIT_CLIENT_EMAILS = "3/h"

    answers = [
        may_email(visitor("192.0.2.1"), kind, f"u{n}@example.com")
        for n, kind in enumerate(["signup", "resend", "reset", "resend"])
    ]

    assert answers == [True, True, True, False]
    assert may_email(visitor("192.0.2.2"), "reset", "u9@example.com") is True


def test_a_client_over_its_budget_does_not_spend_the_mailbox_budget(settings):
    settings.RATE_LIMIT_CLIENT_EMAILS = "1/h"
    settings.RATE_LIMIT_RESET = "1/h"
    may_email(visitor("192.0.2.1"), "reset", "other@example.com")

    flood = [may_email(visitor("192.0.2.1"), "reset", "ada@example.com") for _ in range(3)]

    assert flood == [False] * 3
    assert may_email(visitor("198.51.100.1"), "reset", "ada@example.com") is True


def test_zero_turns_the_email_budgets_off(settings):
    settings.RATE_LIMIT_RESET = settings.RATE_LIMIT_CLIENT_EMAILS = settings.RATE_LIMIT_NOTICE = "0"

    assert all(may_email(visitor(), "reset", "ada@example.com") for _ in range(5))
    assert all(may_email(visitor(), "signup", "ada@example.com") for _ in range(5))


@pytest.mark.parametrize(
    "rate, parsed", [("3/h", (3, 3600)), ("1/3m", (1, 180)), ("20/m", (20, 60)), ("0", None)]
)
def test_rates_read_as_django_ratelimit_reads_them(rate, parsed):
    assert parse_rate(rate) == parsed


def test_a_malformed_rate_is_refused():
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate("three per hour")


def test_unreachable_cache_keeps_the_email_budgets_in_this_process(settings, caplog, dead_cache):
    settings.RATE_LIMIT_RESEND = settings.RATE_LIMIT_NOTICE = "1/h"
    settings.RATE_LIMIT_RESET = "2/h"

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        resends = [may_email(visitor(), "resend", "ada@example.com") for _ in range(3)]
        resets = [may_email(visitor(f"192.0.2.{n}"), "reset", "ada+x@example.com") for n in range(3)]
        notices = [may_email(visitor(), "signup", "ada@example.com") for _ in range(3)]

    assert resends == [True, False, False]
    assert resets == [True, True, False]
    assert notices == [True, False, False]
    assert "counting in this process instead" in caplog.text


def test_unreachable_cache_keeps_the_client_budget(settings, dead_cache):
    settings.RATE_LIMIT_CLIENT_EMAILS = "1/h"

    assert [may_email(visitor("192.0.2.1"), "reset", f"u{n}@example.com") for n in range(2)] == [True, False]
    assert may_email(visitor("192.0.2.2"), "reset", "u9@example.com") is True


def test_the_outage_warning_is_logged_once_a_minute_per_limit(settings, caplog, dead_cache):
    settings.RATE_LIMIT_NOTICE = "100/h"

    with caplog.at_level(logging.WARNING, logger="accounts.ratelimits"):
        for _ in range(5):
            may_email(visitor(), "signup", "ada@example.com")

    assert len(caplog.records) == 1


def test_memory_counter_starts_afresh_in_the_next_window():
    now = [1000.0]
    counter = ratelimits.MemoryCounter(clock=lambda: now[0])

    assert [counter.over_limit("g", "a", 1, 60) for _ in range(2)] == [False, True]
    now[0] += 60
    assert counter.over_limit("g", "a", 1, 60) is False
    assert len(counter.counts) == 1


def test_a_rate_with_spaces_around_it_is_read_as_written(settings):
    settings.RATE_LIMIT_NOTICE = " 1/h "

    assert [may_email(visitor(), "signup", "ada@example.com") for _ in range(2)] == [True, False]


def test_sub_addresses_of_one_mailbox_get_its_budget_not_one_each(settings, mailoutbox):
    """Seen: 5 signups for box+N@ then 5 resends sent 10 emails to one inbox within seconds."""
    settings.RATE_LIMIT_NOTICE, settings.RATE_LIMIT_RESEND = "3/h", "1/3m"

    answers = [signup(Client(), f"box+{n}@example.com").status_code for n in range(5)]
    answers += [post_resend(f"box+{n}@example.com").status_code for n in range(5)]
    for job in Job.objects.order_by("pk"):
        run_task(job.pk)

    assert answers == [302] * 10
    assert User.objects.count() == 5  # five accounts: sub-addresses are addresses of their own
    assert len(mailoutbox) == 3 + 1


def test_one_client_gets_its_budget_across_addresses_and_pages(settings, mailoutbox):
    """Seen: 8 resends for 8 addresses from one client sent all 8."""
    settings.RATE_LIMIT_CLIENT_EMAILS = "5/h"
    for n in range(8):
        user_in_state(f"user{n}@example.com", active=False)

    answers = [post_resend(f"user{n}@example.com").status_code for n in range(8)]
    answers.append(signup(Client(), "new@example.com").status_code)
    another_client = post_resend("user7@example.com", REMOTE_ADDR="198.51.100.1").status_code
    for job in Job.objects.order_by("pk"):
        run_task(job.pk)

    assert answers == [302] * 9 and another_client == 302
    assert [message.to[0] for message in mailoutbox] == [f"user{n}@example.com" for n in [0, 1, 2, 3, 4, 7]]


def test_over_a_budget_every_page_answers_as_within_it(settings):
    settings.RATE_LIMIT_CLIENT_EMAILS = "1/h"
    user_in_state("ada@example.com", active=True)
    pages = {
        "signup": lambda: signup(Client(), "ada@example.com"),
        "resend": lambda: post_resend("ada@example.com"),
        "reset": lambda: Client().post(reverse("accounts:password_reset"), {"email": "ada@example.com"}),
    }

    for name, post in pages.items():
        caches["ratelimits"].clear()
        within, over = post(), post()
        assert (within.status_code, within["Location"]) == (over.status_code, over["Location"]), name
    assert Job.objects.count() == 3
