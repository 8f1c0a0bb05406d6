"""A million job rows, written straight into the SQLite file in one transaction.

Not through the queue and not through the ORM: ``executemany`` of plain tuples
with the sqlite3 module. Every column the model has gets a value (its default
unless given here), so a field added later does not break the seed.
"""

import json
import sqlite3
from datetime import UTC, datetime, timedelta

# Of every 100 jobs: how many end up in each status (the rest succeeded).
STATUS_MIX = (("failed", 4), ("retrying", 1), ("queued", 1), ("running", 1))
SPREAD = timedelta(days=90)
# Every seeded job is a confirmation email (arguments: a user id and the address).
SEEDED_TASK = "accounts.tasks.send_confirmation_email"


def seed_address(n):
    return f"seeded-{n:07d}@example.org"


def _status(n):
    slot = n % 100
    for status, share in STATUS_MIX:
        if slot < share:
            return status
        slot -= share
    return "succeeded"


def _db_datetime(value):
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def seed_jobs(database_path, count, *, batch=50_000):
    """Insert ``count`` Job rows, oldest first, spread over the last 90 days; seconds taken."""
    import time

    from django.db import connection

    from jobs.models import Job

    fields = [f for f in Job._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    defaults = [
        f.get_db_prep_save(f.get_default(), connection) if f.has_default() or f.null else "" for f in fields
    ]
    position = {f.name: i for i, f in enumerate(fields)}
    now = datetime.now(UTC).replace(tzinfo=None)
    step = SPREAD / max(count, 1)

    def row(n):
        values = list(defaults)
        status = _status(n)
        created = now - SPREAD + step * n
        address = seed_address(n)
        values[position["task_path"]] = SEEDED_TASK
        values[position["queue_name"]] = "emails"
        values[position["args"]] = json.dumps([n + 1, address])
        values[position["label"]] = address
        values[position["status"]] = status
        values[position["created_at"]] = _db_datetime(created)
        values[position["enqueued_at"]] = values[position["created_at"]]
        values[position["due_at"]] = values[position["created_at"]]
        if status in ("succeeded", "failed"):
            finished = _db_datetime(created + timedelta(milliseconds=40))
            values[position["finished_at"]] = finished
            values[position["last_attempt_at"]] = finished
            values[position["attempt_count"]] = 1 if status == "succeeded" else 4
        if status == "succeeded":
            values[position["return_value"]] = json.dumps("250 2.0.0 Message accepted for delivery")
        elif status in ("failed", "retrying"):
            values[position["last_error"]] = "SMTP 421 4.3.2 Service not available, try again later"
        return values

    sql = f"INSERT INTO {Job._meta.db_table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    started = time.perf_counter()
    db = sqlite3.connect(database_path, timeout=60, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        for start in range(0, count, batch):
            db.executemany(sql, (row(n) for n in range(start, min(count, start + batch))))
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return time.perf_counter() - started
