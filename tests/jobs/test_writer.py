"""The job writer: the writes of a worker process's threads, a batch per transaction, each answered once committed."""

import threading
import time

import pytest
from django.db import IntegrityError, connection, connections, transaction

from jobs import writer
from jobs.models import Job
from tests.jobs.factories import make_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def batch_writer():
    return writer.BatchWriter()


@pytest.fixture
def started_writer(monkeypatch):
    monkeypatch.setattr(writer, "_writer", None)
    writer.start()
    return writer._writer


def create_job(label):
    return Job.objects.create(label=label).pk


def writes_behind_a_held_one(batch_writer, queued):
    """Write ``held`` and hold the writer until the writes ``queued`` (name: fn) all wait; each outcome by name.

    Every write is given its name, with "@example.com"; a write that raises gives its error.
    """
    first_running, go_on = threading.Event(), threading.Event()
    outcomes = {}

    def held(label):
        first_running.set()
        go_on.wait(10)
        return create_job(label)

    def ask(name, fn):
        try:
            outcomes[name] = batch_writer.write(fn, f"{name}@example.com")
        except Exception as exc:  # noqa: BLE001 - the outcome the test looks at
            outcomes[name] = exc
        connection.close()

    first = threading.Thread(target=ask, args=("held", held))
    first.start()
    first_running.wait(10)
    others = [threading.Thread(target=ask, args=item) for item in queued.items()]
    for thread in others:
        thread.start()
    while batch_writer._waiting.qsize() < len(queued):
        time.sleep(0.01)
    go_on.set()
    for thread in [first, *others]:
        thread.join(10)
    return outcomes


def test_writes_waiting_together_share_one_transaction_and_each_gets_its_own_result(batch_writer):
    outcomes = writes_behind_a_held_one(batch_writer, {f"w{n}": create_job for n in range(20)})

    assert batch_writer.transactions == 2  # the held write alone, then the 20 that queued behind it
    assert len(outcomes) == 21
    assert {name: Job.objects.get(pk=pk).label for name, pk in outcomes.items()} == {
        name: f"{name}@example.com" for name in outcomes
    }


def test_a_write_is_answered_once_another_connection_can_read_it(batch_writer):
    pk = batch_writer.write(create_job, "seen@example.com")

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute(f"SELECT label FROM {Job._meta.db_table} WHERE id = %s", [pk])
            assert cursor.fetchone() == ("seen@example.com",)
    finally:
        other.close()


def test_a_failing_write_fails_alone_and_its_caller_gets_the_error(batch_writer):
    job = make_job("taken@example.com")

    def duplicate(_label):
        return Job.objects.create(pk=job.pk, label="again@example.com").pk

    outcomes = writes_behind_a_held_one(batch_writer, {"before": create_job, "bad": duplicate, "after": create_job})

    assert isinstance(outcomes["bad"], IntegrityError)
    assert set(Job.objects.values_list("label", flat=True)) == {
        "taken@example.com", "held@example.com", "before@example.com", "after@example.com"
    }


def test_without_a_writer_a_write_runs_in_the_callers_thread_in_a_transaction_of_its_own(monkeypatch):
    monkeypatch.setattr(writer, "_writer", None)
    seen = []

    def probe():
        seen.append((threading.get_ident(), connection.in_atomic_block))
        return create_job("here@example.com")

    pk = writer.write(probe)

    assert seen == [(threading.get_ident(), True)]
    assert not connection.in_atomic_block
    assert Job.objects.get(pk=pk).label == "here@example.com"


def test_in_a_worker_process_writes_go_to_the_writer_thread(started_writer):
    threads = []

    def probe():
        threads.append(threading.get_ident())
        return create_job("batched@example.com")

    writer.write(probe)

    assert threads and threads[0] != threading.get_ident()
    assert started_writer.transactions == 1


def test_a_caller_already_in_a_transaction_writes_in_it_rather_than_wait_for_its_own_lock(started_writer):
    threads = []

    def probe():
        threads.append(threading.get_ident())
        return create_job("nested@example.com")

    with transaction.atomic():
        writer.write(probe)

    assert threads == [threading.get_ident()]
    assert started_writer.transactions == 0


def test_the_middleware_starts_the_writer_when_a_worker_boots(monkeypatch):
    monkeypatch.setattr(writer, "_writer", None)

    writer.BatchedWrites().after_worker_boot(broker=None, worker=None)

    assert isinstance(writer._writer, writer.BatchWriter)
