"""A job stays on its own queue: the relay, a retry scheduled on the row and a take-over publish to ``Job.queue_name``.

So a worker serving only some queues (``rundramatiq --queues emails``) gets
back exactly the jobs it serves.
"""

from datetime import timedelta

from django.utils import timezone

from jobs.enqueue import outbox
from jobs.models import Job
from tests.support.factories import make_job
from tests.support.inprocess import queued

Status = Job.Status


def test_relayed_jobs_go_back_to_their_own_queue(db, broker, settings):
    now = timezone.now()
    stale = now - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 500)
    never_sent = make_job("never@example.com", created_at=now)
    Job.objects.filter(pk=never_sent.pk).update(created_at=now - timedelta(minutes=1))
    make_job("retry@example.com", status=Status.RETRYING, attempt_count=1, due_at=now - timedelta(seconds=1))
    make_job("dead@example.com", status=Status.RUNNING, worker_id="gone", claimed_at=stale, enqueued_at=stale)
    assert set(Job.objects.values_list("queue_name", flat=True)) == {"emails"}

    assert len(outbox.relay_unsent()) == 3

    assert (queued(broker, "emails"), queued(broker, "default")) == (3, 0)
