"""The framework's task signals on Herald's backend: enqueue() sends task_enqueued, the worker started and finished."""

import logging
import uuid

import pytest
from django.db import OperationalError

from jobs import task_signals
from jobs.backends import DramatiqTaskBackend
from jobs.logs import logging_config
from jobs.models import Job
from jobs.worker import tracking
from tests.support import taskfns
from tests.support.inprocess import drain
from tests.support.task_signals import SIGNALS, of

pytestmark = pytest.mark.django_db(transaction=True)


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
