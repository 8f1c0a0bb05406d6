"""Which failures are worth retrying: decided here, once.

The actor's ``retry_when`` and the status it records both call
:func:`should_retry`, so the job row and Dramatiq's Retries middleware never
disagree about whether another attempt is coming.
"""

import smtplib
import socket

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from dramatiq.common import compute_backoff
from dramatiq.middleware.time_limit import TimeLimitExceeded

# A retry due later than this is scheduled on the job row and sent by the relay
# when due, not held by a worker as a delayed message. Dramatiq's workers hold
# a delayed message unacknowledged until it is due (dramatiq issue #827), and
# RabbitMQ's consumer_timeout (30 min by default) closes the channel of a
# consumer that holds one longer: every message on it would come back. Five
# minutes is well inside that, and the relay (every JOBS_RELAY_INTERVAL_S)
# makes such a retry at most that much later.
LONGEST_HELD_RETRY_MS = 5 * 60 * 1000


class RecipientChanged(Exception):
    """The job's user has another address now: the email is not for them any more (permanent)."""


class UnknownKind(Exception):
    """No app registered what a job of this kind sends (permanent)."""


class RetryScheduled(Exception):
    """The send failed and its retry, ``delay_ms`` away, is scheduled on the job row (never escapes the actor)."""

    def __init__(self, delay_ms):
        super().__init__(f"retry scheduled in {delay_ms} ms")
        self.delay_ms = delay_ms


def smtp_code(exc):
    """The SMTP reply code carried by ``exc``, or None."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        # The worst reply decides: one permanent refusal makes the send permanent.
        return max(codes) if codes else None
    code = getattr(exc, "smtp_code", None)
    return code if isinstance(code, int) and code > 0 else None


def is_transient(exc):
    """True when the same send may succeed later.

    Transient: connection refused/reset/closed, timeouts, SMTP 4xx replies,
    a time limit, database errors before the send. Permanent: SMTP 5xx (the
    server refuses the recipient or the message) and anything else, such as a
    template bug, which no retry would fix.
    """
    code = smtp_code(exc)
    if code is not None:
        return 400 <= code < 500
    transient_types = (
        smtplib.SMTPServerDisconnected,
        ConnectionError,
        TimeoutError,
        socket.timeout,
        socket.gaierror,
        TimeLimitExceeded,
        OperationalError,
        InterfaceError,
    )
    if isinstance(exc, transient_types):
        return True
    if isinstance(exc, smtplib.SMTPException):
        return False  # no reply code: a client-side SMTP problem such as no usable AUTH method
    # Plain OSError covers "network unreachable" and friends, but not DB errors.
    return isinstance(exc, OSError) and not isinstance(exc, DatabaseError)


def should_retry(retries, exc):
    """Dramatiq ``retry_when``: retry transient errors until the budget is spent."""
    return retries < settings.JOBS_MAX_RETRIES and is_transient(exc)


def retry_delay_ms(retries):
    """The back-off before the retry that follows ``retries`` retries, as Dramatiq's Retries computes it."""
    _, delay = compute_backoff(retries, factor=settings.JOBS_MIN_BACKOFF_MS, max_backoff=settings.JOBS_MAX_BACKOFF_MS)
    return delay


def describe(exc):
    """A one-line description of ``exc`` for the job row and the admin."""
    code = smtp_code(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = "; ".join(f"{addr}: {c} {_text(m)}" for addr, (c, m) in exc.recipients.items())
        return f"Recipient refused ({replies})"
    if code is not None:
        return f"SMTP {code} {_text(getattr(exc, 'smtp_error', b''))}".strip()
    return str(exc) or type(exc).__name__


def smtp_reply(exc):
    """The SMTP server's reply text carried by ``exc``, or ''."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{c} {_text(m)}" for c, m in exc.recipients.values())
    code = smtp_code(exc)
    return f"{code} {_text(getattr(exc, 'smtp_error', b''))}" if code is not None else ""


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
