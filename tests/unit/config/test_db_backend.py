"""Herald's SQLite backend: the threads of one process queue for the write lock in-process, processes on a file lock.

Collected on SQLite runs only (see conftest.py): PostgreSQL has row locks. And the guard: the
Django internals the backend overrides are those it was checked against.
"""

import hashlib
import inspect
import threading
import time

import django
import pytest
from django.db import OperationalError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.sqlite3 import base as sqlite3_base
from django.db.transaction import Atomic

from config.db.base import write_lock
from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


def lock():
    return write_lock(connection.settings_dict["NAME"])


def test_a_transaction_holds_the_process_lock_until_it_commits():
    with transaction.atomic():
        Job.objects.create(label="a@example.com")
        assert lock().locked()
    assert not lock().locked()


def test_the_lock_is_released_when_the_transaction_rolls_back():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Job.objects.create(label="a@example.com")
        1 / 0  # noqa: B018
    assert not lock().locked()
    assert not Job.objects.exists()


def test_a_second_thread_waits_for_the_holder_then_writes():
    holder_in, release = threading.Event(), threading.Event()
    events = []

    def holder():
        with transaction.atomic():
            Job.objects.create(label="first@example.com")
            holder_in.set()
            release.wait(10)
            events.append("first committed")
        connection.close()

    def writer():
        holder_in.wait(10)
        events.append("second waiting")
        with transaction.atomic():
            events.append("second in")
            Job.objects.create(label="second@example.com")
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
                Job.objects.create(label="late@example.com")
        except OperationalError as error:
            errors.append(str(error))
        finally:
            connection.close()

    with transaction.atomic():
        Job.objects.create(label="holder@example.com")
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(10)

    assert errors and "database is locked" in errors[0]
    assert list(Job.objects.values_list("label", flat=True)) == ["holder@example.com"]


# What config/db/base.py relies on in Django 5.2.19, by the SHA-256 of its source (first 16 hex digits).
CHECKED_DJANGO = "5.2.19"


DJANGO_INTERNALS = {
    # Overridden: the lock is taken where the transaction begins ...
    (sqlite3_base.DatabaseWrapper, "_start_transaction_under_autocommit"): "7315cfc61c1dde12",
    # ... and released wherever it ends.
    (BaseDatabaseWrapper, "_commit"): "8ebc361e1e8fcb8d",
    (BaseDatabaseWrapper, "_rollback"): "d671ec3bb3c8ed44",
    (BaseDatabaseWrapper, "_close"): "d1a3f0e9a11cd084",
    # The caller: an outermost atomic() on SQLite begins with _start_transaction_under_autocommit().
    (Atomic, "__enter__"): "1cccb72ad29b1ace",
}


def django_fingerprint(owner, name):
    return hashlib.sha256(inspect.getsource(vars(owner)[name]).encode()).hexdigest()[:16]


def test_the_django_internals_the_backend_overrides_are_those_it_was_checked_against():
    changed = [
        f"{owner.__module__}.{owner.__name__}.{name}"
        for (owner, name), digest in DJANGO_INTERNALS.items()
        if django_fingerprint(owner, name) != digest
    ]

    assert django.get_version() == CHECKED_DJANGO and not changed, (
        f"Django is {django.get_version()}; config/db/base.py was checked against {CHECKED_DJANGO}, "
        f"and these private internals it overrides or relies on changed: {changed or 'none'}. "
        "Re-check that every transaction still begins in _start_transaction_under_autocommit and ends "
        "in _commit, _rollback or _close (a missed end leaves the process's write lock held), re-measure "
        "emails/s on SQLite with this backend and with Django's own (python -m bench, 'burst, Herald, "
        "1 worker process'), update the figures in config/db/base.py's docstring (or drop the backend "
        "and its ENGINE line in config/settings.py), then update CHECKED_DJANGO and DJANGO_INTERNALS here."
    )
