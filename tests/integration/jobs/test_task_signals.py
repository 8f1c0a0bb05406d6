"""The task signals of a job failed as poison: its dead worker judged by the liveness kept in Redis."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.enqueue import outbox
from jobs.errors import WorkerLost
from jobs.models import Job
from jobs.worker import takeover, tracking
from tests.support import taskfns
from tests.support.inprocess import drain
from tests.support.task_signals import of

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_job_failed_as_poison_is_finished_failed_with_its_lost_attempt(
    heard, broker, in_process_worker, settings, monkeypatch
):
    monkeypatch.setattr(takeover, "MAX_LOST_ATTEMPTS", 1)
    job = Job.objects.create(task_path=taskfns.add.module_path, args=[1, 2], due_at=timezone.now())
    tracking.claim_job(job.pk, worker_id="died-running-it", message_id="m-1")
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 1000)
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)

    outbox.publish(job.pk, "default")
    drain(broker, in_process_worker)

    [done] = of(heard, str(job.result_id), "started", "finished")
    assert (done.name, done.status, done.errors) == ("finished", "FAILED", [WorkerLost])
    assert Job.objects.get(pk=job.pk).status == Job.Status.FAILED
