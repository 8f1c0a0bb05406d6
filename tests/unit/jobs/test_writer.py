"""The job writer: the writes of a worker process's threads, a batch per transaction, each answered once committed."""

import threading
import time

import pytest
from django.db import IntegrityError, OperationalError, connection, connections, transaction

from jobs.models import Job
from jobs.worker import writer
from tests.support.factories import make_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def batch_writer():
    batch_writer = writer.BatchWriter()
    yield batch_writer
    batch_writer.stop()


@pytest.fixture
def no_writer(monkeypatch):
    monkeypatch.setattr(writer, "_writer", None)
    yield
    writer.stop()


@pytest.fixture
def started_writer(no_writer):
    writer.start()
    return writer._writer


def create_job(label):
    return Job.objects.create(label=label).pk


class Holder:
    """A write ("held@example.com") that keeps the writer busy from :meth:`start` until :meth:`release`."""

    def __init__(self, batch_writer):
        self.batch_writer = batch_writer
        self.running, self.go_on = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._ask)

    def _held(self):
        self.running.set()
        self.go_on.wait(10)
        return create_job("held@example.com")

    def _ask(self):
        self.batch_writer.write(self._held)
        connection.close()

    def start(self):
        self.thread.start()
        self.running.wait(10)
        return self

    def release(self, once_waiting=0):
        """Let the held write end once ``once_waiting`` writes queue behind it."""
        while self.batch_writer._waiting.qsize() < once_waiting:
            time.sleep(0.01)
        self.go_on.set()


def writes_behind_a_held_one(batch_writer, queued):
    """Hold the writer until the writes ``queued`` (name: fn) all wait; each one's outcome by name.

    Every write is given its name, with "@example.com"; a write that raises gives its error.
    """
    outcomes = {}

    def ask(name, fn):
        try:
            outcomes[name] = batch_writer.write(fn, f"{name}@example.com")
        except Exception as exc:
            outcomes[name] = exc
        connection.close()

    holder = Holder(batch_writer).start()
    others = [threading.Thread(target=ask, args=item) for item in queued.items()]
    for thread in others:
        thread.start()
    holder.release(once_waiting=len(queued))
    for thread in [holder.thread, *others]:
        thread.join(10)
    return outcomes


def test_writes_waiting_together_share_one_transaction_and_each_gets_its_own_result(batch_writer):
    outcomes = writes_behind_a_held_one(batch_writer, {f"w{n}": create_job for n in range(20)})

    assert batch_writer.transactions == 2  # the held write alone, then the 20 that queued behind it
    assert len(outcomes) == 20
    assert {name: Job.objects.get(pk=pk).label for name, pk in outcomes.items()} == {
        name: f"{name}@example.com" for name in outcomes
    }
    assert Job.objects.filter(label="held@example.com").exists()


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

    outcomes = writes_behind_a_held_one(
        batch_writer, {"before": create_job, "bad": duplicate, "after": create_job}
    )

    assert isinstance(outcomes["bad"], IntegrityError)
    assert set(Job.objects.values_list("label", flat=True)) == {
        "taken@example.com",
        "held@example.com",
        "before@example.com",
        "after@example.com",
    }


def test_a_write_its_caller_gave_up_on_is_never_run(batch_writer, monkeypatch):
    monkeypatch.setattr(writer, "ANSWER_WITHIN_S", 0.3)
    holder = Holder(batch_writer).start()

    with pytest.raises(OperationalError, match="did not begin this write"):
        batch_writer.write(create_job, "given-up@example.com")
    holder.release()
    holder.thread.join(10)
    batch_writer.write(create_job, "next@example.com")  # the writer has gone past the given-up write

    assert set(Job.objects.values_list("label", flat=True)) == {"held@example.com", "next@example.com"}


def test_a_write_begun_is_waited_for_to_its_end_however_long(batch_writer, monkeypatch):
    monkeypatch.setattr(writer, "ANSWER_WITHIN_S", 0.2)

    def slow():
        threading.Event().wait(0.6)
        return create_job("slow@example.com")

    pk = batch_writer.write(slow)

    assert Job.objects.get(pk=pk).label == "slow@example.com"


def test_without_a_writer_a_write_runs_in_the_callers_thread_in_a_transaction_of_its_own(no_writer):
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


def test_the_middleware_starts_the_writer_when_a_worker_boots_and_stops_it_at_shutdown(no_writer):
    middleware = writer.BatchedWrites()

    middleware.after_worker_boot(broker=None, worker=None)
    started = writer._writer
    pk = writer.write(create_job, "booted@example.com")
    middleware.after_worker_shutdown(broker=None, worker=None)

    assert isinstance(started, writer.BatchWriter) and started.transactions == 1
    assert not started._thread.is_alive()
    assert writer._writer is None
    assert Job.objects.filter(pk=pk).exists()


def test_stopping_finishes_the_writes_already_waiting(batch_writer):
    results = []

    def ask(n):
        results.append(batch_writer.write(create_job, f"s{n}@example.com"))
        connection.close()

    holder = Holder(batch_writer).start()
    threads = [threading.Thread(target=ask, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    holder.release(once_waiting=5)
    batch_writer.stop()
    for thread in [holder.thread, *threads]:
        thread.join(10)

    assert len(results) == 5
    assert Job.objects.count() == 6  # the held write and the five
    assert not batch_writer._thread.is_alive()
