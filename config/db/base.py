"""Django's SQLite backend, with writers queueing for the write lock: threads in-process, then processes.

The one module that overrides Django's private methods (see ``DatabaseWrapper``);
tests/unit/config/test_db_backend.py fails when the installed Django changes them.
"""

import fcntl
import os
import threading

from django.db import OperationalError
from django.db.backends.sqlite3 import base


class WriteLock:
    """The right to write to one database file: first among this process's threads, then among processes.

    Threads wait on a ``threading.Lock``, handed over the moment it is
    released, for at most the database's ``timeout``. Processes then take an
    advisory lock on ``<database>.writelock`` with ``flock``: the kernel
    wakes the next process the moment the holder releases it, where SQLite's
    busy handler sleeps in growing steps between tries, and it drops a
    lock whose process died. That wait has no timeout: another Herald process
    holds the file lock only for one transaction. An in-memory database has no
    file and no other process: the thread lock alone.
    """

    def __init__(self, name, *, file_backed):
        self._threads = threading.Lock()
        self._path = f"{name}.writelock" if file_backed else None
        self._fd = None

    def acquire(self, timeout):
        if not self._threads.acquire(timeout=timeout):
            return False
        if self._path is not None:
            try:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
        return True

    def release(self):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()

    def locked(self):
        return self._threads.locked()

    def forget(self):
        """In a forked child: the parent's descriptor is not this process's lock."""
        if self._fd is not None:
            os.close(self._fd)


_locks = {}
_locks_guard = threading.Lock()


def write_lock(name, *, file_backed=True):
    """This process's lock for writing to the database file ``name``."""
    with _locks_guard:
        lock = _locks.get(str(name))
        if lock is None:
            lock = _locks[str(name)] = WriteLock(name, file_backed=file_backed)
        return lock


def _forget_locks():
    # A child process starts with no transactions, whatever its parent held.
    for lock in _locks.values():
        lock.forget()
    _locks.clear()


os.register_at_fork(after_in_child=_forget_locks)


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's SQLite ``DatabaseWrapper`` whose transactions first take the :class:`WriteLock`.

    Every transaction takes SQLite's write lock at ``BEGIN IMMEDIATE``, and when it is taken
    SQLite's busy handler sleeps and tries again: it is not woken when the lock is freed, so
    worker threads slept while the lock stood free. Here a writer first queues on a lock of its
    process, bounded by the same timeout and ending in the same "database is locked" error,
    then on ``flock``, which the kernel hands over at the holder's commit. SQLite's own waiting
    is left to writers outside Herald (the ``sqlite3`` shell, say).

    Why it overrides Django's private ``_start_transaction_under_autocommit``, ``_commit``,
    ``_rollback`` and ``_close``: more jobs per second on SQLite, in- and across processes, with
    no write lost (the figures are in docs/benchmarks.md), and Django has no option for it: its
    ``timeout`` sets SQLite's sleeping busy handler, and Python's sqlite3 offers no other.
    tests/unit/config/test_db_backend.py also fails when Django's ``atomic()`` stops calling the first.
    """

    _held = None

    def _start_transaction_under_autocommit(self):
        lock = write_lock(self.settings_dict["NAME"], file_backed=not self.is_in_memory_db())
        if not lock.acquire(timeout=self.settings_dict["OPTIONS"].get("timeout", 5)):
            raise OperationalError("database is locked (another thread of this process held it too long)")
        self._held = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release()
            raise

    def _release(self):
        lock, self._held = self._held, None
        if lock is not None:
            lock.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release()
