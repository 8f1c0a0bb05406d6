"""What a job sends is registered per kind; a job never sends to an address its user no longer has."""

import pytest

from jobs import tracking
from jobs.actors import send_email
from jobs.kinds import build_email
from jobs.models import Job
from tests.jobs.factories import enqueue_confirmation, make_job, make_user

pytestmark = pytest.mark.django_db

Status = Job.Status


def test_every_kind_has_a_registered_email():
    user = make_user("kinds@example.com")

    for kind in Job.Kind:
        message = build_email(make_job(user=user, kind=kind))
        assert message.to == ["kinds@example.com"] and message.subject


def test_a_job_whose_user_changed_address_fails_at_once_and_sends_nothing(mailoutbox):
    user = make_user("old@example.com")
    job = enqueue_confirmation(user=user)
    user.email = "new@example.com"
    user.save()

    with pytest.raises(Exception, match="address changed"):
        send_email(job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts == 1
    assert "address changed after this email was queued" in job.last_error
    assert job.attempt_set.get().error_class == "jobs.errors.RecipientChanged"
    assert mailoutbox == []


def test_a_job_of_an_unknown_kind_fails_at_once(mailoutbox):
    job = make_job(email="odd@example.com", kind="carrier_pigeon")

    with pytest.raises(Exception, match="No email is registered"):
        send_email(job.pk)

    job.refresh_from_db()
    assert job.status == Status.FAILED and mailoutbox == []


def test_a_claimed_job_builds_its_email_without_another_query(django_assert_num_queries):
    job = enqueue_confirmation(user=make_user("claimed@example.com"))
    claim = tracking.claim_job(job.pk, worker_id="w1", message_id="m1", first_hand=True)

    with django_assert_num_queries(0):
        message = build_email(claim.job)

    assert message.to == ["claimed@example.com"]
