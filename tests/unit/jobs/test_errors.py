"""The one table that decides which failures are retried, and how they are described."""

import smtplib
import socket

import pytest
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from dramatiq.middleware.time_limit import TimeLimitExceeded

from accounts.emails import AccountGone, RecipientChanged
from accounts.tasks import send_confirmation_email
from jobs.errors import RetryPolicy, UnknownTask, describe, is_transient, policy_for, smtp_code, smtp_reply
from jobs.tasks_api import task


def refused(*replies):
    """SMTPRecipientsRefused with one (code, message) reply per recipient."""
    return smtplib.SMTPRecipientsRefused(
        {f"r{n}@example.com": (code, message.encode()) for n, (code, message) in enumerate(replies)}
    )


TRANSIENT = {
    "421 service closing": smtplib.SMTPResponseException(421, b"4.7.0 Try again later"),
    "450 mailbox busy": smtplib.SMTPDataError(450, b"4.2.1 Mailbox busy"),
    "451 local error": smtplib.SMTPSenderRefused(451, b"4.3.0 Local error", "no-reply@herald.localhost"),
    "452 recipients 4xx": refused((452, "4.5.3 Too many recipients"), (450, "4.2.1 Busy")),
    "server disconnected": smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
    "connection refused": ConnectionRefusedError(111, "Connection refused"),
    "connection reset": ConnectionResetError(104, "Connection reset by peer"),
    "socket timeout": TimeoutError("timed out"),
    "TimeoutError": TimeoutError(),
    "name resolution": socket.gaierror(-3, "Temporary failure in name resolution"),
    "database locked": OperationalError("database is locked"),
    "database gone": InterfaceError("connection already closed"),
}
PERMANENT = {
    "no usable AUTH method": smtplib.SMTPException("No suitable authentication method found."),
    "STARTTLS not supported": smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."),
    "550 no such user": smtplib.SMTPResponseException(550, b"5.1.1 No such user"),
    "552 too big": smtplib.SMTPDataError(552, b"5.3.4 Message too big"),
    "554 rejected": smtplib.SMTPDataError(554, b"5.7.1 Rejected"),
    "535 authentication": smtplib.SMTPAuthenticationError(535, b"5.7.8 Bad credentials"),
    "recipients 5xx": refused((550, "5.1.1 No such user")),
    "recipients 4xx and one 5xx": refused(
        (451, "4.3.0 Later"), (550, "5.1.1 No such user"), (421, "4.7.0 Busy")
    ),
    "ValueError": ValueError("Invalid address; address parts cannot contain newlines."),
    "UnicodeError (IDNA)": UnicodeError("encoding with 'idna' codec failed"),
    "TemplateDoesNotExist": TemplateDoesNotExist("emails/confirmation.txt"),
    "TemplateSyntaxError": TemplateSyntaxError("Invalid block tag"),
    "AccountGone": AccountGone("Not sent: the account a@example.com has been deleted."),
    "RecipientChanged": RecipientChanged("Not sent: the account's address changed."),
    "UnknownTask": UnknownTask("No task can be imported from 'gone.task'."),
    "time limit": TimeLimitExceeded(),
    "IntegrityError": IntegrityError("UNIQUE constraint failed"),
    "DatabaseError": DatabaseError("syntax error"),
}


@pytest.mark.parametrize("exc", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient(exc):
    assert is_transient(exc) is True


@pytest.mark.parametrize("exc", PERMANENT.values(), ids=PERMANENT.keys())
def test_permanent(exc):
    assert is_transient(exc) is False


@pytest.mark.parametrize(
    "exc, code",
    [
        (smtplib.SMTPResponseException(421, b"x"), 421),
        (refused((450, "a"), (550, "b")), 550),
        (refused((452, "a"), (421, "b")), 452),
        (smtplib.SMTPResponseException(-1, b"no reply"), None),
        (smtplib.SMTPServerDisconnected("gone"), None),
        (ValueError("x"), None),
    ],
)
def test_smtp_code_is_the_worst_reply(exc, code):
    assert smtp_code(exc) == code


def test_should_retry_transient_errors_until_the_budget_is_spent(settings):
    settings.JOBS_MAX_RETRIES = 3
    exc = TRANSIENT["421 service closing"]

    assert [RetryPolicy().should_retry(retries, exc) for retries in range(5)] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_should_retry_follows_the_setting(settings):
    settings.JOBS_MAX_RETRIES = 0

    assert RetryPolicy().should_retry(0, TRANSIENT["connection refused"]) is False


@pytest.mark.parametrize("exc", PERMANENT.values(), ids=PERMANENT.keys())
def test_should_retry_never_retries_a_permanent_error(settings, exc):
    settings.JOBS_MAX_RETRIES = 8

    assert RetryPolicy().should_retry(0, exc) is False


def test_a_declared_policy_overrides_the_settings(settings):
    settings.JOBS_MAX_RETRIES = 8
    policy = RetryPolicy(max_retries=1, transient=lambda exc: isinstance(exc, KeyError))

    assert [policy.should_retry(retries, KeyError("x")) for retries in range(3)] == [True, False, False]
    assert policy.should_retry(0, TRANSIENT["connection refused"]) is False


def test_the_delay_doubles_from_the_minimum_up_to_the_maximum_with_jitter(settings):
    settings.JOBS_MIN_BACKOFF_MS, settings.JOBS_MAX_BACKOFF_MS = 1000, 5000

    for retries in range(5):
        # Dramatiq's compute_backoff: the doubled minimum times 1 to 2, or half to all of the maximum above it.
        base = 1000 * 2**retries
        assert min(base, 2500) <= RetryPolicy().delay_ms(retries) <= min(2 * base, 5000)
    assert 10 <= RetryPolicy(min_backoff_ms=10, max_backoff_ms=30).delay_ms(0) <= 20


@task()
def plain():
    """A task with no retry policy of its own."""


def test_a_task_has_the_policy_declared_with_it_or_the_default():
    assert policy_for(send_confirmation_email).transient is is_transient
    assert policy_for(plain) == RetryPolicy()


@pytest.mark.parametrize(
    "exc, description",
    [
        (smtplib.SMTPResponseException(421, b"4.7.0 Try again later"), "SMTP 421 4.7.0 Try again later"),
        (smtplib.SMTPDataError(554, "5.7.1 Rejected"), "SMTP 554 5.7.1 Rejected"),
        (
            refused((550, "5.1.1 No such user")),
            "Recipient refused (r0@example.com: 550 5.1.1 No such user)",
        ),
        (
            refused((450, "4.2.1 Busy"), (550, "5.1.1 Unknown")),
            "Recipient refused (r0@example.com: 450 4.2.1 Busy; r1@example.com: 550 5.1.1 Unknown)",
        ),
        (smtplib.SMTPResponseException(550, b"\xff\xfe caf\xc3\xa9"), "SMTP 550 \ufffd\ufffd caf\u00e9"),
        (ConnectionRefusedError(111, "Connection refused"), "[Errno 111] Connection refused"),
        (
            TimeLimitExceeded(),
            "Time limit exceeded: the attempt ran past the task's time limit and was interrupted",
        ),
        (TimeoutError(), "TimeoutError"),
        (ValueError("bad address"), "bad address"),
    ],
)
def test_describe_is_one_readable_line(exc, description):
    assert describe(exc) == description
    assert "\n" not in describe(exc)


@pytest.mark.parametrize(
    "exc, reply",
    [
        (smtplib.SMTPResponseException(421, b"4.7.0 Try again later"), "421 4.7.0 Try again later"),
        (refused((450, "4.2.1 Busy"), (550, "5.1.1 Unknown")), "450 4.2.1 Busy; 550 5.1.1 Unknown"),
        (smtplib.SMTPServerDisconnected("gone"), ""),
        (ConnectionResetError(104, "reset"), ""),
        (ValueError("x"), ""),
    ],
)
def test_smtp_reply_is_the_servers_text_or_empty(exc, reply):
    assert smtp_reply(exc) == reply
