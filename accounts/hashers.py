"""Password hashing at a lower CPU priority than the rest of the site.

Why and how to tune it: docs/configuration.md#password-hashing-password_hash_threads-password_hash_nice.
"""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

_lock = threading.Lock()
_pool = None


def lower_thread_priority(nice):
    """Lower the calling thread's CPU priority by ``nice`` steps (Linux only; elsewhere nothing).

    Lowering needs no privilege; raising it back would, which is why the hashes go to threads
    that stay low rather than the request's thread dipping down and up again.
    """
    if sys.platform != "linux" or nice <= 0:
        return
    thread = threading.get_native_id()
    os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + nice)


def _hashing_pool():
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.PASSWORD_HASH_THREADS,
                thread_name_prefix="password-hash",
                initializer=lower_thread_priority,
                initargs=(settings.PASSWORD_HASH_NICE,),
            )
        return _pool


def _forget_pool():
    """Make the next hash start a new pool: in a forked process (gunicorn's
    workers), which has none of its parent's threads, or after the settings
    changed."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


class LowPriorityPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    """Django's ``pbkdf2_sha256``, computed in the low-priority hashing threads.

    The algorithm, the iterations and the stored format are Django's: passwords hashed by
    either hasher check with the other. ``verify`` and ``harden_runtime`` call ``encode``, so
    logins go there too.
    """

    def encode(self, password, salt, iterations=None):
        return _hashing_pool().submit(super().encode, password, salt, iterations).result()
