"""The hand-off thread: signup answers without waiting on Redis, and nothing is lost if Redis is away."""

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from jobs.enqueue import handoff
from jobs.models import Job
from tests.support.factories import enqueue_confirmation, make_user
from tests.support.publishing import published, tasks_publishing
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-Horse-battery-9"


def queued_job_ids(broker):
    import json

    messages = broker.client.hvals(f"{broker.namespace}:emails.msgs")
    return sorted(json.loads(m)["args"][0] for m in messages)


def test_a_signup_answers_and_the_thread_sends_its_message(settings, broker):
    settings.TASKS = tasks_publishing(background=True)
    settings.SERVER_TIMING = True

    response = Client().post(
        reverse("accounts:signup"), {"email": "ada@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )

    assert response.status_code == 302
    assert "broker" not in response["Server-Timing"]  # the request did not wait on Redis
    job = Job.objects.get()
    wait_until(lambda: queued_job_ids(broker) == [job.pk], 10, "the message handed to the broker")
    wait_until(lambda: published(job), 10, "the publish noted in Redis, just after it")
    assert Job.objects.get(pk=job.pk).enqueued_at is None  # nothing written back to the row


def test_with_redis_unreachable_the_job_stays_unsent_for_the_relay(settings, broker, monkeypatch):
    from redis.exceptions import ConnectionError as RedisConnectionError

    attempts = []

    def unreachable(message, *, delay=None):
        attempts.append(message.message_id)
        raise RedisConnectionError("Connection refused")

    monkeypatch.setattr(broker, "enqueue", unreachable)
    with transaction.atomic():
        job = enqueue_confirmation(user=make_user("away@example.com"), background=True)
    wait_until(lambda: attempts, 10, "the hand-off thread tried")
    handoff.sender.stop()  # what it was handed is done

    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.enqueued_at is None and job.message_id == ""


def test_stop_sends_what_was_handed_off_first(broker):
    with transaction.atomic():
        jobs = [enqueue_confirmation(user=make_user(f"h{n}@example.com"), background=True) for n in range(5)]

    handoff.sender.stop()

    assert queued_job_ids(broker) == sorted(job.pk for job in jobs)
    assert all(published(job) for job in Job.objects.all())


def test_nothing_is_handed_off_when_the_transaction_rolls_back(broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue_confirmation(user=make_user("rolled@example.com"), background=True)
        raise RuntimeError("rollback")
    handoff.sender.stop()

    assert queued_job_ids(broker) == [] and not Job.objects.exists()
