"""Bounded waiting for conditions that other processes make true."""

import time


def wait_until(predicate, timeout, what):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def until_finished(result, timeout=20):
    """``result`` (a django.tasks TaskResult), refreshed until its task has finished."""

    def done():
        result.refresh()
        return result.is_finished

    wait_until(done, timeout, f"task {result.task.name} finished")
    return result
