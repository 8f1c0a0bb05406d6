"""One log line per job attempt, and the JSON formatter behind ``LOG_FORMAT=json`` (docs/monitoring.md#logs).

Loaded while Django configures logging, before the apps are ready: it must not import models at the top.
"""

import json
import logging
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
