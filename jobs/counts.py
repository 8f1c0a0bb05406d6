"""How many jobs: per status, finished in a window or per hour, and attempts per outcome.

Each count walks a range of one of ``Job``'s or ``Attempt``'s indexes; the
read side (``jobs.selectors``) builds the admin's summary and chart from them.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from jobs.models import Attempt, Job

CHART_HOURS = 24


def _jobs(task: str | None) -> QuerySet[Job]:
    """Every job, or the jobs of the task at dotted path ``task``."""
    return Job.objects.filter(task_path=task) if task else Job.objects.all()


def status_counts(task: str | None = None, *, limit: int | None = None) -> dict[str, int]:
    """``{status: number of jobs}`` for every status, zeros included; of one task's jobs with ``task``.

    Each count is a range of the status index (or of the task's (task, status)
    index). With ``limit`` a count stops at ``limit + 1`` ("more than
    ``limit``"), so the admin's summary never walks the million succeeded
    jobs. Without it, succeeded jobs (most of the table) are counted as the
    total (a bare COUNT) less the other statuses. The counts are read one
    after the other, not in one snapshot: under a burst of writes they may be
    off by the few jobs that changed meanwhile.
    """
    counts = dict.fromkeys(Job.Status.values, 0)
    for status in counts:
        if status != Job.Status.SUCCEEDED or task or limit is not None:
            jobs = _jobs(task).filter(status=status).order_by()
            counts[status] = (jobs if limit is None else jobs[: limit + 1]).count()
    if not task and limit is None:
        counts[Job.Status.SUCCEEDED] = max(Job.objects.count() - sum(counts.values()), 0)
    return counts


def attempt_outcome_counts() -> dict[str, int]:
    """``{outcome: number of attempts}`` for the outcomes there are."""
    return dict(Attempt.objects.order_by().values_list("outcome").annotate(n=Count("id")))


def attempt_durations(bounds_ms: Iterable[int]) -> list[dict[str, Any]]:
    """Per outcome of the finished attempts: ``{"outcome", "total", "sum_ms", "at_most": {bound: count}}``.

    One query: for each bound in ``bounds_ms``, how many attempts took at most that long.
    """
    counts = {f"le_{ms}": Count("id", filter=Q(duration_ms__lte=ms)) for ms in bounds_ms}
    rows = (
        Attempt.objects.order_by()
        .filter(duration_ms__isnull=False)
        .values("outcome")
        .annotate(total=Count("id"), sum_ms=Sum("duration_ms"), **counts)
    )
    return [
        {
            "outcome": row["outcome"],
            "total": row["total"],
            "sum_ms": row["sum_ms"] or 0,
            "at_most": {ms: row[f"le_{ms}"] for ms in bounds_ms},
        }
        for row in rows
    ]


def finished_between(
    status: str, start: datetime, end: datetime | None = None, task: str | None = None
) -> int:
    """How many jobs (of ``task``, or all) reached ``status`` (succeeded or failed) in [start, end)."""
    return finished_counts({"n": (status, start, end)}, task)["n"]


def finished_counts(
    windows: Mapping[str, tuple[str, datetime, datetime | None]], task: str | None = None
) -> dict[str, int]:
    """``{name: count}`` for each ``name: (status, start, end)``: jobs that reached ``status`` in [start, end).

    One statement of one ``COUNT(*)`` subquery per window, each a range of
    the (status, finished_at) index (or the task's (task, status,
    finished_at)). Written out: building the chart's 48 counts with the ORM
    costs ten times the counting (see docs/benchmarks.md), and one filtered
    aggregate over the day would test every window on every row.
    """
    if not windows:
        return {}
    ops = connection.ops
    column = {name: ops.quote_name(name) for name in ("status", "finished_at", "task_path")}  # no db_column
    where = [f"{column['status']} = %s", f"{column['finished_at']} >= %s"]
    parts, params = [], []
    for status, start, end in windows.values():
        conditions = where + ([f"{column['finished_at']} < %s"] if end else [])
        conditions += [f"{column['task_path']} = %s"] if task else []
        parts.append(
            f"(SELECT COUNT(*) FROM {ops.quote_name(Job._meta.db_table)} WHERE {' AND '.join(conditions)})"
        )
        params += [status, ops.adapt_datetimefield_value(start)]
        params += [ops.adapt_datetimefield_value(end)] if end else []
        params += [task] if task else []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(parts)}", params)
        row = cursor.fetchone()
    return dict(zip(windows, row, strict=True))


def hourly_outcomes(
    *, hours: int = CHART_HOURS, now: datetime | None = None, task: str | None = None
) -> list[dict[str, Any]]:
    """Jobs sent and failed in each of the last ``hours`` clock hours, oldest first (one query).

    Each item is ``{"start": datetime, "sent": int, "failed": int}``; the last
    one is the current, unfinished hour.
    """
    now = now or timezone.now()
    current = now.replace(minute=0, second=0, microsecond=0)
    starts = [current - timedelta(hours=n) for n in range(hours - 1, -1, -1)]
    windows = {}
    for n, start in enumerate(starts):
        end = start + timedelta(hours=1)
        windows[f"sent_{n}"] = (Job.Status.SUCCEEDED, start, end)
        windows[f"failed_{n}"] = (Job.Status.FAILED, start, end)
    counts = finished_counts(windows, task)
    return [
        {"start": start, "sent": counts[f"sent_{n}"], "failed": counts[f"failed_{n}"]}
        for n, start in enumerate(starts)
    ]
