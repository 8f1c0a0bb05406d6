"""Bad input gets a clear answer and changes nothing: never a 500, never a half-created user."""

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from jobs.models import Job
from tests.support.accounts import PASSWORD, confirm, link_of, signup

pytestmark = pytest.mark.django_db

TEN_MB = 10 * 1024 * 1024
FORMS = {
    "signup": ["email", "password1", "password2"],
    "resend": ["email"],
    "login": ["username", "password"],
}
HEADER_INJECTIONS = [
    "a@example.com\r\nBcc: x@example.com",
    "a@example.com\nBcc: x@example.com",
    "a@example.com\rBcc: x@example.com",
    "a@example.com\u2028Bcc: x@example.com",
    "a@example.com\x85Bcc: x@example.com",
    '"a\r\nBcc: x@example.com"@example.com',
    "a@example.com, x@example.com",
    "a@example.com;x@example.com",
    "Ada <a@example.com>",
]
ODD_CHARACTERS = [
    "\x00",
    "\x01",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\u2029",
    "\u200b",
    "\u202e",
    "\ufeff",
    "\u3000",
]


def nothing_created():
    return not User.objects.exists() and not Job.objects.exists()


def valid_data(form):
    return {
        "signup": {"email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD},
        "resend": {"email": "ada@example.com"},
        "login": {"username": "ada@example.com", "password": PASSWORD},
    }[form]


@pytest.mark.parametrize(
    "email",
    [
        pytest.param("", id="empty"),
        pytest.param("plainaddress", id="no at"),
        pytest.param("a@", id="no domain"),
        pytest.param("@example.com", id="no local part"),
        pytest.param("a@@example.com", id="two ats"),
        pytest.param("a b@example.com", id="space"),
        pytest.param("ü@example.com", id="unicode local part"),
        pytest.param("a@" + "b" * 64 + ".com", id="label over 63"),
        pytest.param("a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com", id="255+ chars"),
        pytest.param("a" * 10_000 + "@example.com", id="10000 chars"),
    ],
)
def test_invalid_email_is_a_form_error_and_creates_nothing(client, email):
    response = signup(client, email)

    assert response.status_code == 200
    assert response.context["form"].errors["email"]
    assert nothing_created()


def test_address_of_254_characters_is_accepted(client):
    prefix = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + "."
    email = prefix + "c" * (254 - len(prefix))

    assert signup(client, email).status_code == 302
    assert User.objects.get().email == email


@pytest.mark.parametrize("email", HEADER_INJECTIONS)
def test_header_injection_in_the_signup_address_creates_nothing(client, email):
    response = signup(client, email)

    assert response.status_code == 200 and response.context["form"].errors["email"]
    assert nothing_created()


@pytest.mark.parametrize("email", HEADER_INJECTIONS)
def test_header_injection_in_the_resend_address_creates_no_job(client, inactive_user, email):
    response = client.post(reverse("accounts:resend"), {"email": email.replace("a@", "waiting@")})

    assert response.status_code == 200 and response.context["form"].errors["email"]
    assert not Job.objects.exists()


@pytest.mark.parametrize("email", HEADER_INJECTIONS)
def test_header_injection_in_the_login_address_is_a_plain_failed_login(client, active_user, email):
    response = client.post(
        reverse("accounts:login"), {"username": email.replace("a@", "active@"), "password": PASSWORD}
    )

    assert response.status_code == 200 and response.context["form"].errors
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("character", ODD_CHARACTERS, ids=[f"U+{ord(c):04X}" for c in ODD_CHARACTERS])
@pytest.mark.parametrize("where", ["local part", "domain", "end"])
def test_control_format_and_separator_characters_in_the_address_create_nothing(client, character, where):
    email = {
        "local part": f"a{character}da@example.com",
        "domain": f"ada@exa{character}mple.com",
        "end": f"ada@example.com{character}x",
    }[where]

    response = signup(client, email)

    assert response.status_code == 200 and response.context["form"].errors["email"]
    assert nothing_created()


@pytest.mark.parametrize("character", [*ODD_CHARACTERS[1:], "é", "😀", "\u0301"], ids=repr)
def test_any_character_but_nul_is_kept_in_a_password(client, character):
    password = f"Correct{character}Horse-9x"

    assert signup(client, "ada@example.com", password=password).status_code == 302
    assert User.objects.get().check_password(password)


def test_nul_in_a_password_is_a_form_error(client):
    response = signup(client, "ada@example.com", password="Correct\x00Horse-9x")

    assert response.status_code == 200 and response.context["form"].errors["password1"]
    assert nothing_created()


@pytest.mark.parametrize("form", FORMS)
def test_invalid_utf8_in_every_field_is_answered_without_error(client, form):
    body = "&".join(f"{field}={quote(value)}%FF%FE%C0%AF" for field, value in valid_data(form).items())

    response = client.post(
        reverse(f"accounts:{form}"), body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200 and response.context["form"].errors
    assert nothing_created()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("content_type", ["multipart", "urlencoded"])
def test_ten_megabyte_body_is_a_400_and_creates_nothing(client, form, content_type):
    data = {**valid_data(form), FORMS[form][-1]: "x" * TEN_MB}
    if content_type == "multipart":
        response = client.post(reverse(f"accounts:{form}"), data)
    else:
        body = "&".join(f"{field}={quote(value)}" for field, value in data.items())
        response = client.post(
            reverse(f"accounts:{form}"), body, content_type="application/x-www-form-urlencoded"
        )

    assert response.status_code == 400
    assert "Bad request" in response.text
    assert nothing_created()


@pytest.mark.parametrize("form", FORMS)
def test_missing_csrf_token_is_a_403_page_and_creates_nothing(form):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse(f"accounts:{form}"))  # a CSRF cookie, but no token in the form

    response = client.post(reverse(f"accounts:{form}"), valid_data(form))

    assert response.status_code == 403
    assert "Forbidden" in response.text and "reload the page" in response.text
    assert nothing_created()


def test_csrf_token_from_the_form_lets_signup_through():
    client = Client(enforce_csrf_checks=True)
    token = client.get(reverse("accounts:signup")).context["csrf_token"]

    response = client.post(
        reverse("accounts:signup"), {**valid_data("signup"), "csrfmiddlewaretoken": str(token)}
    )

    assert response.status_code == 302 and User.objects.filter(email="ada@example.com").exists()


def test_logout_without_csrf_token_is_refused(active_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(active_user)

    assert client.post(reverse("accounts:logout")).status_code == 403
    assert "_auth_user_id" in client.session


def test_cross_site_post_to_the_confirm_page_does_not_activate(inactive_user):
    client = Client(enforce_csrf_checks=True)

    response = confirm(client, link_of(inactive_user), HTTP_ORIGIN="https://evil.example")

    assert response.status_code == 403
    assert not User.objects.get(pk=inactive_user.pk).is_active


def test_post_to_the_confirm_page_without_a_password_activates_nothing(client, inactive_user):
    response = client.post(link_of(inactive_user))

    assert response.status_code == 200 and "This field is required" in response.text
    assert not User.objects.get(pk=inactive_user.pk).is_active


@pytest.mark.parametrize(
    "path", ["/accounts/activate//token/", "/accounts/activate/MQ/", "/accounts/nothing-here/"]
)
def test_unknown_paths_are_a_404_page(client, path):
    response = client.get(path)

    assert response.status_code == 404 and "Page not found" in response.text
