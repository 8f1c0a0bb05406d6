"""Server-Timing: how long a request spent in its named parts, in a header (``SERVER_TIMING=true``)."""

import contextvars
import time
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

_entries: contextvars.ContextVar[list[tuple[str, float]] | None] = contextvars.ContextVar(
    "server_timing_entries", default=None
)


@contextmanager
def timed(name):
    """Time the block as the request's ``name`` part (a no-op outside a timed request)."""
    entries = _entries.get()
    if entries is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        entries.append((name, time.perf_counter() - started))


class ServerTimingMiddleware:
    """Adds ``Server-Timing: <part>;dur=<ms>, ..., app;dur=<ms>`` (``app`` is the whole request).

    Off unless ``SERVER_TIMING=true``: the figures describe the server to whoever asks.
    Browsers' developer tools show them, and the benchmark reads them.
    """

    def __init__(self, get_response):
        if not settings.SERVER_TIMING:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        entries: list[tuple[str, float]] = []
        token = _entries.set(entries)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            _entries.reset(token)
        entries.append(("app", time.perf_counter() - started))
        response["Server-Timing"] = ", ".join(f"{name};dur={seconds * 1000:.1f}" for name, seconds in entries)
        return response
