"""Activation links: a page that confirms by POST, valid once, expiring; every bad link a clear 400 page."""

import base64
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse

from accounts.emails import activation_url
from accounts.models import User
from accounts.tasks import send_requested_confirmation
from accounts.tokens import ActivationTokenGenerator, activation_token
from jobs.models import Job
from tests.support.accounts import CHOSEN, PASSWORD, activate_path, confirm, link_of, uid, user_in_state

pytestmark = pytest.mark.django_db

RESEND_LINK = 'href="/accounts/resend/"'


class IssuedHoursAgo(ActivationTokenGenerator):
    """Makes tokens as the site did ``hours`` ago."""

    def __init__(self, hours):
        super().__init__()
        self.hours = hours

    def _now(self):
        return datetime.now() - timedelta(hours=self.hours)


def assert_bad_link_page(response, heading="This link does not work"):
    assert response.status_code == 400
    assert heading in response.text
    assert RESEND_LINK in response.text


def test_opening_the_link_shows_the_confirm_page_and_changes_nothing(client, inactive_user):
    response = client.get(link_of(inactive_user))

    assert response.status_code == 200
    assert "Confirm your email address" in response.text and inactive_user.email in response.text
    assert 'method="post"' in response.text and 'name="password1"' in response.text
    assert "no-cache" in response["Cache-Control"]
    assert not User.objects.get(pk=inactive_user.pk).is_active
    assert "_auth_user_id" not in client.session


def test_confirming_sets_the_password_typed_there_logs_in_and_says_so(client, inactive_user):
    response = confirm(client, link_of(inactive_user), follow=True)

    assert response.redirect_chain == [(reverse("accounts:welcome"), 302)]
    assert "Your email address is confirmed" in response.text
    user = User.objects.get(pk=inactive_user.pk)
    assert user.is_active and user.activated_at is not None
    assert user.check_password(CHOSEN) and not user.check_password(PASSWORD)
    assert client.session["_auth_user_id"] == str(inactive_user.pk)


def test_confirm_page_refuses_a_weak_or_mismatched_password_and_changes_nothing(client, inactive_user):
    link = link_of(inactive_user)
    weak = confirm(client, link, password="123")
    mismatched = client.post(link, {"password1": CHOSEN, "password2": CHOSEN + "x"})

    assert weak.status_code == 200 and "This password is too short" in weak.text
    assert mismatched.status_code == 200 and "didn’t match" in mismatched.text
    assert not User.objects.get(pk=inactive_user.pk).is_active


def test_second_use_does_not_activate_again_and_sends_to_login(inactive_user):
    link = link_of(inactive_user)
    confirm(Client(), link)
    first_activation = User.objects.get(pk=inactive_user.pk).activated_at

    response = confirm(Client(), link, password="Another-Passw0rd-42", follow=True)

    assert response.redirect_chain == [(reverse("accounts:login"), 302)]
    assert "already active" in response.text
    user = User.objects.get(pk=inactive_user.pk)
    assert user.activated_at == first_activation and user.check_password(CHOSEN)
    assert "_auth_user_id" not in response.wsgi_request.session


def test_every_earlier_link_dies_once_one_is_used(inactive_user):
    older = link_of(inactive_user, IssuedHoursAgo(5))
    newer = link_of(inactive_user)
    assert older != newer

    confirm(Client(), older)
    response = Client().get(newer)

    assert response.status_code == 302 and response["Location"] == reverse("accounts:login")


def test_link_older_than_the_activation_timeout_is_expired(client, inactive_user, settings):
    settings.ACCOUNT_ACTIVATION_TIMEOUT = 3600
    link = link_of(inactive_user, IssuedHoursAgo(2))

    response = client.get(link)

    assert_bad_link_page(response, heading="This link has expired")
    assert not User.objects.get(pk=inactive_user.pk).is_active


def test_same_old_link_works_while_within_the_timeout(client, inactive_user, settings):
    settings.ACCOUNT_ACTIVATION_TIMEOUT = 3 * 3600
    response = confirm(client, link_of(inactive_user, IssuedHoursAgo(2)))

    assert response.status_code == 302
    assert User.objects.get(pk=inactive_user.pk).is_active


def tampered(token):
    stamp, digest = token.split("-")
    return f"{stamp}-{digest[:-1]}{'a' if digest[-1] != 'a' else 'b'}"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(tampered, id="tampered hash"),
        pytest.param(lambda t: t[:-3], id="truncated"),
        pytest.param(lambda t: t.split("-")[0], id="timestamp only"),
        pytest.param(lambda t: t.split("-")[0] + "-", id="empty hash"),
        pytest.param(lambda t: "zzzzzzzzzzzzzz-" + t.split("-")[1], id="huge timestamp"),
        pytest.param(lambda t: "!!-" + t.split("-")[1], id="non base36 timestamp"),
        pytest.param(lambda t: t + "-" + t, id="two dashes"),
        pytest.param(lambda t: "x" * 5000, id="5000 chars"),
        pytest.param(lambda t: "é-ü", id="unicode"),
    ],
)
def test_bad_token_is_a_clear_400_page_and_activates_nothing(client, inactive_user, make_token):
    token = make_token(activation_token.make_token(inactive_user))

    assert_bad_link_page(client.get(activate_path(uid(inactive_user), token)))
    assert_bad_link_page(confirm(client, activate_path(uid(inactive_user), token)))
    assert not User.objects.get(pk=inactive_user.pk).is_active


@pytest.mark.parametrize(
    "uidb64",
    [
        pytest.param("!!!", id="not base64"),
        pytest.param("A", id="one char"),
        pytest.param(uid(-1), id="negative"),
        pytest.param(uid(0), id="zero"),
        pytest.param(uid(2**63), id="beyond bigint"),
        pytest.param(uid("9" * 5000), id="5000 digits"),
        pytest.param(uid("1" * 20), id="20 digits"),
        pytest.param(base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(), id="not utf-8"),
        pytest.param(uid("abc"), id="not a number"),
        pytest.param("A" * 20000, id="20000 chars"),
        pytest.param("ü", id="unicode"),
    ],
)
def test_malformed_uidb64_is_a_clear_400_page(client, inactive_user, uidb64):
    token = activation_token.make_token(inactive_user)

    assert_bad_link_page(client.get(activate_path(uidb64, token)))
    assert not User.objects.get(pk=inactive_user.pk).is_active


def test_unknown_user_is_a_clear_400_page(client, inactive_user):
    token = activation_token.make_token(inactive_user)

    assert_bad_link_page(client.get(activate_path(uid(inactive_user.pk + 1000), token)))


def test_token_of_another_user_does_not_activate(client, inactive_user):
    other = user_in_state("other@example.com", active=False)

    response = client.get(activate_path(uid(inactive_user), activation_token.make_token(other)))

    assert_bad_link_page(response)
    assert not User.objects.filter(is_active=True).exists()


def test_password_reset_token_does_not_activate(client, inactive_user):
    response = client.get(link_of(inactive_user, default_token_generator))

    assert_bad_link_page(response)
    assert not User.objects.get(pk=inactive_user.pk).is_active


def test_activation_token_is_not_a_password_reset_token(inactive_user):
    assert not default_token_generator.check_token(inactive_user, activation_token.make_token(inactive_user))


def test_address_change_kills_the_link(client, inactive_user):
    link = link_of(inactive_user)
    inactive_user.email = "moved@example.com"
    inactive_user.save()

    assert_bad_link_page(client.get(link))
    assert_bad_link_page(confirm(client, link))


def test_made_up_token_does_not_tell_whether_an_account_is_active(inactive_user, active_user):
    answers = [
        Client().get(activate_path(uid(user), tampered(activation_token.make_token(user))))
        for user in (inactive_user, active_user)
    ]

    assert [a.status_code for a in answers] == [400, 400]
    assert answers[0].text == answers[1].text


def test_account_deactivated_by_staff_is_not_reactivated_by_its_old_link(client, inactive_user):
    link = link_of(inactive_user)
    confirm(client, link)
    User.objects.filter(pk=inactive_user.pk).update(is_active=False)

    confirm(Client(), link)
    Client().post(reverse("accounts:resend"), {"email": inactive_user.email})

    assert not User.objects.get(pk=inactive_user.pk).is_active
    [job] = Job.objects.all()  # queued as for any address; its task finds no account to send to
    assert send_requested_confirmation.call(*job.args).startswith("not sent")


def test_link_in_the_email_is_the_activation_url(client, inactive_user, settings):
    settings.SITE_URL = "https://herald.example.org"
    url = activation_url(inactive_user)

    assert url.startswith("https://herald.example.org/accounts/activate/")
    response = confirm(client, url.removeprefix(settings.SITE_URL))
    assert response.status_code == 302 and User.objects.get(pk=inactive_user.pk).is_active


def test_token_dies_with_the_state_it_was_made_for(inactive_user):
    token = activation_token.make_token(inactive_user)
    assert activation_token.check_token(inactive_user, token)

    inactive_user.is_active = True
    assert not activation_token.check_token(inactive_user, token)
    inactive_user.is_active = False
    inactive_user.activated_at = datetime(2026, 1, 1).astimezone()
    assert not activation_token.check_token(inactive_user, token)
