"""The user admin: an address typed in any case is stored as signup stores it."""

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.support.accounts import PASSWORD, signup

pytestmark = pytest.mark.django_db


def add_user(admin_client, email):
    return admin_client.post(
        reverse("admin:accounts_user_add"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}
    )


def test_admin_stores_the_address_lower_case(admin_client):
    response = add_user(admin_client, "Ada@Example.COM")

    assert response.status_code == 302
    assert User.objects.filter(email="ada@example.com").exists()


def test_admin_cannot_add_a_case_twin(admin_client):
    User.objects.create_user(email="ada@example.com", password=PASSWORD)

    response = add_user(admin_client, "ADA@example.com")

    assert response.status_code == 200 and response.context["adminform"].form.errors["email"]
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_signup_after_an_admin_added_the_address_creates_no_twin(admin_client, client):
    add_user(admin_client, "Ada@Example.COM")

    signup(client, "ada@example.com")

    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_activating_a_never_confirmed_account_by_hand_drops_its_signup_password(admin_client):
    signup(Client(), "squatted@example.com", password="attacker-Chosen-passw0rd")
    user = User.objects.get(email="squatted@example.com")
    form = {
        "email": user.email,
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    response = admin_client.post(reverse("admin:accounts_user_change", args=[user.pk]), form, follow=True)

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.is_active and user.activated_at is not None and not user.has_usable_password()
    assert authenticate(username=user.email, password="attacker-Chosen-passw0rd") is None
    assert "no usable password" in response.text
