"""Run slots: a suspect job (one that lost an attempt) runs alone in its worker process."""

import threading
from contextlib import contextmanager

# Waits wake up this often, so that Dramatiq's time limit can interrupt them.
WAIT_STEP_S = 0.5


class RunSlots:
    """A reader-writer lock: ordinary jobs share, suspect jobs are exclusive.

    When a worker process dies, every job it had in flight loses an attempt, but only one of
    them may have caused it. A suspect waits until no other job runs in this process and keeps
    it to itself while it runs: if the process dies then, the suspect is the one that killed
    it, and the jobs that merely shared the process are not failed as poison with it.
    """

    def __init__(self):
        self._changed = threading.Condition()
        self._sharing = 0
        self._exclusive = False
        self._exclusive_waiting = 0

    @contextmanager
    def shared(self):
        with self._changed:
            while self._exclusive or self._exclusive_waiting:
                self._changed.wait(WAIT_STEP_S)
            self._sharing += 1
        try:
            yield
        finally:
            with self._changed:
                self._sharing -= 1
                self._changed.notify_all()

    @contextmanager
    def exclusive(self):
        with self._changed:
            self._exclusive_waiting += 1
            try:
                while self._exclusive or self._sharing:
                    self._changed.wait(WAIT_STEP_S)
            finally:
                self._exclusive_waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._changed:
                self._exclusive = False
                self._changed.notify_all()

    def slot(self, *, alone):
        return self.exclusive() if alone else self.shared()


run_slots = RunSlots()
