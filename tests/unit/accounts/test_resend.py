"""The resend page: one answer and one job for every address; the task emails only an unconfirmed account."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tasks import send_requested_confirmation
from jobs.models import Job

pytestmark = pytest.mark.django_db


def resend(email, client=None):
    client = client or Client()
    response = client.post(reverse("accounts:resend"), {"email": email})
    page = client.get(response["Location"]) if response.status_code == 302 else response
    return response, page


def answer(email):
    response, page = resend(email)
    return (
        response.status_code,
        response.get("Location"),
        page.status_code,
        page.text.replace(email, "ADDRESS"),
    )


def test_resend_page_has_an_email_field(client):
    response = client.get(reverse("accounts:resend"))

    assert response.status_code == 200 and list(response.context["form"].fields) == ["email"]


def test_unconfirmed_account_gets_a_new_queued_job(inactive_user, mailoutbox):
    response, page = resend(inactive_user.email)

    assert response.status_code == 302 and response["Location"] == reverse("accounts:resend_done")
    assert "Check your inbox" in page.text and inactive_user.email in page.text
    [job] = Job.objects.all()
    assert (job.task_path, job.args, job.status) == (
        send_requested_confirmation.module_path,
        [inactive_user.email],
        Job.Status.QUEUED,
    )
    send_requested_confirmation.call(*job.args)
    assert [message.to for message in mailoutbox] == [[inactive_user.email]]


def test_any_spelling_of_the_address_finds_the_account(inactive_user):
    resend("  WAITING@Example.com ")

    assert Job.objects.get().args == [inactive_user.email]


def test_unknown_active_and_inactive_addresses_get_the_same_answer(inactive_user, active_user):
    answers = {
        email: answer(email) for email in ["nobody@example.com", active_user.email, inactive_user.email]
    }

    assert len(set(answers.values())) == 1, answers
    assert sorted(Job.objects.values_list("label", flat=True)) == sorted(answers)


@pytest.mark.parametrize("email", ["nobody@example.com", "active@example.com"])
def test_the_task_emails_nobody_but_a_never_confirmed_account(email, active_user, mailoutbox):
    assert send_requested_confirmation.call(email).startswith("not sent")
    assert mailoutbox == []


def test_invalid_address_is_a_form_error_and_creates_nothing(client):
    response = client.post(reverse("accounts:resend"), {"email": "not an address"})

    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Enter a valid email address."]
    assert not Job.objects.exists()


def test_asking_again_and_again_piles_up_at_most_a_few_unsent_emails(client, inactive_user):
    for _ in range(6):
        assert client.post(reverse("accounts:resend"), {"email": inactive_user.email}).status_code == 302

    assert Job.objects.filter(args__0=inactive_user.email, status=Job.Status.QUEUED).count() == 3
