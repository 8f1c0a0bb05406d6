"""Nobody takes over an address they do not hold: the mailbox owner sets the password.

An attacker signs up with the owner's address and a password of the
attacker's choosing, before or after the owner. Both confirmation emails reach
the owner's inbox; whichever the owner follows, the account ends up with the
owner's password, and the attacker's never logs in.
"""

import re

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse

from accounts.models import User
from jobs.models import Job
from jobs.worker.actors import run_task
from tests.support.accounts import confirm, signup

pytestmark = pytest.mark.django_db

VICTIM = "owner@example.com"
ATTACKER_PASSWORD = "attacker-Chosen-passw0rd"
OWNER_PASSWORD = "owner-Own-passw0rd-77"
LINK_RE = re.compile(r"https?://[^\s\"<>]+/accounts/activate/[^\s\"<>]+/")


def sent_links(mailoutbox, settings):
    """Send every queued job; the activation links that reached ``VICTIM``, oldest first."""
    for job in Job.objects.filter(status=Job.Status.QUEUED).order_by("id"):
        run_task(job.pk)
    links = []
    for message in mailoutbox:
        assert message.to == [VICTIM]
        links.append(LINK_RE.search(message.body).group(0).removeprefix(settings.SITE_URL))
    return links


@pytest.mark.parametrize("attacker_first", [True, False], ids=["attacker first", "owner first"])
@pytest.mark.parametrize("followed", ["newest", "oldest"])
def test_the_owner_ends_up_with_the_owners_password_whichever_email_is_followed(
    attacker_first, followed, mailoutbox, settings
):
    signups = [ATTACKER_PASSWORD, OWNER_PASSWORD] if attacker_first else [OWNER_PASSWORD, ATTACKER_PASSWORD]
    for password in signups:
        assert signup(Client(), VICTIM, password=password).status_code == 302
    links = sent_links(mailoutbox, settings)
    assert len(links) == 2, "every signup sends an email"

    owner = Client()
    response = confirm(owner, links[-1] if followed == "newest" else links[0], password=OWNER_PASSWORD)

    assert response.status_code == 302 and response["Location"] == reverse("accounts:welcome")
    assert owner.get(reverse("accounts:welcome")).status_code == 200
    assert authenticate(username=VICTIM, password=OWNER_PASSWORD) is not None
    assert authenticate(username=VICTIM, password=ATTACKER_PASSWORD) is None
    attacker = Client()
    attacker.post(reverse("accounts:login"), {"username": VICTIM, "password": ATTACKER_PASSWORD})
    assert "_auth_user_id" not in attacker.session


def test_the_other_link_dies_once_one_is_used(mailoutbox, settings):
    signup(Client(), VICTIM, password=ATTACKER_PASSWORD)
    signup(Client(), VICTIM, password=OWNER_PASSWORD)
    first, second = sent_links(mailoutbox, settings)
    confirm(Client(), second, password=OWNER_PASSWORD)

    late = confirm(Client(), first, password=ATTACKER_PASSWORD)

    assert late.status_code == 302 and late["Location"] == reverse("accounts:login")
    assert authenticate(username=VICTIM, password=OWNER_PASSWORD) is not None


def test_before_confirmation_nobody_logs_in_with_the_signup_password():
    signup(Client(), VICTIM, password=ATTACKER_PASSWORD)
    attacker = Client()

    response = attacker.post(reverse("accounts:login"), {"username": VICTIM, "password": ATTACKER_PASSWORD})

    assert response.status_code == 200 and "_auth_user_id" not in attacker.session
    assert not User.objects.get(email=VICTIM).is_active


def test_a_signup_after_confirmation_changes_nothing_and_notifies_the_owner(mailoutbox, settings):
    signup(Client(), VICTIM, password=OWNER_PASSWORD)
    [link] = sent_links(mailoutbox, settings)
    confirm(Client(), link, password=OWNER_PASSWORD)

    signup(Client(), VICTIM, password=ATTACKER_PASSWORD)
    run_task(Job.objects.latest("id").pk)

    notice = mailoutbox[-1]
    assert notice.to == [VICTIM] and "tried to sign up" in notice.subject
    assert "/accounts/password/reset/" in notice.body and not LINK_RE.search(notice.body)
    assert authenticate(username=VICTIM, password=OWNER_PASSWORD) is not None
    assert authenticate(username=VICTIM, password=ATTACKER_PASSWORD) is None
