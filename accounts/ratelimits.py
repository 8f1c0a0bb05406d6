"""Rate limits on signup (per client IP) and resend (per address), via django-ratelimit.

Counters live in Django's cache (Redis), shared by every web process.
"""

import logging

from django.conf import settings
from django_ratelimit.core import is_ratelimited
from redis.exceptions import RedisError

logger = logging.getLogger("accounts.ratelimits")


def _over(request, *, group, rate, key):
    if not rate or rate.strip() == "0":
        return False
    try:
        return is_ratelimited(request, group=group, key=key, rate=rate, method="POST", increment=True)
    except (RedisError, OSError) as exc:
        # A cache outage must not take signup down with it: fail open, loudly.
        logger.warning("rate limit %s not checked, cache unreachable: %s", group, exc)
        return False


def signup_over_limit(request):
    """True when this client IP has signed up more than ``RATE_LIMIT_SIGNUP`` allows."""
    return _over(request, group="signup", rate=settings.RATE_LIMIT_SIGNUP, key="ip")


def resend_over_limit(request, email):
    """True when ``email`` has asked for links more often than ``RATE_LIMIT_RESEND`` allows."""
    return _over(request, group="resend", rate=settings.RATE_LIMIT_RESEND, key=lambda group, request: email)
