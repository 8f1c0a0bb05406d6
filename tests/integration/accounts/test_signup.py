"""Signup puts its message on the real Redis queue, and only when the transaction commits."""

import pytest
from dramatiq import Message

from jobs.enqueue.outbox import publish
from jobs.models import Job
from tests.support.accounts import signup

pytestmark = pytest.mark.django_db


def queued_messages(broker, queue="emails"):
    """(message id, actor, args) of every message waiting in the real Redis queue."""
    stored = broker.client.hvals(f"{broker.namespace}:{queue}.msgs")
    return [(m.message_id, m.actor_name, tuple(m.args)) for m in map(Message.decode, stored)]


def test_message_goes_to_the_broker_only_when_the_transaction_commits(
    client, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        signup(client, "ada@example.com")

    job = Job.objects.get()
    assert job.message_id  # chosen with the row, so the publish writes nothing back
    assert queued_messages(broker) == []
    [callback] = callbacks
    assert callback.func is publish and callback.args == (job.pk, "emails")

    callback()

    job.refresh_from_db()
    assert job.enqueued_at is None  # only the relay notes a send
    assert queued_messages(broker) == [(job.message_id, "run_task", (job.pk,))]


@pytest.mark.django_db(transaction=True)
def test_committed_signup_puts_the_message_on_the_broker(client, broker):
    signup(client, "ada@example.com")

    job = Job.objects.get()
    assert queued_messages(broker) == [(job.message_id, "run_task", (job.pk,))]
