"""The account emails as tasks: each goes to the address it was queued for, or to nobody."""

import pytest

from accounts.tasks import send_account_exists_email, send_confirmation_email, send_password_reset_email
from jobs.models import Job
from jobs.results import load_task
from jobs.worker import tracking
from jobs.worker.actors import run_task
from jobs.worker.mail import JOB_HEADER
from tests.support.factories import enqueue_confirmation, make_job, make_user

pytestmark = pytest.mark.django_db

Status = Job.Status
TASKS = [send_confirmation_email, send_account_exists_email, send_password_reset_email]
TASK_IDS = [task.name for task in TASKS]


def job_of(task, user):
    """A queued job of ``task`` for ``user``'s address, as ``task.enqueue(user.pk, user.email)`` records it."""
    return make_job(user=user, task_path=task.module_path)


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_each_account_email_goes_to_its_address_naming_its_job(task, mailoutbox):
    job = job_of(task, make_user("tasks@example.com"))

    run_task(job.pk)

    job.refresh_from_db()
    [sent] = mailoutbox
    assert job.status == Status.SUCCEEDED and job.return_value
    assert sent.to == ["tasks@example.com"] and sent.subject
    assert sent.message()[JOB_HEADER] == str(job.pk)


def assert_failed_at_once(job, error_class, why):
    """``job`` failed on its first attempt with ``error_class``, and says ``why``."""
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempt_count == 1
    assert why in job.last_error
    assert job.attempts.get().error_class == error_class


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_a_job_whose_account_changed_address_fails_at_once_and_sends_nothing(task, mailoutbox):
    user = make_user("old@example.com")
    job = job_of(task, user)
    user.email = "new@example.com"
    user.save()

    run_task(job.pk)

    assert_failed_at_once(
        job, "accounts.emails.RecipientChanged", "address changed after this email was queued"
    )
    assert mailoutbox == []


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_a_job_whose_account_was_deleted_fails_at_once_and_sends_nothing(task, mailoutbox):
    user = make_user("deleted@example.com")
    job = job_of(task, user)
    user.delete()

    run_task(job.pk)

    assert_failed_at_once(job, "accounts.emails.AccountGone", "deleted@example.com has been deleted")
    assert mailoutbox == []


def test_a_confirmation_for_an_account_confirmed_meanwhile_sends_nothing(mailoutbox):
    user = make_user("confirmed@example.com")
    job = enqueue_confirmation(user=user)
    user.is_active = True
    user.save()

    run_task(job.pk)

    job.refresh_from_db()
    assert job.status == Status.SUCCEEDED and job.return_value == "not sent: the account is already confirmed"
    assert mailoutbox == []


def test_a_claimed_job_runs_its_task_with_one_query_for_the_account(django_assert_num_queries, mailoutbox):
    job = enqueue_confirmation(user=make_user("claimed@example.com"))
    claim = tracking.claim_job(job.pk, worker_id="w1", message_id="m1", first_hand=True)

    # The task and its arguments came with the claim, and building the email reads nothing more.
    with django_assert_num_queries(1):
        reply = load_task(claim.job.task_path).call(*claim.job.args, **claim.job.kwargs)

    assert reply and [sent.to for sent in mailoutbox] == [["claimed@example.com"]]
