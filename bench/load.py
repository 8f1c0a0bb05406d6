"""Concurrent visitors driving a real Herald web server over HTTP, and the statistics of what they saw."""

import gc
import statistics
import threading
import time
from dataclasses import dataclass

from tests.support.http import CSRF_INPUT_RE, Client

PASSWORD = "correct-Horse-battery-9"


@dataclass
class Answer:
    key: str  # the email address the request was about
    status: int
    latency: float  # seconds, request sent to response read
    answered_at: float  # time.time() when the response was read (the SMTP sink's clock)
    late: float = 0.0  # seconds a paced request started after its slot (all clients busy)
    server_hash: float | None = None  # seconds the server spent hashing (its Server-Timing header)


def percentiles(values):
    """``{"n", "p50", "p95", "p99", "max"}`` in milliseconds (nearest rank)."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p):
        return ordered[min(len(ordered) - 1, max(0, int(-(-p * len(ordered) // 100)) - 1))]

    return {
        "n": len(ordered),
        "p50": round(rank(50) * 1000, 1),
        "p95": round(rank(95) * 1000, 1),
        "p99": round(rank(99) * 1000, 1),
        "max": round(ordered[-1] * 1000, 1),
    }


def run_visitors(base_url, keys, request, *, clients=8, rate=None):
    """Send one request per key from ``clients`` concurrent visitors; return the :class:`Answer` list.

    ``request(client, key)`` does one visit and returns the timed response.
    With ``rate`` (requests per second) visit ``i`` starts at ``i / rate`` after
    the first one (or as soon as a visitor is free); without, every visitor
    starts its next request the moment the previous one is answered.
    """
    answers = []
    lock = threading.Lock()
    pending = iter(enumerate(keys))
    started = time.monotonic() + 0.05
    errors = []

    def visitor():
        client = Client(base_url)
        while True:
            with lock:
                item = next(pending, None)
            if item is None:
                return
            index, key = item
            late = 0.0
            if rate:
                slot = started + index / rate
                wait = slot - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                else:
                    late = -wait
            try:
                response = request(client, key)
            except Exception as exc:
                with lock:
                    errors.append(f"{key}: {exc!r}")
                continue
            answer = Answer(
                key, response.status, response.elapsed, time.time(), late, response.server_timing("hash")
            )
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=visitor, name=f"visitor-{n}") for n in range(clients)]
    # The visitors' own process collects no garbage while they are timing: a
    # full collection here stops every visitor for tens of milliseconds, which
    # is the load generator's latency, not the server's.
    gc.collect()
    gc.disable()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        gc.enable()
    if errors:
        raise RuntimeError(f"{len(errors)} request(s) failed, first: {errors[0]}")
    return answers


def signup(path="/accounts/signup/"):
    """A visit: load the signup form, then post it (only the POST is timed)."""

    def visit(client, email):
        return client.post_form(path, {"email": email, "password1": PASSWORD, "password2": PASSWORD})

    return visit


def resend():
    """A visit: post the resend form with the token this visitor fetched once (one enqueue, no hash)."""
    tokens = {}

    def visit(client, email):
        token = tokens.get(id(client))
        if token is None:
            page = client.get("/accounts/resend/")
            token = tokens[id(client)] = CSRF_INPUT_RE.search(page.text).group(1)
        return client.request("/accounts/resend/", {"email": email, "csrfmiddlewaretoken": token})

    return visit


def time_calls(fn, repeat):
    """Seconds per call of ``fn()``, ``repeat`` times."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def median_ms(values):
    return round(statistics.median(values) * 1000, 1) if values else None
