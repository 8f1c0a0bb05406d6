"""Sending through one SMTP connection per worker thread, keeping the server's reply.

Opening an SMTP connection (TCP, greeting, EHLO, maybe STARTTLS and AUTH) costs
more than sending one message on it; a worker thread keeps its connection and
checks it with NOOP before each reuse.
"""

import smtplib
import threading

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend


class _RecordingSMTP(smtplib.SMTP):
    last_reply = ""

    def data(self, msg):
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
    key = (settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT)
    backend = getattr(_local, "backend", None)
    if backend is not None and (_local.key != key or not _is_alive(backend)):
        close_thread_connection()
        backend = None
    if backend is None:
        backend = get_connection(fail_silently=False)
        backend.open()
        _local.backend, _local.key = backend, key
    return backend


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
        except Exception:  # noqa: BLE001 - closing a broken connection may fail any way
            pass


def send_message(message):
    """Send ``message`` on this thread's connection; return the server's reply.

    Raises the transport's error unchanged (``jobs.errors`` classifies it) and
    drops the connection, whose state is then unknown.
    """
    backend = _thread_backend()
    try:
        backend.send_messages([message])
    except BaseException:
        close_thread_connection()
        raise
    return getattr(backend, "last_reply", "") or "accepted"
