"""A million job rows and their attempts, written straight into the database in one transaction.

Not through the queue and not through the ORM: SQLite gets ``executemany`` of
plain tuples (the sqlite3 module), PostgreSQL a ``COPY`` (psycopg). Every
column the model has gets a value (its default unless given here), so a field
added later does not break the seed. Job ids are 1..count, oldest first.
"""

import json
import sqlite3
import time
import uuid
from datetime import UTC, datetime, timedelta

# Of every 100 jobs: how many end up in each status (the rest succeeded).
STATUS_MIX = (("failed", 4), ("retrying", 1), ("queued", 1), ("running", 1))
# Of every 20 jobs: which task, on which queue (the rest are confirmation emails).
TASK_MIX = (
    ("accounts.tasks.send_password_reset_email", "emails", 4),
    ("accounts.tasks.send_account_exists_email", "emails", 3),
    ("accounts.maintenance.expire_unconfirmed", "default", 1),
)
SEEDED_TASK = "accounts.tasks.send_confirmation_email"
SPREAD = timedelta(days=90)
# Attempt rows: every failed or retrying job has its attempts; one succeeded job in this many has its one.
SUCCEEDED_WITH_ATTEMPT = 10
ATTEMPTS_BY_STATUS = {"failed": 4, "retrying": 1}
SMTP_ERROR = "SMTP 421 4.3.2 Service not available, try again later"
SMTP_OK = "250 2.0.0 Message accepted for delivery"


def seed_address(n):
    return f"seeded-{n:07d}@example.org"


def seed_result_id(n):
    """The result id of seeded job ``n`` (its id is ``n + 1``): a search by result id can find it."""
    return uuid.UUID(int=n + 1)


def _status(n):
    slot = n % 100
    for status, share in STATUS_MIX:
        if slot < share:
            return status
        slot -= share
    return "succeeded"


def _task(n):
    slot = (n // 100) % 20  # a run of 100 jobs per task, each run with the whole status mix
    for task, queue, share in TASK_MIX:
        if slot < share:
            return task, queue
        slot -= share
    return SEEDED_TASK, "emails"


class Rows:
    """The rows to write, as each database's driver takes them (``vendor``: ``sqlite`` or ``postgresql``)."""

    def __init__(self, vendor, count):
        from jobs.models import Attempt, Job

        self.vendor = vendor
        self.count = count
        self.now = datetime.now(UTC).replace(tzinfo=None)
        self.step = SPREAD / max(count, 1)
        self.job_fields = [f for f in Job._meta.concrete_fields]
        self.attempt_fields = [f for f in Attempt._meta.concrete_fields if not f.primary_key]
        self.job_defaults = [self._default(f) for f in self.job_fields]
        self.attempt_defaults = [self._default(f) for f in self.attempt_fields]
        self.job_at = {f.name: i for i, f in enumerate(self.job_fields)}
        self.attempt_at = {f.name: i for i, f in enumerate(self.attempt_fields)}

    def _default(self, field):
        if field.primary_key or not field.has_default():
            return None if field.null else ""
        value = field.get_default()
        if field.get_internal_type() == "JSONField":
            return json.dumps(value)
        return value

    def time(self, value):
        if self.vendor == "sqlite":
            return value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return value.strftime("%Y-%m-%d %H:%M:%S.%f+00")

    def created(self, n):
        return self.now - SPREAD + self.step * n

    def job(self, n):
        values = list(self.job_defaults)
        at = self.job_at
        status = _status(n)
        task, queue = _task(n)
        created = self.created(n)
        address = seed_address(n) if queue == "emails" else ""
        result_id = seed_result_id(n)
        values[at["id"]] = n + 1
        values[at["result_id"]] = result_id.hex if self.vendor == "sqlite" else str(result_id)
        values[at["task_path"]] = task
        values[at["queue_name"]] = queue
        values[at["args"]] = json.dumps([n + 1, address] if address else [])
        values[at["label"]] = address
        values[at["status"]] = status
        values[at["message_id"]] = f"seeded-message-{n:07d}"
        for name in ("created_at", "enqueued_at", "due_at"):
            values[at[name]] = self.time(created)
        if status in ("succeeded", "failed"):
            finished = self.time(created + timedelta(milliseconds=40))
            values[at["finished_at"]] = finished
            values[at["last_attempt_at"]] = finished
        values[at["attempt_count"]] = self.attempts_of(n, status)
        if status == "succeeded":
            values[at["return_value"]] = json.dumps(SMTP_OK)
        elif status in ("failed", "retrying"):
            values[at["last_error"]] = SMTP_ERROR
        return values

    def attempts_of(self, n, status):
        if status == "succeeded":
            return 1
        return ATTEMPTS_BY_STATUS.get(status, 0)

    def has_attempt_rows(self, n, status):
        return status in ATTEMPTS_BY_STATUS or (status == "succeeded" and n % SUCCEEDED_WITH_ATTEMPT == 0)

    def attempts(self, n):
        status = _status(n)
        if not self.has_attempt_rows(n, status):
            return
        total = self.attempts_of(n, status)
        started = self.created(n)
        at = self.attempt_at
        for number in range(1, total + 1):
            values = list(self.attempt_defaults)
            last = number == total
            outcome = (
                "succeeded"
                if status == "succeeded"
                else ("failed" if last and status == "failed" else "retry")
            )
            values[at["job"]] = n + 1
            values[at["number"]] = number
            values[at["started_at"]] = self.time(started)
            values[at["finished_at"]] = self.time(started + timedelta(milliseconds=40))
            values[at["duration_ms"]] = 40
            values[at["outcome"]] = outcome
            if outcome == "succeeded":
                values[at["smtp_reply"]] = SMTP_OK
            else:
                values[at["error_class"]] = "SMTPServerDisconnected"
                values[at["error_message"]] = SMTP_ERROR
            started += timedelta(seconds=2**number)
            yield values


def seed_jobs(database_path, count, *, batch=50_000):
    """Insert ``count`` Job rows (and attempts) into the SQLite file, oldest first; seconds taken."""
    from jobs.models import Attempt, Job

    rows = Rows("sqlite", count)
    started = time.perf_counter()
    db = sqlite3.connect(database_path, timeout=60, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        for table, fields, make in (
            (Job._meta.db_table, rows.job_fields, lambda n: [rows.job(n)]),
            (Attempt._meta.db_table, rows.attempt_fields, lambda n: rows.attempts(n)),
        ):
            columns = ", ".join(f.column for f in fields)
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(fields))})"
            for start in range(0, count, batch):
                db.executemany(sql, (r for n in range(start, min(count, start + batch)) for r in make(n)))
        db.execute("COMMIT")
        db.execute("ANALYZE")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return time.perf_counter() - started


def seed_jobs_postgres(count):
    """Insert ``count`` Job rows (and attempts) with ``COPY`` through Django's connection; seconds taken."""
    from django.db import connection, transaction

    from jobs.models import Attempt, Job

    rows = Rows("postgresql", count)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for table, fields, make in (
            (Job._meta.db_table, rows.job_fields, lambda n: [rows.job(n)]),
            (Attempt._meta.db_table, rows.attempt_fields, lambda n: rows.attempts(n)),
        ):
            columns = ", ".join(f.column for f in fields)
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for n in range(count):
                    for values in make(n):
                        copy.write_row(values)
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{Job._meta.db_table}', 'id'), %s)", [count])
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {Job._meta.db_table}")
        cursor.execute(f"VACUUM ANALYZE {Attempt._meta.db_table}")
    return time.perf_counter() - started
