"""Rate limits on the pages that create accounts or send email (django-ratelimit, counters in Django's cache).

What each limit counts, and how they hold while the cache is down: docs/security.md#flooding.
"""

import logging
import re
import threading
import time

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited
from redis.exceptions import RedisError

from config.client_ip import client_ip

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


def over_limit(request, *, group, rate, address=None, fail_safe):
    """True when this request is over ``rate`` in ``group``; it counts as one hit.

    Counted per ``address`` when one is given, else per client IP. A
    ``fail_safe`` limit counts in memory while the cache is unreachable; any
    other is not checked then.
    """
    parsed = parse_rate(rate)
    if parsed is None:
        return False
    key = "ip" if address is None else (lambda group, request: address)
    try:
        return is_ratelimited(request, group=group, key=key, rate=rate.strip(), increment=True)
    except (RedisError, OSError) as exc:
        if not fail_safe:
            warn_cache_unreachable(group, exc, "not checked")
            return False
        warn_cache_unreachable(group, exc, "counting in this process instead")
        value = client_ip(request) if address is None else address
        return fallback_counter.over_limit(group, value, *parsed)


def signup_over_limit(request):
    """True when this client IP has signed up more than ``RATE_LIMIT_SIGNUP`` allows.

    Fails open: while the cache is unreachable signups are not limited. A
    signup sends email only to the address it names (at most
    ``RATE_LIMIT_NOTICE`` per address, fail safe), and refusing every
    newcomer during a Redis outage would take the site's front door down.
    """
    return over_limit(request, group="signup", rate=settings.RATE_LIMIT_SIGNUP, fail_safe=False)


def resend_over_limit(request, email):
    """True when ``email`` has asked for links more often than ``RATE_LIMIT_RESEND`` allows (fail safe)."""
    return over_limit(request, group="resend", rate=settings.RATE_LIMIT_RESEND, address=email, fail_safe=True)


def reset_over_limit(request, email):
    """True when this password reset request is over a limit (fail safe).

    Two limits: ``RATE_LIMIT_RESET_IP`` per client IP (one visitor trying many
    addresses) and ``RATE_LIMIT_RESET`` per address (many visitors flooding
    one inbox). A request already over the IP limit does not count against
    the address.
    """
    return over_limit(
        request, group="reset-ip", rate=settings.RATE_LIMIT_RESET_IP, fail_safe=True
    ) or over_limit(request, group="reset", rate=settings.RATE_LIMIT_RESET, address=email, fail_safe=True)


def notice_over_limit(email):
    """True when signups have emailed ``email`` more often than ``RATE_LIMIT_NOTICE`` allows.

    One budget for every email a signup sends (a confirmation, or the
    "account already exists" notice), so that the limit itself does not tell
    which one it was. Counted per address only, whoever asks, so it needs no
    request; fail safe.
    """
    # django-ratelimit reads a request only for its method (any, here) and the
    # key; the key is the address, so an empty request is all it needs.
    return over_limit(
        HttpRequest(), group="notice", rate=settings.RATE_LIMIT_NOTICE, address=email, fail_safe=True
    )
