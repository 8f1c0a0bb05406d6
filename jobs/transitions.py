"""The SQL that writes a job's row while it runs: :func:`transition` and the attempt insert.

Written as SQL because each runs for every task: the ORM would spend more
building a statement than the database spends running it. Values go through
the ORM's own adaptation (datetimes, JSON) and come back through its
converters, so the rows read as if the ORM had written them.
"""

import functools
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from jobs.models import Attempt, Job

# What a claim loads of the job row; the rest stays deferred (loaded on access).
CLAIMED_FIELDS = ("id", "task_path", "args", "kwargs", "status", "attempts")  # in the model's field order


@functools.cache
def _claimed_converters(alias):
    """The ORM's value converters for the claimed columns (JSON text to Python on SQLite)."""
    converters = []
    for index, name in enumerate(CLAIMED_FIELDS):
        column = Job._meta.get_field(name).get_col(Job._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
            converters.append((index, convert, column))
    return tuple(converters)


def claimed_job(row):
    values = list(row)
    for index, convert, column in _claimed_converters(connection.alias):
        values[index] = convert(values[index], column, connection)
    return Job.from_db(connection.alias, CLAIMED_FIELDS, values)


@dataclass(frozen=True)
class Increment:
    """For :func:`transition`: add ``by`` to the column (``attempts = attempts + 1``)."""

    by: int


def transition(job_id, status, *, expect, returning=(), **fields):
    """The one statement that changes a job's status: to ``status``, with ``fields``, if the row matches ``expect``.

    ``expect`` maps a column to a value (a tuple: any of them; None: NULL).
    Returns the ``returning`` columns of the row changed, or True; None when
    no row matched (another delivery holds the job, or it finished). One
    conditional UPDATE, so of two writers racing for a row exactly one
    matches. Written as SQL because it runs several times for every task: the
    ORM would spend more building the statement than the database spends
    running it.
    """
    quote = connection.ops.quote_name
    sets, params = [], []
    for name, value in {"status": status, **fields}.items():
        if isinstance(value, Increment):
            sets.append(f"{quote(name)} = {quote(name)} + %s")
            params.append(value.by)
        else:
            sets.append(f"{quote(name)} = %s")
            params.append(_db_value(name, value))
    conditions = [f"{quote('id')} = %s"]
    params.append(job_id)
    for name, value in expect.items():
        if value is None:
            conditions.append(f"{quote(name)} IS NULL")
        elif isinstance(value, tuple):
            conditions.append(f"{quote(name)} IN ({', '.join(['%s'] * len(value))})")
            params.extend(_db_value(name, one) for one in value)
        else:
            conditions.append(f"{quote(name)} = %s")
            params.append(_db_value(name, value))
    sql = f"UPDATE {quote(Job._meta.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(conditions)}"
    if returning:
        sql += f" RETURNING {', '.join(quote(name) for name in returning)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            return cursor.fetchone()
        return True if cursor.rowcount else None


def _db_value(name, value):
    """``value`` of job column ``name`` as the database driver takes it."""
    if name == "return_value":
        return _json(Job, name, value)
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return _plain(value)


ATTEMPT_COLUMNS = (
    "job_id", "number", "message_id", "worker", "started_at", "finished_at", "duration_ms",
    "outcome", "return_value", "smtp_reply", "error_class", "error_message", "traceback",
)


def insert_attempt(attempt):
    """Insert ``attempt`` (its ``ATTEMPT_COLUMNS``) unless the job already has an attempt of that number."""
    ops = connection.ops
    values = [_plain(getattr(attempt, column)) for column in ATTEMPT_COLUMNS]
    for index in (4, 5):  # started_at, finished_at
        values[index] = ops.adapt_datetimefield_value(values[index])
    values[8] = _json(Attempt, "return_value", values[8])
    sql = (
        f"INSERT INTO {ops.quote_name(Attempt._meta.db_table)} ({', '.join(ATTEMPT_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(values))}) ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)


def _json(model, name, value):
    """``value`` as the database takes it for JSON field ``name`` of ``model``."""
    return model._meta.get_field(name).get_db_prep_save(value, connection)


def _plain(value):
    """A status or outcome (a str enum) as the plain string a database driver binds."""
    return str(value) if isinstance(value, str) else value
