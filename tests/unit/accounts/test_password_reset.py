"""Password reset: Django's views and tokens, the email a tracked job, one answer for every address."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.tasks import send_requested_password_reset
from jobs.models import Job
from jobs.worker.actors import run_task
from tests.support.accounts import PASSWORD, uid

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "brand-New-passw0rd-31"
RESET_LINK_RE = re.compile(r"https?://[^\s\"<>]+/accounts/password/reset/[^\s\"<>]+/[^\s\"<>]+/")


def ask_reset(email, client=None):
    return (client or Client()).post(reverse("accounts:password_reset"), {"email": email})


def reset_link(mailoutbox, settings):
    """Send the newest job; the reset link of the email it sent."""
    run_task(Job.objects.latest("id").pk)
    return RESET_LINK_RE.search(mailoutbox[-1].body).group(0).removeprefix(settings.SITE_URL)


def set_password(client, link, password=NEW_PASSWORD):
    """Follow a reset link as Django's view asks (it moves the token to the session), then POST."""
    page = client.get(link)
    assert page.status_code == 302
    return client.post(page["Location"], {"new_password1": password, "new_password2": password})


def answer(email):
    response = ask_reset(email, client := Client())
    page = client.get(response["Location"])
    return response.status_code, response["Location"], page.status_code, page.text.replace(email, "ADDRESS")


def test_login_page_offers_forgot_password(client):
    response = client.get(reverse("accounts:login"))

    assert f'href="{reverse("accounts:password_reset")}"' in response.text


def test_reset_sets_the_new_password_logs_in_and_the_link_works_once(active_user, mailoutbox, settings):
    assert ask_reset("Active@Example.com").status_code == 302
    [job] = Job.objects.all()
    assert (job.task_path, job.args) == (send_requested_password_reset.module_path, [active_user.email])
    link = reset_link(mailoutbox, settings)
    client = Client()

    response = set_password(client, link)

    assert response.status_code == 302 and response["Location"] == reverse("accounts:welcome")
    assert client.session["_auth_user_id"] == str(active_user.pk)
    assert authenticate(username=active_user.email, password=NEW_PASSWORD) is not None
    assert authenticate(username=active_user.email, password=PASSWORD) is None
    again = Client().get(link, follow=True)
    assert "This link does not work" in again.text


def test_known_and_unknown_addresses_get_the_same_answer(active_user):
    known, unknown = answer(active_user.email), answer("nobody@example.com")

    assert known == unknown
    assert sorted(Job.objects.values_list("label", flat=True)) == [active_user.email, "nobody@example.com"]
    assert send_requested_password_reset.call("nobody@example.com").startswith("not sent")


def test_reset_of_a_never_confirmed_account_confirms_it(inactive_user, mailoutbox, settings):
    ask_reset(inactive_user.email)
    link = reset_link(mailoutbox, settings)

    set_password(Client(), link)

    user = User.objects.get(pk=inactive_user.pk)
    assert user.is_active and user.activated_at is not None and user.check_password(NEW_PASSWORD)


def test_account_deactivated_by_staff_gets_no_reset_email(active_user, mailoutbox):
    User.objects.filter(pk=active_user.pk).update(is_active=False)

    assert ask_reset(active_user.email).status_code == 302
    [job] = Job.objects.all()  # queued as for any address; its task finds no account to send to
    assert send_requested_password_reset.call(*job.args).startswith("not sent")
    assert mailoutbox == []


def test_link_older_than_the_reset_timeout_is_refused(active_user, settings):
    class IssuedHoursAgo(PasswordResetTokenGenerator):
        def _now(self):
            return datetime.now() - timedelta(hours=2)

    settings.PASSWORD_RESET_TIMEOUT = 3600
    link = reverse(
        "accounts:password_reset_confirm",
        kwargs={"uidb64": uid(active_user), "token": IssuedHoursAgo().make_token(active_user)},
    )

    response = Client().get(link, follow=True)

    assert response.status_code == 200 and "This link does not work" in response.text


def test_per_address_limit_answers_known_and_unknown_alike(active_user, settings):
    settings.RATE_LIMIT_RESET = "1/h"
    ask_reset(active_user.email)
    ask_reset("nobody@example.com")

    known, unknown = answer(active_user.email), answer("nobody@example.com")

    assert known == unknown
    assert Job.objects.count() == 2  # the first request for each address; none over the limit


@pytest.mark.parametrize(
    "email", ["", "not-an-address", "a@b\nBcc: x@example.com", "x" * 300 + "@example.com"]
)
def test_bad_address_is_a_form_error_and_sends_nothing(client, email):
    response = ask_reset(email, client)

    assert response.status_code == 200 and response.context["form"].errors["email"]
    assert not Job.objects.exists()
