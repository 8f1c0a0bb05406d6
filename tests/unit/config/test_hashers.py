"""The low-priority hasher: Django's PBKDF2 hashes, computed in threads of lower CPU priority."""

import multiprocessing
import os
import threading

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, check_password, identify_hasher, make_password

from accounts import hashers
from accounts.hashers import LowPriorityPBKDF2PasswordHasher

PASSWORD = "correct-Horse-battery-9"


@pytest.fixture
def low_priority_hasher(settings):
    settings.PASSWORD_HASHERS = ["accounts.hashers.LowPriorityPBKDF2PasswordHasher"]
    settings.PASSWORD_HASH_NICE = 7
    hashers._forget_pool()  # a pool made for these settings
    yield
    hashers._forget_pool()


def thread_priority():
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def test_product_settings_hash_and_check_pbkdf2_with_it():
    from config import settings as product

    assert product.PASSWORD_HASHERS[0] == "accounts.hashers.LowPriorityPBKDF2PasswordHasher"
    # Django keeps one hasher per algorithm name, the last listed: Django's own
    # PBKDF2 hasher after ours would check every login at full priority.
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" not in product.PASSWORD_HASHERS


def test_hashes_are_djangos_pbkdf2_and_check_either_way(low_priority_hasher):
    ours = make_password(PASSWORD)
    djangos = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())

    assert ours.startswith("pbkdf2_sha256$1000000$")
    assert isinstance(identify_hasher(ours), LowPriorityPBKDF2PasswordHasher)
    assert check_password(PASSWORD, ours) and check_password(PASSWORD, djangos)
    assert PBKDF2PasswordHasher().verify(PASSWORD, ours)
    assert not check_password("wrong-Horse-battery-9", ours)
    salt = "fixedsalt0123456"
    assert LowPriorityPBKDF2PasswordHasher().encode(PASSWORD, salt) == PBKDF2PasswordHasher().encode(
        PASSWORD, salt
    )


def test_the_hash_runs_in_a_thread_of_lower_priority(low_priority_hasher, monkeypatch):
    seen = []

    def encode(self, password, salt, iterations=None):
        seen.append((threading.get_native_id(), thread_priority()))
        return f"pbkdf2_sha256${iterations}${salt}$hash"

    monkeypatch.setattr(PBKDF2PasswordHasher, "encode", encode)
    caller = thread_priority()

    LowPriorityPBKDF2PasswordHasher().encode(PASSWORD, "salt", 1)

    [(thread, priority)] = seen
    assert thread != threading.get_native_id()
    assert priority == min(19, caller + 7)
    assert thread_priority() == caller  # the caller's own priority is untouched


def test_nice_zero_keeps_the_priority(low_priority_hasher, settings):
    settings.PASSWORD_HASH_NICE = 0
    hashers._forget_pool()
    caller = thread_priority()

    assert hashers._hashing_pool().submit(thread_priority).result(timeout=10) == caller


def _hash_in_child(queue):
    queue.put(check_password(PASSWORD, make_password(PASSWORD)))


def test_a_forked_process_hashes_with_threads_of_its_own(low_priority_hasher):
    make_password(PASSWORD)  # the parent's pool has threads now; a forked child has none of them
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_hash_in_child, args=(queue,))
    child.start()
    try:
        assert queue.get(timeout=30) is True
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
