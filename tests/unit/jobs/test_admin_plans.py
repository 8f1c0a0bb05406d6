"""Every job admin page reads jobs through indexes, in a bounded number of queries, on SQLite and PostgreSQL.

The plans are asked of the database for each query a page makes: on SQLite
``EXPLAIN QUERY PLAN`` must show no scan of the job table without an index and
no sort of its rows (a temporary B-tree for ORDER BY); on PostgreSQL, with
sequential scans disabled for the session, ``EXPLAIN`` must show no sequential
scan of the job table, which it then shows only when no index fits.
"""

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from jobs import selectors
from jobs.models import Attempt, Job
from tests.support.factories import CONFIRMATION, make_job

RARE_TASK = "accounts.maintenance.expire_unconfirmed"
# Session, user, permissions, the summary (a count per status, one statement for the finished
# windows, one for the chart), one probe per task, the drill-down's bounds and its probes (one
# statement), the count, one page of ids and its rows: whatever the number of rows or days.
MAX_QUERIES_PER_PAGE = 20


@pytest.fixture
def viewer(db):
    user = User.objects.create_user(email="viewer@herald.test", password="x", is_staff=True, is_active=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="jobs", codename="view_job"))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def jobs(db):
    made = []
    for n, status in enumerate(Job.Status.values * 3):
        task = RARE_TASK if n % 4 == 0 else CONFIRMATION
        job = make_job(f"user{n}@example.com", status=status, task_path=task, finished_at=timezone.now())
        made.append(job)
    failed = next(job for job in made if job.status == Job.Status.FAILED)
    for number in (1, 2):
        Attempt.objects.create(
            job=failed, number=number, started_at=timezone.now(), outcome=Attempt.Outcome.RETRY
        )
    return made


def pages(jobs):
    """``{name: path}`` of every admin page for jobs."""
    base = reverse("admin:jobs_job_changelist")
    today = timezone.localdate()
    year, month, day = today.year, today.month, today.day
    job = jobs[-1]
    out = {"list": base, "page 2": f"{base}?p=2"}
    out.update({f"status {status}": f"{base}?status__exact={status}" for status in Job.Status.values})
    out.update(
        {
            "task": f"{base}?task={RARE_TASK}",
            "task and status": f"{base}?task={RARE_TASK}&status__exact=failed",
            "year": f"{base}?created_at__year={year}",
            "month": f"{base}?created_at__year={year}&created_at__month={month}",
            "day": f"{base}?created_at__year={year}&created_at__month={month}&created_at__day={day}",
            "status and day": f"{base}?status__exact=failed&created_at__year={year}"
            f"&created_at__month={month}&created_at__day={day}",
            "search by address": f"{base}?q=user1",
            "search by result id": f"{base}?q={job.result_id}",
            "job page": reverse("admin:jobs_job_change", args=[job.pk]),
            "job page by result id": reverse("admin:jobs_job_change", args=[str(job.result_id)]),
            "schedules": reverse("admin:jobs_schedules"),
        }
    )
    return out


class Recorder:
    """Each SQL statement and its parameters, as the page sent them."""

    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        self.queries.append((sql, params))
        return execute(sql, params, many, context)


def job_table_plans(queries):
    """``[(sql, plan text)]`` for each SELECT that reads the job table."""
    table = Job._meta.db_table
    out = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET enable_seqscan = off")
        for sql, params in queries:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")) or f'"{table}"' not in sql:
                continue
            explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
            cursor.execute(explain + sql, params)
            out.append((sql, "\n".join(str(row[-1]) for row in cursor.fetchall())))
        if connection.vendor == "postgresql":
            cursor.execute("RESET enable_seqscan")
    return out


def unindexed(plan, *, may_sort):
    """The part of ``plan`` that reads the job table without an index (or sorts its rows), or ''."""
    table = Job._meta.db_table
    bad = []
    for line in plan.splitlines():
        if connection.vendor == "sqlite":
            if line.strip() == f"SCAN {table}" or ("TEMP B-TREE" in line and not may_sort):
                bad.append(line)
        elif f"Seq Scan on {table}" in line:
            bad.append(line)
    return "\n".join(bad)


def fetch(client, path):
    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return recorder.queries


def test_every_admin_page_reads_jobs_through_an_index(viewer, jobs):
    failures = {}
    for name, path in pages(jobs).items():
        for sql, plan in job_table_plans(fetch(viewer, path)):
            # A search finds its few rows on indexes, then sorts them: what it finds, not the table.
            if bad := unindexed(plan, may_sort=name.startswith("search")):
                failures.setdefault(name, []).append(f"{sql}\n  -> {bad}")
    assert not failures, "\n\n".join(f"{name}:\n" + "\n".join(lines) for name, lines in failures.items())


def test_every_admin_page_makes_a_bounded_number_of_queries(viewer, jobs):
    counts = {name: len(fetch(viewer, path)) for name, path in pages(jobs).items()}

    assert max(counts.values()) <= MAX_QUERIES_PER_PAGE, str(counts)


def test_the_summary_counts_stop_past_the_limit(db):
    for n in range(5):
        make_job(f"s{n}@example.com", status=Job.Status.SUCCEEDED)
    make_job("f@example.com", status=Job.Status.FAILED)

    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        summary = selectors.stats(count_limit=3)

    assert summary["jobs"]["succeeded"] == 4 and summary["jobs"]["failed"] == 1
    counts = [sql for sql, _ in recorder.queries if "COUNT(" in sql.upper()]
    assert counts and all("LIMIT" in sql.upper() or "finished_at" in sql for sql in counts), counts


def test_the_summary_shows_more_than_the_limit(viewer, monkeypatch):
    monkeypatch.setattr("jobs.admin.changelist.LargeTablePaginator.count_limit", 2)
    for n in range(3):
        make_job(f"s{n}@example.com", status=Job.Status.SUCCEEDED)

    page = viewer.get(reverse("admin:jobs_job_changelist")).content.decode()

    assert '<td class="num" id="count-succeeded">more than 2</td>' in page
    assert '<td class="num" id="count-failed">0</td>' in page


def test_the_task_filter_probes_the_index_once_per_task(db):
    for n, task in enumerate([CONFIRMATION, RARE_TASK, CONFIRMATION, RARE_TASK]):
        make_job(f"t{n}@example.com", task_path=task)

    recorder = Recorder()
    with connection.execute_wrapper(recorder):
        paths = selectors.task_paths()

    assert paths == sorted({CONFIRMATION, RARE_TASK})
    assert len(recorder.queries) == 3  # one per task, and one that finds none after the last
    assert all("LIMIT 1" in sql for sql, _ in recorder.queries), recorder.queries
