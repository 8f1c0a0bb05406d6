"""Password guessing: after AXES_FAILURE_LIMIT failures per address or per client IP, a 429 that checks nothing."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.support.accounts import PASSWORD, uid
from tests.support.limits import LIMIT, WRONG

pytestmark = pytest.mark.usefixtures("low_lockout_limit")


@pytest.fixture
def password_checks(monkeypatch):
    """Counts every password the test hasher (MD5, tests/settings.py) hashes or verifies."""
    calls = []
    for name in ("encode", "verify"):
        original = getattr(MD5PasswordHasher, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(MD5PasswordHasher, name, counted)
    return calls


def log_in(email, password, ip="192.0.2.1", path=None):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(path or reverse("accounts:login"), {"username": email, "password": password})
    return response, client


def fail(email, times, ip="192.0.2.1", path=None):
    return [log_in(email, WRONG, ip, path)[0].status_code for _ in range(times)]


def test_the_failure_that_reaches_the_limit_answers_429(active_user):
    assert fail(active_user.email, LIMIT) == [200] * (LIMIT - 1) + [429]


def test_a_locked_out_attempt_checks_no_password_and_logs_nobody_in(active_user, password_checks):
    fail(active_user.email, LIMIT)
    password_checks.clear()

    response, client = log_in(active_user.email, PASSWORD, ip="198.51.100.7")

    assert response.status_code == 429
    assert "Too many failed logins" in response.text
    assert "Logging in is paused for 15 minutes" in response.text
    assert password_checks == []
    assert "_auth_user_id" not in client.session


def test_the_address_is_counted_as_the_login_form_spells_it(db, active_user):
    spellings = ["Active@Example.com", " active@EXAMPLE.com", "ACTIVE@example.com"]
    for n, spelling in enumerate(spellings):
        log_in(spelling, WRONG, ip=f"192.0.2.{n}")

    assert log_in(active_user.email, PASSWORD, ip="198.51.100.7")[0].status_code == 429


def test_per_address_and_per_ip(db, active_user):
    """Either key locks; an address from another IP and another address from another IP stay open."""
    other = User.objects.create_user(email="other@example.com", password=PASSWORD, is_active=True)
    fail(active_user.email, LIMIT, ip="192.0.2.1")

    same_address_elsewhere = log_in(active_user.email, PASSWORD, ip="198.51.100.7")[0].status_code
    other_address_same_ip = log_in(other.email, PASSWORD, ip="192.0.2.1")[0].status_code
    other_address_elsewhere = log_in(other.email, PASSWORD, ip="198.51.100.7")[0].status_code

    assert (same_address_elsewhere, other_address_same_ip, other_address_elsewhere) == (429, 429, 302)


def test_one_ip_trying_many_addresses_is_locked(db, active_user):
    answers = [log_in(f"guess{n}@example.com", WRONG)[0].status_code for n in range(LIMIT)]

    assert answers[-1] == 429
    assert log_in(active_user.email, PASSWORD)[0].status_code == 429


def test_the_lockout_page_is_the_same_for_known_and_unknown_addresses(db, active_user):
    fail(active_user.email, LIMIT, ip="192.0.2.1")
    fail("nobody@example.com", LIMIT, ip="192.0.2.2")

    known = log_in(active_user.email, PASSWORD, ip="198.51.100.1")[0]
    unknown = log_in("nobody@example.com", PASSWORD, ip="198.51.100.2")[0]

    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content


def test_the_cool_off_ends_the_lockout(db, active_user, settings):
    fail(active_user.email, LIMIT)
    assert log_in(active_user.email, PASSWORD)[0].status_code == 429

    # As if the cool-off had passed since the last failure.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - settings.AXES_COOLOFF_TIME
    )

    response, client = log_in(active_user.email, PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(active_user.pk)


def test_locked_out_attempts_do_not_extend_the_lockout(db, active_user, settings):
    fail(active_user.email, LIMIT)
    last_failure = AccessAttempt.objects.get().attempt_time

    fail(active_user.email, 5)

    assert AccessAttempt.objects.get().attempt_time == last_failure
    assert AccessAttempt.objects.get().failures_since_start == LIMIT


def test_a_password_reset_by_email_still_logs_the_owner_in(active_user):
    """The owner of a locked-out address proves the mailbox instead of the password."""
    fail(active_user.email, LIMIT)
    client = Client(REMOTE_ADDR="192.0.2.1")
    link = reverse(
        "accounts:password_reset_confirm",
        kwargs={"uidb64": uid(active_user), "token": default_token_generator.make_token(active_user)},
    )

    form_page = client.get(link, follow=True)
    new_password = "An0ther-Horse-battery-7"
    set_password = form_page.redirect_chain[-1][0]
    response = client.post(set_password, {"new_password1": new_password, "new_password2": new_password})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(active_user.pk)


def test_the_admin_login_is_throttled_too(db, password_checks):
    staff = User.objects.create_superuser(email="staff@example.com", password=PASSWORD)
    admin_login = reverse("admin:login")

    answers = fail(staff.email, LIMIT, path=admin_login)
    password_checks.clear()
    response, client = log_in("Staff@Example.com", PASSWORD, ip="198.51.100.7", path=admin_login)

    assert answers[-1] == 429
    assert response.status_code == 429 and "Too many failed logins" in response.text
    assert password_checks == []
    assert "_auth_user_id" not in client.session


def test_below_the_limit_the_right_password_logs_in(active_user):
    fail(active_user.email, LIMIT - 1)

    assert log_in(active_user.email, PASSWORD)[0].status_code == 302


def test_an_ipv6_client_is_its_64_for_the_lockout(active_user):
    """Seen: 12 failures from 2001:db8:1:2::1 to ::c all answered 200, then ::ff logged in."""
    subscriber = [f"2001:db8:1:2::{n:x}" for n in range(1, 13)]
    answers = [
        log_in(f"guess{n}@example.com", WRONG, ip=ip)[0].status_code for n, ip in enumerate(subscriber)
    ]

    response, client = log_in(active_user.email, PASSWORD, ip="2001:db8:1:2::ff")
    next_subscriber = log_in(active_user.email, PASSWORD, ip="2001:db8:1:3::1")[0]

    assert answers[LIMIT - 1 :] == [429] * (len(subscriber) - LIMIT + 1)
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert next_subscriber.status_code == 302


def test_another_ipv6_prefix_when_the_operator_sets_one(active_user, settings):
    settings.CLIENT_IPV6_PREFIX = 48
    fail("guess@example.com", LIMIT, ip="2001:db8:1:2::1")

    assert log_in(active_user.email, PASSWORD, ip="2001:db8:1:ffff::1")[0].status_code == 429
    assert log_in(active_user.email, PASSWORD, ip="2001:db8:2::1")[0].status_code == 302


def test_authenticate_without_a_request_is_not_refused(active_user):
    """Scripts and the shell call authenticate() with no request: not a visitor's attempt."""
    assert authenticate(username=active_user.email, password=PASSWORD) == active_user
