"""The framework's task signals as a test hears them (``heard``, registered by tests/conftest.py)."""

import threading
from types import SimpleNamespace

import pytest

from jobs.tasks_api import task_enqueued, task_finished, task_started

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
