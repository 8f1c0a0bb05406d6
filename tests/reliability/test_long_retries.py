"""A retry with a long back-off waits on the job row, not unacknowledged in a worker (dramatiq #827)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jobs.errors import LONGEST_HELD_RETRY_MS
from jobs.models import Attempt, Job
from jobs.selectors import broker_queue_stats
from tests.support.checks import assert_exactly_one_email_each
from tests.support.factories import enqueue_confirmation, make_user
from tests.support.waiting import wait_until

pytestmark = pytest.mark.reliability

Status = Job.Status


def test_a_long_back_off_is_scheduled_on_the_job_row_and_sent_by_the_relay_when_due(
    live_env, smtp_sink, processes
):
    # Back-offs of 20-40 minutes: past RabbitMQ's consumer_timeout (30 min) if a worker held them.
    live_env.update(JOBS_MIN_BACKOFF_MS="1200000", JOBS_MAX_BACKOFF_MS="2400000")
    smtp_sink.fail_next(1, "421 4.7.0 Try again later")
    processes.worker(live_env)  # no scheduler: the workers' relay sends it when due
    with transaction.atomic():
        job = enqueue_confirmation(user=make_user("later@example.com"))

    def retrying():
        row = Job.objects.get(pk=job.pk)
        return row if row.status == Status.RETRYING else None

    row = wait_until(retrying, 20, "the first attempt failed")
    assert row.message_id == ""  # no message on the broker: the row holds the retry
    assert row.due_at - row.last_attempt_at > timedelta(milliseconds=LONGEST_HELD_RETRY_MS)

    def nothing_held():
        queues = broker_queue_stats()
        return (queues["queue_depth"], queues["delayed"], queues["in_progress"] or 0) == (0, 0, 0)

    # The actor raised nothing for Retries: once the message is acknowledged, nothing waits on the broker.
    wait_until(nothing_held, 5, "the message acknowledged, no delayed copy")

    Job.objects.filter(pk=job.pk).update(due_at=timezone.now())  # as if the back-off had passed

    smtp_sink.wait_for(1, timeout=20)  # the relay sweep (every second in tests) sent it
    assert_exactly_one_email_each(smtp_sink, ["later@example.com"])
    outcomes = list(Attempt.objects.filter(job=job).values_list("outcome", flat=True))
    assert outcomes == [Attempt.Outcome.RETRY, Attempt.Outcome.SUCCEEDED]
