"""The confirmation email: text and HTML, one recipient, a one-line subject, a link that activates."""

import re

import pytest
from django.test import Client

from accounts.emails import AccountGone, addressee, confirmation_message
from accounts.models import User
from jobs.models import Job
from jobs.worker.actors import run_task
from tests.support.accounts import confirm, signup

pytestmark = pytest.mark.django_db

LINK_RE = re.compile(r"https?://[^\s\"<>]+/accounts/activate/[^\s\"<>]+/")


def html_of(message):
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def test_text_body_and_html_alternative_carry_the_same_absolute_link(inactive_user, settings):
    settings.SITE_URL = "https://herald.example.org"

    message = confirmation_message(inactive_user, inactive_user.email)

    [text_link] = set(LINK_RE.findall(message.body))
    assert text_link.startswith("https://herald.example.org/accounts/activate/")
    assert set(LINK_RE.findall(html_of(message))) == {text_link}
    mime = message.message()
    assert mime.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in mime.get_payload()] == ["text/plain", "text/html"]


def test_sender_recipient_and_subject(inactive_user, settings):
    settings.DEFAULT_FROM_EMAIL = "Herald Test <hello@herald.example.org>"

    message = confirmation_message(inactive_user, inactive_user.email)

    assert message.from_email == "Herald Test <hello@herald.example.org>"
    assert message.recipients() == ["waiting@example.com"]
    assert message.subject == "Confirm your email address for Herald"
    mime = message.message()
    assert mime["To"] == "waiting@example.com" and mime["Cc"] is None and mime["Bcc"] is None


def test_multi_line_subject_template_is_sent_as_one_line(inactive_user, settings, tmp_path):
    (tmp_path / "emails").mkdir()
    (tmp_path / "emails" / "confirmation_subject.txt").write_text("Confirm\r\nBcc: x@example.com\n\n  now\n")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]

    message = confirmation_message(inactive_user, inactive_user.email)

    assert message.subject == "Confirm Bcc: x@example.com now"
    mime = message.message()
    assert mime["Bcc"] is None and message.recipients() == ["waiting@example.com"]
    assert "\n" not in mime["Subject"] and "\r" not in mime["Subject"]


def test_header_injection_attempt_leaves_no_user_and_no_email(client, mailoutbox):
    signup(client, "a@example.com\r\nBcc: x@example.com")

    assert not User.objects.exists() and not Job.objects.exists() and mailoutbox == []


def test_email_of_a_deleted_user_has_no_addressee(inactive_user):
    user_id, address = inactive_user.pk, inactive_user.email
    inactive_user.delete()

    with pytest.raises(AccountGone):
        addressee(user_id, address)


def test_signup_then_the_sent_link_activates_the_account(client, mailoutbox, settings):
    signup(client, "ada@example.com")
    job = Job.objects.get()

    run_task(job.pk)

    [sent] = mailoutbox
    assert sent.to == ["ada@example.com"]
    [link] = set(LINK_RE.findall(sent.body))
    response = confirm(Client(), link.removeprefix(settings.SITE_URL), follow=True)
    assert response.status_code == 200 and "Your email address is confirmed" in response.text
    assert User.objects.get(email="ada@example.com").is_active
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED
    assert sent.extra_headers["X-Herald-Job"] == str(job.pk)
