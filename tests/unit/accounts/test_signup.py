"""Signup: an inactive user and one queued job, the message sent on commit, no enumeration."""

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tasks import send_account_exists_email, send_confirmation_email
from jobs.models import Job
from tests.support.accounts import PASSWORD, signup, user_in_state

pytestmark = pytest.mark.django_db


def test_signup_page_has_the_three_fields(client):
    response = client.get(reverse("accounts:signup"))

    assert response.status_code == 200
    assert set(response.context["form"].fields) == {"email", "password1", "password2"}


def test_signup_saves_inactive_user_and_one_queued_job_then_redirects(client):
    response = signup(client, "ada@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:signup_done")
    user = User.objects.get(email="ada@example.com")
    assert not user.is_active and user.activated_at is None
    assert user.check_password(PASSWORD)
    [job] = Job.objects.all()
    assert (job.task_path, job.args, job.status) == (
        send_confirmation_email.module_path,
        [user.pk, "ada@example.com"],
        Job.Status.QUEUED,
    )


def test_check_your_inbox_page_names_the_address(client):
    signup(client, "ada@example.com")

    page = client.get(reverse("accounts:signup_done"))

    assert page.status_code == 200
    assert "Check your inbox" in page.text and "ada@example.com" in page.text


def test_signup_writes_no_session_and_the_address_travels_signed(client):
    from django.contrib.sessions.models import Session

    response = signup(client, "ada@example.com")

    assert not Session.objects.exists()
    cookie = response.cookies["herald_sent_to"]
    assert "ada@example.com" not in cookie.value and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_tampered_address_cookie_is_not_shown(client):
    signup(client, "ada@example.com")
    client.cookies["herald_sent_to"] = client.cookies["herald_sent_to"].value.replace(":", "x:", 1)

    page = client.get(reverse("accounts:signup_done"))

    assert page.status_code == 200 and "ada@example.com" not in page.text and "your address" in page.text


def test_address_is_stored_lower_case(client):
    signup(client, "  Ada.Lovelace@Example.COM ")

    assert User.objects.filter(email="ada.lovelace@example.com").exists()


def test_full_width_domain_is_the_same_mailbox_as_the_plain_one(client, active_user):
    response = signup(client, "active@ｅｘａｍｐｌｅ.com")

    assert response.status_code == 302
    assert User.objects.count() == 1
    assert list(Job.objects.values_list("task_path", "args")) == [
        (send_account_exists_email.module_path, [active_user.pk, active_user.email])
    ]


@pytest.mark.parametrize(
    "password, password2, error_field",
    [
        ("short7", None, "password2"),  # MinimumLengthValidator
        ("password123", None, "password2"),  # CommonPasswordValidator
        ("83920174652019", None, "password2"),  # NumericPasswordValidator
        ("ada.lovelace.example", None, "password2"),  # UserAttributeSimilarityValidator
        (PASSWORD, PASSWORD + "x", "password2"),  # mismatch
        ("", "", "password1"),
    ],
)
def test_password_validators_refuse_and_nothing_is_created(client, password, password2, error_field):
    response = signup(client, "ada.lovelace@example.com", password=password, password2=password2)

    assert response.status_code == 200
    assert response.context["form"].errors[error_field]
    assert not User.objects.exists() and not Job.objects.exists()


def _answer(client, email):
    response = signup(client, email, password="Another-Passw0rd-42")
    page = client.get(response["Location"])
    return (
        response.status_code,
        response["Location"],
        page.status_code,
        page.text.replace(email.lower(), "ADDRESS"),
    )


@pytest.mark.parametrize(
    "active, task",
    [(False, send_confirmation_email), (True, send_account_exists_email)],
    ids=["never confirmed", "confirmed"],
)
@pytest.mark.parametrize("spelling", ["taken@example.com", "Taken@EXAMPLE.com"])
def test_existing_address_answers_like_a_new_one_changes_nothing_and_emails_the_owner(active, task, spelling):
    existing = user_in_state("taken@example.com", active=active)
    before = User.objects.values().get(pk=existing.pk)

    new_answer = _answer(Client(), "fresh@example.com")
    Job.objects.all().delete()
    taken_answer = _answer(Client(), spelling)

    assert taken_answer == new_answer
    assert User.objects.values().get(pk=existing.pk) == before
    assert authenticate(username="taken@example.com", password=PASSWORD) == (existing if active else None)
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert list(Job.objects.values_list("task_path", "args")) == [
        (task.module_path, [existing.pk, "taken@example.com"])
    ]


def test_signup_over_the_address_budget_answers_alike_and_sends_nothing(settings):
    settings.RATE_LIMIT_NOTICE = "1/h"
    user_in_state("taken@example.com", active=True)

    answers = [
        _answer(Client(), email) for email in ("fresh@example.com", "fresh@example.com", "taken@example.com")
    ]
    answers += [_answer(Client(), "taken@example.com")]

    assert len(set(answers)) == 1
    assert sorted(Job.objects.values_list("label", flat=True)) == ["fresh@example.com", "taken@example.com"]


def test_get_and_post_only(client):
    assert client.put(reverse("accounts:signup")).status_code == 405


def test_any_spelling_of_a_taken_address_finds_its_account(client):
    """Rows hold the canonical form (accounts/migrations/0002 made the older ones so): lookups are exact."""
    taken = user_in_state("ada@example.com", active=False)

    signup(client, "ADA@Example.COM")
    client.post(reverse("accounts:resend"), {"email": "Ada@EXAMPLE.com"})

    assert User.objects.count() == 1
    assert list(Job.objects.order_by("pk").values_list("args", flat=True)) == [
        [taken.pk, taken.email],
        [taken.email],
    ]
