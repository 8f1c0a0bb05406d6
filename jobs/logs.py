"""One log line per job attempt, and the JSON formatter behind ``LOG_FORMAT=json`` (docs/monitoring.md#logs).

Loaded while Django configures logging, before the apps are ready: it must not import models at the top.
"""

import json
import logging
import threading
import time
from datetime import UTC, datetime

logger = logging.getLogger("jobs.attempts")

QUIET_OUTCOMES = {"succeeded"}


def log_attempt(attempt, *, outcome, duration_ms, error_class=""):
    """Log how ``attempt`` (an ``Attempt``) ended: INFO if it succeeded, WARNING otherwise."""
    fields = {
        "job_id": attempt.job_id,
        "message_id": attempt.message_id,
        "attempt": attempt.number,
        "outcome": str(outcome),
        "duration_ms": duration_ms,
        "worker_id": attempt.worker_id,
        "error_class": error_class,
    }
    level = logging.INFO if fields["outcome"] in QUIET_OUTCOMES else logging.WARNING
    logger.log(
        level,
        "job=%s message=%s attempt=%s outcome=%s duration_ms=%s%s",
        fields["job_id"],
        fields["message_id"],
        fields["attempt"],
        fields["outcome"],
        fields["duration_ms"],
        f" error={error_class}" if error_class else "",
        extra={"fields": fields},
    )


def log_lost_attempts(lost, *, finished_at):
    """Log ``lost``, the attempts a take-over just marked lost (finished at ``finished_at``)."""
    for attempt in lost:
        duration_ms = int((finished_at - attempt.started_at).total_seconds() * 1000)
        log_attempt(
            attempt, outcome=attempt.outcome, duration_ms=duration_ms, error_class=attempt.error_class
        )


def logging_config(*, level, log_format):
    """Django's ``LOGGING``: every record to stderr at ``level``, as "plain" text or "json" (:class:`JsonFormatter`)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "jobs.logs.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format}},
        "root": {"handlers": ["console"], "level": level},
        # The framework logs every task's start and end at INFO; Herald's attempt line says the same.
        "loggers": {name: {"level": _framework_level(level)} for name in TASKS_FRAMEWORK_LOGGERS},
    }


# The loggers of django.tasks (Django 6) and of the django-tasks backport.
TASKS_FRAMEWORK_LOGGERS = ("django.tasks", "django_tasks")


def _framework_level(level):
    """``level`` for the framework's loggers, without their INFO lines (DEBUG still shows everything)."""
    return "WARNING" if logging.getLevelName(level) == logging.INFO else level


class OutageLog:
    """Logs the failures of parts retried often without flooding the log; thread-safe.

    :meth:`failed` (called from inside the ``except``) logs the first failure
    of a part with its traceback, then a traceback again at most once per
    ``traceback_every_s`` (None: not until the part worked again); the
    failures in between are one WARNING line naming the exception with
    ``repeats``, nothing without. :meth:`worked` logs the recovery of a
    failing part.
    """

    def __init__(self, logger, *, traceback_every_s=None, repeats=False, clock=time.monotonic):
        self.logger = logger
        self.traceback_every_s = traceback_every_s
        self.repeats = repeats
        self.clock = clock
        self.lock = threading.Lock()
        self.last_traceback_at = {}  # failing part -> clock() of its last full traceback

    def failed(self, part, exc, message=None):
        """Log that ``part`` failed with ``exc``: ``message``, or "<part> failed; trying again until it works"."""
        now = self.clock()
        with self.lock:
            last = self.last_traceback_at.get(part)
            every = self.traceback_every_s
            full = last is None or (every is not None and now - last >= every)
            if full:
                self.last_traceback_at[part] = now
        if message is None:
            message = f"{part} failed; trying again until it works"
        if full:
            self.logger.warning(message, exc_info=exc)
        elif self.repeats:
            self.logger.warning(
                "%s: %s: %s (traceback at most once a minute)", message, type(exc).__name__, exc
            )

    def worked(self, part):
        """Log that ``part`` works again, if it was failing."""
        with self.lock:
            was_failing = self.last_traceback_at.pop(part, None) is not None
        if was_failing:
            self.logger.info("%s works again", part)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, and the record's ``fields``.

    ``fields`` is what a caller passed as ``extra={"fields": {...}}``; other
    records (Django's, Dramatiq's) get the four base keys, and ``exception``
    when they carry one, so every line of a process parses.
    """

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)
