"""The client IP behind ``TRUSTED_PROXY_COUNT`` proxies: never an error, never the client's own claim."""

import pytest
from django.test import Client, RequestFactory

from accounts import ratelimits
from accounts.models import User
from accounts.ratelimits import may_email
from config.client_ip import client_ip, client_network
from tests.support.accounts import signup
from tests.support.forwarded import ODD_FORWARDED_FOR


def request_from(remote_addr="127.0.0.1", forwarded_for=None):
    extra = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().get("/", **extra)


def signups_from(forwarded_fors):
    """The answer to one signup (user<n>@example.com, a client of its own) behind each X-Forwarded-For."""
    return [
        signup(Client(), f"user{n}@example.com", HTTP_X_FORWARDED_FOR=forwarded_for).status_code
        for n, forwarded_for in enumerate(forwarded_fors)
    ]


def test_without_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0

    assert client_ip(request_from("198.51.100.4", "203.0.113.7")) == "198.51.100.4"


@pytest.mark.parametrize(
    "proxies, forwarded_for, expected",
    [
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "10.9.9.9, 203.0.113.7", "203.0.113.7"),  # the client's own claim on the left is skipped
        (1, "1.2.3.4, 5.6.7.8, 203.0.113.7", "203.0.113.7"),
        (2, "203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (1, "2001:db8::7", "2001:db8::7"),
    ],
)
def test_behind_proxies_the_client_is_counted_from_the_right(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXY_COUNT = proxies

    assert client_ip(request_from("10.0.0.1", forwarded_for)) == expected


@pytest.mark.parametrize("forwarded_for", [None, "", "garbage", "unknown"])
def test_a_missing_or_useless_header_falls_back_to_the_peer(settings, forwarded_for):
    settings.TRUSTED_PROXY_COUNT = 1

    assert client_ip(request_from("10.0.0.1", forwarded_for)) == "10.0.0.1"


def test_a_header_shorter_than_the_proxy_chain_falls_back_to_the_peer(settings):
    settings.TRUSTED_PROXY_COUNT = 2

    assert client_ip(request_from("10.0.0.1", "203.0.113.7")) == "10.0.0.1"


@pytest.mark.django_db
@pytest.mark.parametrize("forwarded_for", ODD_FORWARDED_FOR)
def test_odd_headers_never_give_an_error_through_the_rate_limit(settings, forwarded_for):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_LIMIT_SIGNUP = "20/m"

    response = signup(Client(), "ada@example.com", HTTP_X_FORWARDED_FOR=forwarded_for)

    assert response.status_code == 302


@pytest.mark.django_db
def test_a_spoofed_leftmost_address_does_not_escape_the_signup_limit(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_LIMIT_SIGNUP = "2/m"

    answers = signups_from([f"10.0.0.{n}, 203.0.113.7" for n in range(3)])
    other_client = signup(Client(), "other@example.com", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code

    assert answers == [302, 302, 429]
    assert other_client == 302


@pytest.mark.django_db
def test_visitors_behind_one_proxy_are_counted_apart(settings):
    """Without it, every visitor shares the proxy's address and 20 junk POSTs lock everyone out."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_LIMIT_SIGNUP = "1/m"

    answers = signups_from([f"203.0.113.{n}" for n in range(3)])

    assert answers == [302, 302, 302]
    assert User.objects.count() == 3


@pytest.mark.parametrize(
    "prefix, address, network",
    [
        (64, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::"),
        (64, "2001:DB8:1:2::1", "2001:db8:1:2::"),
        (56, "2001:db8:1:2ff::1", "2001:db8:1:200::"),
        (128, "2001:db8::1", "2001:db8::1"),
        (64, "::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: the IPv4 client
        (64, "203.0.113.7", "203.0.113.7"),
        (64, "fe80::1%eth0", "fe80::"),
    ],
)
def test_an_ipv6_client_is_counted_as_its_network(settings, prefix, address, network):
    settings.CLIENT_IPV6_PREFIX = prefix

    assert client_network(request_from(address)) == network


def test_a_remote_addr_that_is_no_address_is_counted_as_it_is():
    assert client_network(request_from("unix:/run/gunicorn.sock")) == "unix:/run/gunicorn.sock"


@pytest.mark.django_db
def test_one_64_signs_up_as_one_client(settings):
    settings.RATE_LIMIT_SIGNUP = "2/m"

    answers = [
        signup(Client(), f"u{n}@example.com", REMOTE_ADDR=f"2001:db8:1:2::{n + 1}").status_code
        for n in range(3)
    ]
    next_subscriber = signup(Client(), "v@example.com", REMOTE_ADDR="2001:db8:1:3::1").status_code

    assert answers == [302, 302, 429] and next_subscriber == 302


@pytest.mark.django_db
def test_the_in_memory_fallback_counts_the_same_64(settings):
    settings.CACHES = {
        **settings.CACHES,
        "ratelimits": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    settings.RATE_LIMIT_CLIENT_EMAILS = "2/h"
    ratelimits.fallback_counter.clear()
    try:
        answers = [
            may_email(request_from(f"2001:db8:1:2::{n + 1}"), "reset", f"u{n}@example.com") for n in range(3)
        ]
        other = may_email(request_from("2001:db8:1:3::1"), "reset", "v@example.com")
    finally:
        ratelimits.fallback_counter.clear()

    assert answers == [True, True, False] and other is True
