"""The framework's task signals on Herald's backend: enqueue() sends task_enqueued, the worker started and finished."""

import logging
import threading
import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import OperationalError
from django.utils import timezone

from jobs import task_signals
from jobs.backends import DramatiqTaskBackend
from jobs.enqueue import outbox
from jobs.errors import WorkerLost
from jobs.logs import logging_config
from jobs.models import Job
from jobs.tasks_api import task_enqueued, task_finished, task_started
from jobs.worker import tracking
from tests.support import taskfns
from tests.support.inprocess import drain

pytestmark = pytest.mark.django_db(transaction=True)

SIGNALS = {"enqueued": task_enqueued, "started": task_started, "finished": task_finished}


@pytest.fixture
def heard():
    """Each signal sent, in order: its name, sender and what its result said."""
    events, lock = [], threading.Lock()

    def listener(name):
        def receive(sender, task_result, **kwargs):
            with lock:
                events.append(
                    SimpleNamespace(
                        name=name,
                        sender=sender,
                        id=task_result.id,
                        status=str(task_result.status),
                        worker_ids=list(task_result.worker_ids),
                        errors=[error.exception_class for error in task_result.errors],
                        return_value=task_result.return_value if task_result.status == "SUCCESSFUL" else None,
                    )
                )

        return receive

    receivers = {name: listener(name) for name in SIGNALS}
    for name, receiver in receivers.items():
        SIGNALS[name].connect(receiver)
    yield events
    for name, receiver in receivers.items():
        SIGNALS[name].disconnect(receiver)


def of(events, result_id, *names):
    return [event for event in events if event.id == result_id and event.name in names]


def test_enqueue_sends_task_enqueued_with_the_ready_result(heard, broker):
    result = taskfns.add.enqueue(2, 3)

    [event] = of(heard, result.id, "enqueued")
    assert (event.sender, event.status, event.worker_ids) == (DramatiqTaskBackend, "READY", [])


def test_a_task_that_succeeds_is_started_then_finished_by_the_worker(heard, broker, in_process_worker):
    result = taskfns.add.enqueue(2, 40)
    drain(broker, in_process_worker)

    started, done = of(heard, result.id, "started", "finished")
    assert (started.name, started.sender, started.status) == ("started", DramatiqTaskBackend, "RUNNING")
    assert started.worker_ids == [broker.broker_id]
    assert (done.name, done.sender, done.status, done.return_value) == (
        "finished",
        DramatiqTaskBackend,
        "SUCCESSFUL",
        42,
    )
    assert done.worker_ids == [broker.broker_id] and done.errors == []


def test_a_task_that_fails_is_finished_failed_with_its_error(heard, broker, in_process_worker):
    result = taskfns.refuse.enqueue("nope")
    drain(broker, in_process_worker)

    started, done = of(heard, result.id, "started", "finished")
    assert (started.status, done.status, done.errors) == ("RUNNING", "FAILED", [ValueError])


def test_a_retried_task_is_started_at_each_attempt_and_finished_once(heard, broker, in_process_worker):
    result = taskfns.flaky.enqueue(f"flaky-{uuid.uuid4()}", 2)
    drain(broker, in_process_worker)

    events = of(heard, result.id, "started", "finished")
    assert [event.name for event in events] == ["started", "started", "started", "finished"]
    # Each start reads the attempts before it.
    assert [event.errors for event in events[:3]] == [
        [],
        [ConnectionError],
        [ConnectionError, ConnectionError],
    ]
    assert [len(event.worker_ids) for event in events[:3]] == [1, 2, 3]
    assert (events[-1].status, events[-1].return_value, events[-1].errors) == (
        "SUCCESSFUL",
        3,
        [ConnectionError] * 2,
    )


def test_a_success_recorded_by_the_next_delivery_is_finished_once(
    heard, broker, in_process_worker, monkeypatch
):
    real, calls = tracking.record_success, []

    def lost_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(tracking, "record_success", lost_once)
    result = taskfns.add.enqueue(40, 2)
    drain(broker, in_process_worker)

    events = of(heard, result.id, "started", "finished")
    assert [(event.name, event.status) for event in events] == [
        ("started", "RUNNING"),
        ("finished", "SUCCESSFUL"),
    ]
    assert events[-1].return_value == 42 and len(calls) == 1


def test_a_job_failed_as_poison_is_finished_failed_with_its_lost_attempt(
    heard, broker, in_process_worker, settings, monkeypatch
):
    monkeypatch.setattr(tracking, "MAX_LOST_ATTEMPTS", 1)
    job = Job.objects.create(task_path=taskfns.add.module_path, args=[1, 2], due_at=timezone.now())
    tracking.claim_job(job.pk, worker_id="died-running-it", message_id="m-1")
    stale = timezone.now() - timedelta(milliseconds=settings.JOBS_HEARTBEAT_TIMEOUT_MS + 1000)
    Job.objects.filter(pk=job.pk).update(claimed_at=stale)

    outbox.publish(job.pk, "default")
    drain(broker, in_process_worker)

    [done] = of(heard, str(job.result_id), "started", "finished")
    assert (done.name, done.status, done.errors) == ("finished", "FAILED", [WorkerLost])
    assert Job.objects.get(pk=job.pk).status == Job.Status.FAILED


def test_a_receiver_that_raises_is_logged_and_changes_nothing_about_the_job(
    broker, in_process_worker, caplog
):
    def broken(sender, task_result, **kwargs):
        raise RuntimeError("receiver bug")

    for signal in SIGNALS.values():
        signal.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="django.dispatch"):
            result = taskfns.add.enqueue(1, 2)
            drain(broker, in_process_worker)
    finally:
        for signal in SIGNALS.values():
            signal.disconnect(broken)

    job = Job.objects.get(result_id=result.id)
    assert (job.status, job.attempt_count, job.return_value) == (Job.Status.SUCCEEDED, 1, 3)
    raised = [
        record for record in caplog.records if record.exc_info and "receiver bug" in str(record.exc_info[1])
    ]
    assert len(raised) == 3  # enqueued, started, finished: each logged, none stopped the job


def test_a_first_attempt_is_announced_without_a_query(broker, django_assert_num_queries):
    result = taskfns.add.enqueue(2, 2)
    claim = tracking.claim_job(
        Job.objects.get(result_id=result.id).pk, worker_id="w-1", message_id="m-1", first_hand=True
    )

    with django_assert_num_queries(0):
        task_signals.send_started(claim, taskfns.add)


def test_the_frameworks_own_info_lines_are_off_unless_debugging():
    # Herald's attempt line already says when each attempt ends (jobs.logs).
    assert logging_config(level="INFO", log_format="plain")["loggers"]["django_tasks"] == {"level": "WARNING"}
    assert logging_config(level="DEBUG", log_format="plain")["loggers"]["django.tasks"] == {"level": "DEBUG"}
    assert logging_config(level="ERROR", log_format="plain")["loggers"]["django_tasks"] == {"level": "ERROR"}
