"""Login tells only the right password of an unconfirmed account to confirm it; logout is POST."""

import re

import pytest
from django.contrib.auth.forms import AuthenticationForm
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.forms import LoginForm
from accounts.models import User
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

GENERIC = AuthenticationForm.error_messages["invalid_login"] % {"username": "email address"}
CONFIRM_FIRST = LoginForm.error_messages["inactive"]


def page_text(response, email):
    """The page apart from the echoed address and the per-response CSRF token."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", response.text)
    return text.replace(email, "ADDRESS")


def log_in(email, password, client=None):
    client = client or Client()
    return client.post(reverse("accounts:login"), {"username": email, "password": password})


def test_active_user_logs_in(active_user):
    client = Client()
    response = log_in("Active@Example.com", PASSWORD, client)

    assert response.status_code == 302 and response["Location"] == reverse("accounts:welcome")
    assert client.session["_auth_user_id"] == str(active_user.pk)


def test_inactive_user_with_right_password_is_told_to_confirm(inactive_user):
    response = log_in(inactive_user.email, PASSWORD)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [CONFIRM_FIRST]
    assert escape(CONFIRM_FIRST) in response.text
    assert "_auth_user_id" not in response.wsgi_request.session


def test_inactive_user_with_wrong_password_gets_the_generic_message(inactive_user):
    response = log_in(inactive_user.email, "Wrong-Passw0rd-42")

    assert response.context["form"].non_field_errors() == [GENERIC]
    assert escape(CONFIRM_FIRST) not in response.text


def test_wrong_password_of_inactive_and_unknown_addresses_look_the_same(inactive_user):
    inactive = log_in(inactive_user.email, "Wrong-Passw0rd-42")
    unknown = log_in("nobody@example.com", "Wrong-Passw0rd-42")

    assert inactive.status_code == unknown.status_code == 200
    assert page_text(inactive, inactive_user.email) == page_text(unknown, "nobody@example.com")


def test_account_deactivated_by_staff_gets_the_generic_message(active_user):
    User.objects.filter(pk=active_user.pk).update(is_active=False)

    response = log_in(active_user.email, PASSWORD)

    assert response.context["form"].non_field_errors() == [GENERIC]


def test_logout_is_post_only(active_user):
    client = Client()
    log_in(active_user.email, PASSWORD, client)
    assert "_auth_user_id" in client.session

    assert client.get(reverse("accounts:logout")).status_code == 405
    assert "_auth_user_id" in client.session

    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_welcome_page_needs_login(client):
    response = client.get(reverse("accounts:welcome"))

    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_login_never_redirects_off_site(active_user, next_url):
    response = Client().post(
        reverse("accounts:login"), {"username": active_user.email, "password": PASSWORD, "next": next_url}
    )

    assert response.status_code == 302 and response["Location"] == reverse("accounts:welcome")
