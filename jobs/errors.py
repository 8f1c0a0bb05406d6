"""Which failures are retried, and when: ``is_transient`` and each task's ``RetryPolicy``.

The same policy holds the task's time limit (``jobs.worker.limits``).
"""

import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from dramatiq.common import compute_backoff
from dramatiq.middleware.threading import Interrupt
from dramatiq.middleware.time_limit import TimeLimitExceeded

from jobs.tasks_api import Task

F = TypeVar("F", bound=Callable[..., Any])

# A retry due later than this is scheduled on the job row and sent by the relay
# when due, not held by a worker as a delayed message. Dramatiq's workers hold
# a delayed message unacknowledged until it is due (dramatiq issue #827), and
# RabbitMQ's consumer_timeout (30 min by default) closes the channel of a
# consumer that holds one longer: every message on it would come back. Five
# minutes is well inside that, and the relay (every JOBS_RELAY_INTERVAL_S)
# makes such a retry at most that much later.
LONGEST_HELD_RETRY_MS = 5 * 60 * 1000


class WorkerLost(Exception):
    """The worker process died during the attempt (recorded by the take-over, never raised)."""


class JobCancelled(Interrupt):
    """The job was cancelled: raised into the thread running its task (``jobs.worker.cancels``).

    An ``Interrupt``, as Dramatiq's time limit is: a task's ``except Exception``
    does not swallow it. Never retried.
    """

    @staticmethod
    def reason(by: str, when: str) -> str:
        """The error a job cancelled by ``by`` (who asked; may be empty) ``when`` records."""
        return f"Cancelled by {by} {when}." if by else f"Cancelled {when}."


class UnknownTask(Exception):
    """A job names a task that cannot be imported (permanent)."""


def smtp_code(exc: BaseException) -> int | None:
    """The SMTP reply code carried by ``exc``, or None."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        # The worst reply decides: one permanent refusal makes the send permanent.
        return max(codes) if codes else None
    code = getattr(exc, "smtp_code", None)
    return code if isinstance(code, int) and code > 0 else None


def is_transient(exc: BaseException) -> bool:
    """True when the same send may succeed later.

    Transient: connection refused/reset/closed, timeouts, SMTP 4xx replies,
    database errors before the send. Permanent: SMTP 5xx (the server refuses
    the recipient or the message), a time limit (the next attempt would run as
    long; a task's ``transient`` may say otherwise) and anything else, such as
    a template bug, which no retry would fix.
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
        OperationalError,
        InterfaceError,
    )
    if isinstance(exc, transient_types):
        return True
    if isinstance(exc, smtplib.SMTPException):
        return False  # no reply code: a client-side SMTP problem such as no usable AUTH method
    # Plain OSError covers "network unreachable" and friends, but not DB errors.
    return isinstance(exc, OSError) and not isinstance(exc, DatabaseError)


@dataclass(frozen=True)
class RetryPolicy:
    """How a task is retried (which errors, how many times, how far apart) and how long an attempt may run.

    A number left None is read from the settings when it is needed
    (``JOBS_MAX_RETRIES``, ``JOBS_MIN_BACKOFF_MS``, ``JOBS_MAX_BACKOFF_MS``;
    ``time_limit_s``: the workers' ``JOBS_TIME_LIMIT_S``). A time limit that
    is not a positive number of seconds fails at import.
    The worker asks it whether a failure gets another attempt and how long to
    wait, records that answer on the job row and hands Dramatiq's Retries
    middleware the same delay (``dramatiq.Retry``); the time limit goes with
    each of the job's messages (``jobs.worker.limits``).
    """

    max_retries: int | None = None
    min_backoff_ms: int | None = None
    max_backoff_ms: int | None = None
    transient: Callable[[BaseException], bool] = is_transient
    time_limit_s: float | None = None

    def __post_init__(self) -> None:
        limit = self.time_limit_s
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int | float) or limit <= 0
        ):
            raise ValueError(f"time_limit_s must be a positive number of seconds, not {limit!r}.")

    @property
    def retry_limit(self) -> int:
        return settings.JOBS_MAX_RETRIES if self.max_retries is None else self.max_retries

    def should_retry(self, retries: int, exc: BaseException) -> bool:
        """Whether the attempt after ``retries`` retries, which raised ``exc``, gets another."""
        return retries < self.retry_limit and self.transient(exc)

    def delay_ms(self, retries: int) -> int:
        """The back-off before the retry that follows ``retries`` retries (Dramatiq's ``compute_backoff``)."""
        factor = settings.JOBS_MIN_BACKOFF_MS if self.min_backoff_ms is None else self.min_backoff_ms
        longest = settings.JOBS_MAX_BACKOFF_MS if self.max_backoff_ms is None else self.max_backoff_ms
        _, delay = compute_backoff(retries, factor=factor, max_backoff=longest)
        return delay


DEFAULT_POLICY = RetryPolicy()


def retry_policy(**options: Any) -> Callable[[F], F]:
    """Decorator: declare how the task function below it is retried and its time limit (:class:`RetryPolicy`).

    Put it under ``@task``::

        @task()
        @retry_policy(max_retries=3, transient=lambda exc: isinstance(exc, TimeoutError), time_limit_s=60)
        def fetch_feed(url): ...

    An unknown option fails at import. On another ``django.tasks`` backend
    the declaration is ignored.
    """
    policy = RetryPolicy(**options)

    def declare(func: Any) -> Any:
        func.retry_policy = policy
        return func

    return declare


def policy_for(task: Task) -> RetryPolicy:
    """The retry policy declared for ``task`` (a django.tasks Task), or the default one."""
    return getattr(task.func, "retry_policy", DEFAULT_POLICY)


def describe(exc: BaseException) -> str:
    """A one-line description of ``exc`` for the job row and the admin."""
    code = smtp_code(exc)
    if isinstance(exc, TimeLimitExceeded):
        return "Time limit exceeded: the attempt ran past the task's time limit and was interrupted"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = "; ".join(f"{addr}: {c} {_text(m)}" for addr, (c, m) in exc.recipients.items())
        return f"Recipient refused ({replies})"
    if code is not None:
        return f"SMTP {code} {_text(getattr(exc, 'smtp_error', b''))}".strip()
    return str(exc) or type(exc).__name__


def smtp_reply(exc: BaseException) -> str:
    """The SMTP server's reply text carried by ``exc``, or ''."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{c} {_text(m)}" for c, m in exc.recipients.values())
    code = smtp_code(exc)
    return f"{code} {_text(getattr(exc, 'smtp_error', b''))}" if code is not None else ""


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
