"""Herald's SQLite backend: the threads of one process queue for the write lock in-process.

Collected on SQLite runs only (see conftest.py): PostgreSQL has row locks.
"""

import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from config.db.base import write_lock
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def lock():
    return write_lock(connection.settings_dict["NAME"])


def test_a_transaction_holds_the_process_lock_until_it_commits():
    with transaction.atomic():
        Job.objects.create(recipient="a@example.com")
        assert lock().locked()
    assert not lock().locked()


def test_the_lock_is_released_when_the_transaction_rolls_back():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Job.objects.create(recipient="a@example.com")
        1 / 0  # noqa: B018
    assert not lock().locked()
    assert not Job.objects.exists()


def test_a_second_thread_waits_for_the_holder_then_writes():
    holder_in, release = threading.Event(), threading.Event()
    events = []

    def holder():
        with transaction.atomic():
            Job.objects.create(recipient="first@example.com")
            holder_in.set()
            release.wait(10)
            events.append("first committed")
        connection.close()

    def writer():
        holder_in.wait(10)
        events.append("second waiting")
        with transaction.atomic():
            events.append("second in")
            Job.objects.create(recipient="second@example.com")
        connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    holder_in.wait(10)
    time.sleep(0.3)
    waiting_on_lock = lock().locked() and events == ["second waiting"]
    release.set()
    for thread in threads:
        thread.join(10)

    assert waiting_on_lock
    assert events == ["second waiting", "first committed", "second in"]
    assert Job.objects.count() == 2


def test_a_writer_held_off_past_the_timeout_gets_database_is_locked(settings):
    errors = []

    def writer():
        connection.settings_dict["OPTIONS"] = {**connection.settings_dict["OPTIONS"], "timeout": 0.2}
        try:
            with transaction.atomic():
                Job.objects.create(recipient="late@example.com")
        except OperationalError as error:
            errors.append(str(error))
        finally:
            connection.close()

    with transaction.atomic():
        Job.objects.create(recipient="holder@example.com")
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(10)

    assert errors and "database is locked" in errors[0]
    assert list(Job.objects.values_list("recipient", flat=True)) == ["holder@example.com"]
