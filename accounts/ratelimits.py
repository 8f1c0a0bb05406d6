"""Rate limits on the pages that create accounts or send email (django-ratelimit, counters in Django's cache).

What each limit counts, and how they hold while the cache is slow or down: docs/security.md#flooding.
"""

import logging
import re
import threading
import time

from django.conf import settings
from django_ratelimit.core import is_ratelimited
from redis.exceptions import RedisError

from accounts.addresses import mailbox_key
from config.client_ip import client_network

logger = logging.getLogger("accounts.ratelimits")

# django-ratelimit's syntax: a count, a slash, an optional multiplier and a unit.
RATE_RE = re.compile(r"^(\d+)/(\d*)([smhd])$")
PERIOD_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# One warning per group per this many seconds while the cache is down (every request would log one).
WARNING_INTERVAL_S = 60


def parse_rate(rate):
    """``(count, seconds)`` for a rate string, or None when the limit is off (``"0"`` or empty)."""
    rate = (rate or "").strip()
    if rate in ("", "0"):
        return None
    match = RATE_RE.match(rate)
    if not match:
        raise ValueError(f"not a rate: {rate!r} (expected e.g. '3/h' or '1/3m', or '0' for no limit)")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * PERIOD_S[unit]


class MemoryCounter:
    """Fixed-window counters in this process's memory: the fallback while the cache is down.

    Thread-safe. Windows that ended are dropped as new ones open, so memory
    stays bounded by the requests of one period.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.lock = threading.Lock()
        self.counts = {}  # (group, value, window end) -> hits

    def over_limit(self, group, value, count, period_s):
        """Count one hit of ``value`` in ``group``; True when it is over ``count`` in this window."""
        now = self.clock()
        window_end = (int(now // period_s) + 1) * period_s
        with self.lock:
            key = (group, value, window_end)
            if key not in self.counts:
                self.counts = {k: n for k, n in self.counts.items() if k[2] > now}
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key] > count

    def clear(self):
        with self.lock:
            self.counts.clear()


fallback_counter = MemoryCounter()
last_warning_at: dict[str, float] = {}  # group -> time.monotonic() of the last "cache unreachable" warning


def warn_cache_unreachable(group, exc, action):
    now = time.monotonic()
    if now - last_warning_at.get(group, -WARNING_INTERVAL_S) >= WARNING_INTERVAL_S:
        last_warning_at[group] = now
        logger.warning("rate limit %s: cache unreachable (%s); %s", group, exc, action)


def over_limit(request, *, group, rate, key=None, fail_safe):
    """True when this request is over ``rate`` in ``group``; it counts as one hit.

    Counted per ``key`` when one is given (a mailbox), else per client
    (``config.client_ip.client_network``: an IPv6 client is its network). A
    ``fail_safe`` limit counts in memory while the cache is unreachable or
    slow (``RATE_LIMIT_CACHE_TIMEOUT_S``); any other is not checked then.
    """
    parsed = parse_rate(rate)
    if parsed is None:
        return False
    value = client_network(request) if key is None else key
    try:
        return is_ratelimited(
            request, group=group, key=lambda group, request: value, rate=rate.strip(), increment=True
        )
    except (RedisError, OSError) as exc:
        if not fail_safe:
            warn_cache_unreachable(group, exc, "not checked")
            return False
        warn_cache_unreachable(group, exc, "counting in this process instead")
        return fallback_counter.over_limit(group, value, *parsed)


def signup_over_limit(request):
    """True when this client has signed up more than ``RATE_LIMIT_SIGNUP`` allows (a 429 page).

    Fails open: while the cache is unreachable signups are not limited. The
    emails a signup sends stay within their budgets (:func:`may_email`, fail
    safe), and refusing every newcomer during a Redis outage would take the
    site's front door down.
    """
    return over_limit(request, group="signup", rate=settings.RATE_LIMIT_SIGNUP, fail_safe=False)


# The per-mailbox budget of each kind of email a visitor can have sent.
MAILBOX_RATES = {
    "signup": "RATE_LIMIT_NOTICE",  # a confirmation, or the "account already exists" notice
    "resend": "RATE_LIMIT_RESEND",
    "reset": "RATE_LIMIT_RESET",
}


def may_email(request, kind, address):
    """True when this request may have an email of ``kind`` sent to ``address``; it counts against two budgets.

    - per client, every kind together: ``RATE_LIMIT_CLIENT_EMAILS`` (one
      visitor asking for emails to many addresses);
    - per mailbox, per kind (``MAILBOX_RATES``): many visitors flooding one
      inbox. The mailbox is the address with its RFC 5233 sub-address
      dropped (``box+tag@`` is ``box@``, :func:`accounts.addresses.mailbox_key`).

    A request already over its client's budget does not count against the
    mailbox, so one visitor cannot spend someone else's budget past its own.
    Counted for every address, with an account or not: the caller answers
    the same either way and, over a budget, sends nothing. Fail safe.
    """
    if over_limit(request, group="emails-client", rate=settings.RATE_LIMIT_CLIENT_EMAILS, fail_safe=True):
        return False
    rate = getattr(settings, MAILBOX_RATES[kind])
    return not over_limit(
        request, group=f"{kind}-mailbox", rate=rate, key=mailbox_key(address), fail_safe=True
    )
