"""Login answers every failure alike, whatever the reason; logout is POST."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from accounts.forms import LoginForm
from accounts.models import User
from tests.support.accounts import PASSWORD, user_in_state

pytestmark = pytest.mark.django_db

GENERIC = LoginForm.error_messages["invalid_login"]


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


def failures(inactive_user, active_user):
    """A failed login of each kind: ``(reason, address, password)``."""
    deactivated = user_in_state("deactivated@example.com", active=True)
    User.objects.filter(pk=deactivated.pk).update(is_active=False)
    return [
        ("unknown address", "nobody@example.com", PASSWORD),
        ("wrong password", active_user.email, "Wrong-Passw0rd-42"),
        ("never confirmed, right password", inactive_user.email, PASSWORD),
        ("never confirmed, wrong password", inactive_user.email, "Wrong-Passw0rd-42"),
        ("deactivated, right password", deactivated.email, PASSWORD),
    ]


def test_every_failed_login_answers_alike(inactive_user, active_user):
    answers = {
        reason: page_text(log_in(email, password), email)
        for reason, email, password in failures(inactive_user, active_user)
    }

    assert len(set(answers.values())) == 1, answers.keys()
    [page] = set(answers.values())
    assert escape(GENERIC) in page
    assert 'href="/accounts/resend/"' in page and 'href="/accounts/password/reset/"' in page


def test_a_failed_login_logs_nobody_in(inactive_user, active_user):
    for _, email, password in failures(inactive_user, active_user):
        response = log_in(email, password)

        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [GENERIC]
        assert "_auth_user_id" not in response.wsgi_request.session


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


@pytest.mark.parametrize(
    "next_url",
    [
        "/accounts/login/",
        "/accounts/login/?next=/accounts/welcome/",
        "http://testserver/accounts/login/",
        "/accounts/%6Cogin/",
    ],
)
def test_a_logged_in_visitor_sent_to_login_with_next_at_login_lands_on_the_default_page(
    active_user, next_url
):
    """Seen: /accounts/login/?next=/accounts/login/ was a 500 (ValueError: Redirection loop)."""
    client = Client(raise_request_exception=False)
    client.force_login(active_user)

    response = client.get(reverse("accounts:login"), {"next": next_url})

    assert response.status_code == 302 and response["Location"] == reverse("accounts:welcome")


def test_logging_in_with_next_at_login_lands_on_the_default_page(active_user):
    client = Client()

    response = client.post(
        f"{reverse('accounts:login')}?next=/accounts/login/",
        {"username": active_user.email, "password": PASSWORD},
    )

    assert response.status_code == 302 and response["Location"] == reverse("accounts:welcome")


def test_a_safe_next_elsewhere_is_still_followed(active_user):
    client = Client()
    client.force_login(active_user)

    response = client.get(reverse("accounts:login"), {"next": "/admin/"})

    assert response["Location"] == "/admin/"
