"""Accounts helpers and fixtures (registered by tests/conftest.py): users in each state, a signup helper."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import User
from accounts.tokens import activation_token

PASSWORD = "correct-Horse-battery-9"


def signup(client, email, password=PASSWORD, password2=None, **extra):
    """POST the signup form as a visitor would."""
    data = {"email": email, "password1": password, "password2": password if password2 is None else password2}
    return client.post(reverse("accounts:signup"), data, **extra)


def post_resend(email, **extra):
    """POST the resend form for ``email``, as a fresh visitor."""
    return Client().post(reverse("accounts:resend"), {"email": email}, **extra)


def uid(user_or_pk):
    """The uidb64 part of a link: the base64 of a user's pk (or of any value, to forge one)."""
    return urlsafe_base64_encode(force_bytes(getattr(user_or_pk, "pk", user_or_pk)))


def activate_path(uidb64, token):
    return reverse("accounts:activate", kwargs={"uidb64": uidb64, "token": token})


def link_of(user, generator=activation_token):
    """The activation path for ``user`` with a token from ``generator``."""
    return activate_path(uid(user), generator.make_token(user))


CHOSEN = "owner-Chosen-passw0rd"


def confirm(client, link, password=CHOSEN, **extra):
    """POST the page an activation link opens, choosing ``password``."""
    return client.post(link, {"password1": password, "password2": password}, **extra)


def user_in_state(email, *, active, password=PASSWORD):
    user = User.objects.create_user(email=email, password=password, is_active=active)
    if active:
        user.activated_at = timezone.now()
        user.save(update_fields=["activated_at"])
    return user


@pytest.fixture
def inactive_user(db):
    return user_in_state("waiting@example.com", active=False)


@pytest.fixture
def active_user(db):
    return user_in_state("active@example.com", active=True)
