"""Herald's SQLite backend across processes: writers of other processes wait on the file lock.

Collected on SQLite runs only (see conftest.py): PostgreSQL has row locks.
"""

import subprocess
import sys
import threading

import pytest
from django.db import connection, transaction

from jobs.models import Job

pytestmark = pytest.mark.django_db(transaction=True)


# Run in another process: the file lock's state as that process finds it.
TRY_FILE_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    print("free")
except BlockingIOError:
    print("busy")
"""


HOLD_FILE_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def file_lock_path():
    return f"{connection.settings_dict['NAME']}.writelock"


def other_process_finds_the_file_lock():
    return subprocess.run(
        [sys.executable, "-c", TRY_FILE_LOCK, file_lock_path()], capture_output=True, text=True, timeout=30
    ).stdout.strip()


def test_a_transaction_holds_the_file_lock_that_writers_in_other_processes_wait_on():
    with transaction.atomic():
        Job.objects.create(label="a@example.com")
        during = other_process_finds_the_file_lock()
    after = other_process_finds_the_file_lock()

    assert (during, after) == ("busy", "free")


def test_a_writer_waits_for_another_process_and_goes_on_the_moment_that_process_dies():
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FILE_LOCK, file_lock_path()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        written = threading.Event()

        def writer():
            with transaction.atomic():
                Job.objects.create(label="after@example.com")
            connection.close()
            written.set()

        thread = threading.Thread(target=writer)
        thread.start()
        waited = not written.wait(0.5)
        holder.kill()  # as the OOM killer would: the kernel drops the dead process's lock
        holder.wait(10)
        thread.join(10)
    finally:
        holder.kill()
        holder.wait(10)

    assert waited and written.is_set()
    assert Job.objects.filter(label="after@example.com").exists()
