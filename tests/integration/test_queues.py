"""Queues per worker: a worker started with ``--queues emails`` serves that queue and no other.

Real parts: gunicorn takes the signup, ``manage.py rundramatiq --queues
emails`` sends its email through an aiosmtpd server, then a worker serving
every queue runs the job the email worker left on ``default``; the suite's
redis-server, or rabbitmq-server with ``--broker rabbitmq``.
"""

import pytest

from jobs.models import Job
from tests.support import taskfns
from tests.support.http import Client
from tests.support.inprocess import queued
from tests.support.publishing import published
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

ADDRESS = "mail-only@example.com"


def test_an_email_worker_sends_the_signups_email_and_leaves_a_default_job_to_a_default_worker(
    live_env, smtp_sink, processes, broker
):
    web = processes.web(live_env)
    processes.worker(live_env, name="email-worker", queues=["emails"])
    waiting = taskfns.add.enqueue(2, 3)  # on "default", published before the signup's email
    assert published(Job.objects.get(result_id=waiting.id))

    assert Client(web.url).signup(ADDRESS).status == 302
    [sent] = smtp_sink.wait_for(1, timeout=30)

    assert sent["to"] == [ADDRESS]
    wait_until(
        lambda: Job.objects.filter(label=ADDRESS, status=Job.Status.SUCCEEDED).exists(),
        30,
        "email job recorded",
    )
    left = Job.objects.get(result_id=waiting.id)
    assert (left.status, left.attempt_count, left.queue_name) == (Job.Status.QUEUED, 0, "default")
    assert queued(broker, "default") == 1  # its message waits on the broker, untouched

    processes.worker(live_env, name="default-worker")
    wait_until(
        lambda: Job.objects.get(result_id=waiting.id).status == Job.Status.SUCCEEDED,
        30,
        "the default job ran",
    )
    waiting.refresh()
    assert waiting.return_value == 5
    # Acknowledged once recorded (Redis counts a message until then); sent once, by the test.
    wait_until(lambda: queued(broker, "default") == 0, 10, "the default job's message acknowledged")
    assert Job.objects.get(result_id=waiting.id).enqueued_at is None  # never sent again by the relay
