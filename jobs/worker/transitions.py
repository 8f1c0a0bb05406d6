"""The SQL that writes a job's row while it runs: :func:`transition`, the attempt insert, the outcome.

Written as SQL because each runs for every task: the ORM would spend more building a statement than the
database spends running it. Values go through the ORM's adaptation and converters, as if it wrote them.
"""

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Field

from jobs.errors import JobCancelled
from jobs.models import Attempt, Job

# What a claim loads of the job row: what running the task and its TaskResult need. The rest
# stays deferred (loaded on access).
CLAIMED_FIELDS = (  # in the model's field order
    "id",
    "result_id",
    "unique_key",
    "task_path",
    "queue_name",
    "args",
    "kwargs",
    "run_after",
    "status",
    "attempt_count",
    "created_at",
)


@functools.cache
def _claimed_converters(alias):
    """The ORM's value converters for the claimed columns (JSON text to Python on SQLite)."""
    converters = []
    for index, name in enumerate(CLAIMED_FIELDS):
        column = cast(Field, Job._meta.get_field(name)).get_col(Job._meta.db_table)
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
    """For :func:`transition`: add ``by`` to the column (``attempt_count = attempt_count + 1``)."""

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
    db = connections[DEFAULT_DB_ALIAS]
    assigned = {"status": status, **fields}
    params = [
        value.by if isinstance(value, Increment) else _db_value(db, name, value)
        for name, value in assigned.items()
    ]
    params.append(job_id)
    for name, value in expect.items():
        if isinstance(value, tuple):
            params.extend(_db_value(db, name, one) for one in value)
        elif value is not None:
            params.append(_db_value(db, name, value))
    sql = _update_sql(
        db.vendor,
        tuple((name, isinstance(value, Increment)) for name, value in assigned.items()),
        tuple(
            (name, len(value) if isinstance(value, tuple) else value is None)
            for name, value in expect.items()
        ),
        returning,
    )
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            return cursor.fetchone()
        return True if cursor.rowcount else None


def transition_keyed(
    job_id: int, status: str, *, expect: dict[str, Any], unique_key: str, **fields: Any
) -> tuple[Any, ...] | bool | None:
    """:func:`transition` of a job that may hold a job key (``jobs.keys``): an outcome's.

    A job going back to waiting (RETRYING) may meet a newer job with its key:
    while it ran, an enqueue with that key was free to write one, which now
    holds the key among waiting jobs. This job then waits on without its key
    (the newer job does the same work) rather than failing the write on
    ``job_one_waiting_per_key``. The try is a savepoint, so that the writer's
    transaction goes on either way.
    """
    if status != Job.Status.RETRYING or not unique_key:
        return transition(job_id, status, expect=expect, **fields)
    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            return transition(job_id, status, expect=expect, **fields)
    except IntegrityError:
        return transition(job_id, status, expect=expect, **fields, unique_key="")


@functools.lru_cache(maxsize=64)
def _update_sql(vendor, assigned, expected, returning):
    """The UPDATE of :func:`transition` for one shape of arguments (built once per shape)."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    sets = [
        f"{quote(name)} = {quote(name)} + %s" if increment else f"{quote(name)} = %s"
        for name, increment in assigned
    ]
    conditions = [f"{quote('id')} = %s"]
    for name, shape in expected:
        if shape is True:
            conditions.append(f"{quote(name)} IS NULL")
        elif shape is False:
            conditions.append(f"{quote(name)} = %s")
        else:
            conditions.append(f"{quote(name)} IN ({', '.join(['%s'] * shape)})")
    sql = f"UPDATE {quote(Job._meta.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(conditions)}"
    if returning:
        sql += f" RETURNING {', '.join(quote(name) for name in returning)}"
    return sql


def _db_value(db, name, value):
    """``value`` of job column ``name`` as the database driver of ``db`` takes it."""
    if name == "return_value":
        return cast(Field, Job._meta.get_field(name)).get_db_prep_save(value, db)
    if isinstance(value, datetime):
        return db.ops.adapt_datetimefield_value(value)
    return _plain(value)


ATTEMPT_COLUMNS = (
    "job_id",
    "number",
    "message_id",
    "worker_id",
    "started_at",
    "finished_at",
    "duration_ms",
    "outcome",
    "return_value",
    "smtp_reply",
    "error_class",
    "error_message",
    "traceback",
)


def insert_attempt(attempt):
    """Insert ``attempt`` (its ``ATTEMPT_COLUMNS``) unless the job already has an attempt of that number."""
    db = connections[DEFAULT_DB_ALIAS]
    values = [_plain(getattr(attempt, column)) for column in ATTEMPT_COLUMNS]
    for index in (4, 5):  # started_at, finished_at
        values[index] = db.ops.adapt_datetimefield_value(values[index])
    values[8] = Attempt._meta.get_field("return_value").get_db_prep_save(values[8], db)
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(db.vendor), values)


@functools.lru_cache(maxsize=4)
def _insert_sql(vendor):
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return (
        f"INSERT INTO {quote(Attempt._meta.db_table)} ({', '.join(ATTEMPT_COLUMNS)}) "
        f"VALUES ({', '.join(['%s'] * len(ATTEMPT_COLUMNS))}) ON CONFLICT DO NOTHING"
    )


def _plain(value):
    """A status or outcome (a str enum) as the plain string a database driver binds."""
    return str(value) if isinstance(value, str) else value


def write_outcome(attempt: Any, status: str, job_fields: dict[str, Any], unique_key: str = "") -> str | None:
    """Write how ``attempt`` ended the job (``status``, ``job_fields``), then the attempt; the job's status.

    Only the claim holder writes the outcome: if a take-over happened
    meanwhile, the new holder's record wins and this returns None. A retry
    is written only if no cancel was asked meanwhile (and through
    :func:`transition_keyed`, for the job's key ``unique_key``); otherwise the
    job is cancelled, the attempt recorded as failed, and CANCELLED returned.
    """
    held = {"worker_id": attempt.worker_id, "status": Job.Status.RUNNING}
    if status == Job.Status.RETRYING:
        retry = {**held, "cancel_requested_at": None}
        if transition_keyed(attempt.job_id, status, expect=retry, unique_key=unique_key, **job_fields):
            written = status
        else:
            by = Job.objects.filter(pk=attempt.job_id).values_list("cancelled_by", flat=True).first()
            cancelled = {**job_fields, "finished_at": attempt.finished_at}
            cancelled.update(last_error=JobCancelled.reason(by or "", "while it ran"), due_at=None)
            cancelled.pop("enqueued_at", None)
            written = transition(attempt.job_id, Job.Status.CANCELLED, expect=held, **cancelled) and (
                Job.Status.CANCELLED
            )
            if written:
                attempt.outcome = Attempt.Outcome.FAILED
    else:
        written = transition(attempt.job_id, status, expect=held, **job_fields) and status
    # A take-over may already have written this attempt as lost: that record stays.
    insert_attempt(attempt)
    return written or None
