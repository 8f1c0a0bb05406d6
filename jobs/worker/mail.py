"""Sending through one SMTP connection per worker thread, keeping the server's reply.

Each message names its job in an ``X-Herald-Job`` header.
"""

import smtplib
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend

# A connection idle longer than this gets a NOOP before it is reused.
CHECK_IDLE_AFTER_S = 5.0
JOB_HEADER = "X-Herald-Job"

_current_job = ContextVar("herald_current_job", default=None)


@contextmanager
def sending_for_job(job_id):
    """Within this block, messages sent here carry ``job_id`` in their ``X-Herald-Job`` header."""
    token = _current_job.set(job_id)
    try:
        yield
    finally:
        _current_job.reset(token)


class _RecordingSMTP(smtplib.SMTP):
    last_reply = ""
    # Whether the current mail transaction got as far as DATA (so the server may have the message).
    data_sent = False

    def mail(self, sender, options=()):
        self.data_sent = False
        return super().mail(sender, options)

    def data(self, msg):
        self.data_sent = True
        code, text = super().data(msg)
        self.last_reply = f"{code} {text.decode('utf-8', 'replace')}"
        return code, text


class _RecordingSMTPSSL(smtplib.SMTP_SSL, _RecordingSMTP):
    pass


class RecordingSMTPBackend(EmailBackend):
    """Django's SMTP backend, remembering the server's reply to DATA."""

    @property
    def connection_class(self):
        return _RecordingSMTPSSL if self.use_ssl else _RecordingSMTP

    @property
    def last_reply(self):
        return getattr(self.connection, "last_reply", "")


_local = threading.local()


def _thread_backend():
    """This thread's backend, connected; and whether its connection was reused unchecked.

    Opening an SMTP connection costs more than sending one message on it, so a thread keeps its
    own. One idle for ``CHECK_IDLE_AFTER_S`` is checked with NOOP before reuse; one used a moment
    ago is not (servers keep idle connections for minutes, RFC 5321 asks for five), and should
    the server have dropped it, the send fails before DATA and goes out once on a new one.
    """
    key = (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT)
    backend = getattr(_local, "backend", None)
    unchecked = (
        backend is not None and time.monotonic() - getattr(_local, "used_at", 0.0) < CHECK_IDLE_AFTER_S
    )
    if backend is not None and (_local.key != key or not (unchecked or _is_alive(backend))):
        close_thread_connection()
        backend = None
    if backend is None:
        backend = get_connection(fail_silently=False)
        backend.open()
        _local.backend, _local.key = backend, key
        unchecked = False
    return backend, unchecked


def _is_alive(backend):
    if not isinstance(backend, EmailBackend):
        return True  # console, locmem, file: nothing goes stale
    if backend.connection is None:
        return False
    try:
        return backend.connection.noop()[0] == 250
    except (smtplib.SMTPException, OSError):
        return False


def close_thread_connection():
    """Close this thread's connection, if any (after an error, or at shutdown)."""
    backend = getattr(_local, "backend", None)
    _local.backend = None
    if backend is not None:
        try:
            backend.close()
        except Exception:
            pass


def _dropped_before_data(backend):
    """True when the server closed the connection before this message's DATA began."""
    return backend.connection is not None and not getattr(backend.connection, "data_sent", True)


def _send_on(backend, message):
    try:
        backend.send_messages([message])
    except BaseException:
        close_thread_connection()
        raise


def send_message(message):
    """Send ``message`` on this thread's connection; return the server's reply.

    Raises the transport's error unchanged (``jobs.errors`` classifies it) and
    drops the connection, whose state is then unknown.
    """
    job_id = _current_job.get()
    if job_id is not None:
        message.extra_headers[JOB_HEADER] = str(job_id)
    backend, unchecked = _thread_backend()
    try:
        backend.send_messages([message])
    except smtplib.SMTPServerDisconnected:
        if not (unchecked and _dropped_before_data(backend)):
            close_thread_connection()
            raise
        close_thread_connection()
        backend, _ = _thread_backend()
        _send_on(backend, message)
    except BaseException:
        close_thread_connection()
        raise
    _local.used_at = time.monotonic()
    return getattr(backend, "last_reply", "") or "accepted"
