"""Declaring schedules (``jobs.schedules``), their ticks, and enqueueing one run per tick (``jobs.services``)."""

import importlib
import re
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from jobs import scheduler, schedules
from jobs.models import Job, ScheduleRun
from jobs.schedules import InvalidSchedule, declare_schedule, schedule
from jobs.services import prune_finished_jobs, run_schedule
from tests.support import taskfns

T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def declared():
    """Declare schedules for one test: ``declared(task, cron=...)``; all forgotten after."""
    names = []

    def declare(task, **options):
        made = declare_schedule(task, **options)
        names.append(made.name)
        return made

    yield declare
    for name in names:
        schedules.forget_schedule(name)


def import_module_source(tmp_path, monkeypatch, name, source):
    """Import ``source`` as module ``name``, as the jobs app imports an app's tasks module."""
    (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(name)


# declaring ----------------------------------------------------------------------------------------


def test_a_schedule_stacked_on_a_task_is_collected_under_the_tasks_path(tmp_path, monkeypatch):
    module = import_module_source(
        tmp_path,
        monkeypatch,
        "reports_tasks",
        "from jobs.schedules import schedule\n"
        "from jobs.tasks_api import task\n\n"
        '@schedule(cron="*/5 * * * *")\n'
        "@task()\n"
        "def refresh():\n"
        "    return 1\n",
    )
    try:
        [found] = [s for s in schedules.declared_schedules() if s.name == "reports_tasks.refresh"]
        assert found.task is module.refresh and found.description == "*/5 * * * *"
        assert found.next_run(T0) == T0 + timedelta(minutes=5)
    finally:
        schedules.forget_schedule("reports_tasks.refresh")


def test_an_invalid_cron_expression_fails_at_import_with_a_clear_message(tmp_path, monkeypatch):
    source = (
        "from jobs.schedules import schedule\n"
        "from jobs.tasks_api import task\n\n"
        '@schedule(cron="61 * * * *")\n'
        "@task()\n"
        "def broken():\n"
        "    pass\n"
    )
    with pytest.raises(InvalidSchedule) as raised:
        import_module_source(tmp_path, monkeypatch, "broken_tasks", source)

    message = str(raised.value)
    assert message.startswith("Schedule 'broken_tasks.broken': cron '61 * * * *' is not valid:")
    assert "61" in message.split("not valid:")[1]  # the library's own words on the field
    assert "broken_tasks.broken" not in {s.name for s in schedules.declared_schedules()}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"cron": "* * * *"}, "must have 5 fields (minute hour day-of-month month day-of-week), not 4"),
        ({"cron": "0 3 * * 1"}, "give the day of week by name (Mon, Tue, Wed, Thu, Fri, Sat, Sun) or *"),
        (
            {"cron": "0 3 * * *", "every": timedelta(hours=1)},
            "give cron=... or every=..., not both or neither",
        ),
        ({}, "give cron=... or every=..., not both or neither"),
        ({"every": timedelta(milliseconds=500)}, "must be a whole number of seconds, at least one"),
        ({"every": 5}, "every must be a timedelta, not 5"),
    ],
)
def test_a_wrong_declaration_says_what_is_wrong(options, expected):
    with pytest.raises(InvalidSchedule, match=re.escape(expected)):
        schedule(**options)(taskfns.calculate_meaning_of_life)


def test_a_task_that_needs_arguments_cannot_be_scheduled():
    with pytest.raises(InvalidSchedule, match="a scheduled task is called with no arguments"):
        schedule(every=timedelta(minutes=1))(taskfns.add)


def test_schedule_goes_above_task():
    with pytest.raises(InvalidSchedule, match="@schedule goes above @task"):
        schedule(every=timedelta(minutes=1))(taskfns.add.func)


def test_two_tasks_cannot_share_a_schedule_name(declared):
    declared(taskfns.calculate_meaning_of_life, every=timedelta(minutes=1), name="nightly")
    with pytest.raises(InvalidSchedule, match="'nightly' is declared twice"):
        declare_schedule(taskfns.which_attempt, every=timedelta(minutes=1), name="nightly")


# ticks ----------------------------------------------------------------------------------------------


def test_interval_ticks_fall_on_multiples_of_the_interval_whoever_computes_them(declared):
    every_7 = declared(taskfns.calculate_meaning_of_life, every=timedelta(seconds=7), name="every-7")
    now = datetime(2026, 1, 5, 12, 0, 3, 500000, tzinfo=UTC)

    tick = every_7.tick(now)
    assert tick.timestamp() % 7 == 0 and now - timedelta(seconds=7) < tick <= now
    assert every_7.next_run(now) == tick + timedelta(seconds=7)
    assert every_7.tick(tick) == tick  # fired exactly on time, it names itself


def test_a_cron_tick_is_the_scheduled_time_just_reached(declared):
    daily = declared(taskfns.calculate_meaning_of_life, cron="15 3 * * *", name="daily")
    at = datetime(2026, 1, 5, 3, 15, tzinfo=UTC)

    assert daily.tick(at + timedelta(milliseconds=40)) == at
    assert daily.tick(at - timedelta(seconds=1)) is None  # nothing in the last minute
    assert daily.next_run(at) == at + timedelta(days=1)


def test_housekeeping_is_two_task_schedules_on_the_scheduler():
    entries = {entry.name: entry for entry in scheduler.scheduler.get_jobs()}
    for name, at in (
        ("jobs.maintenance.prune_old_jobs", (3, 15)),
        ("accounts.maintenance.expire_unconfirmed", (3, 45)),
    ):
        entry = entries[scheduler.ENTRY_PREFIX + name]
        assert entry.func is scheduler.fire and entry.args == (name,)
        midnight = datetime(2026, 1, 5, tzinfo=UTC)
        assert entry.trigger.get_next_fire_time(None, midnight) == midnight.replace(hour=at[0], minute=at[1])


def test_loading_the_apps_tasks_leaves_the_libraries_actor_modules_alone():
    assert "dramatiq_crontab.tasks" not in sys.modules  # its heartbeat would be scheduled
    assert "django_dramatiq.tasks" not in sys.modules
    assert "heartbeat" not in {entry.name for entry in scheduler.scheduler.get_jobs()}


# one run per tick ---------------------------------------------------------------------------------


def test_a_tick_enqueues_one_job_of_the_task(db, declared):
    meaning = declared(taskfns.calculate_meaning_of_life, every=timedelta(seconds=5), name="meaning")

    run = run_schedule(meaning, scheduled_at=T0)

    job = Job.objects.get()
    assert run.job == job and run.scheduled_at == T0
    assert job.task_path == taskfns.calculate_meaning_of_life.module_path and job.status == Job.Status.QUEUED


def test_the_same_tick_twice_enqueues_once_and_rolls_the_second_job_back(db, declared, broker):
    meaning = declared(taskfns.calculate_meaning_of_life, every=timedelta(seconds=5), name="meaning")
    assert run_schedule(meaning, scheduled_at=T0) is not None

    assert run_schedule(meaning, scheduled_at=T0) is None

    assert Job.objects.count() == 1 and ScheduleRun.objects.count() == 1
    assert run_schedule(meaning, scheduled_at=T0 + timedelta(seconds=5)) is not None
    assert Job.objects.count() == 2


def test_the_database_refuses_a_second_run_of_a_tick(db):
    ScheduleRun.objects.create(schedule_name="meaning", scheduled_at=T0)
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduleRun.objects.create(schedule_name="meaning", scheduled_at=T0)


def fire_in_a_thread(name):
    """Fire schedule ``name`` as the scheduler does: in a thread of its pool, with connections of its own."""
    thread = threading.Thread(target=scheduler.fire, args=(name,))
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_firing_enqueues_the_tick_just_reached(transactional_db, declared, monkeypatch):
    meaning = declared(taskfns.calculate_meaning_of_life, every=timedelta(seconds=5), name="meaning")
    monkeypatch.setattr(scheduler.timezone, "now", lambda: T0 + timedelta(milliseconds=30))

    fire_in_a_thread(meaning.name)
    fire_in_a_thread(meaning.name)  # a second scheduler, the same tick

    assert list(ScheduleRun.objects.values_list("scheduled_at", flat=True)) == [T0]
    assert Job.objects.count() == 1


def test_prune_deletes_old_runs_and_keeps_their_jobs(db, declared):
    meaning = declared(taskfns.calculate_meaning_of_life, every=timedelta(seconds=5), name="meaning")
    run_schedule(meaning, scheduled_at=T0)
    kept = run_schedule(meaning, scheduled_at=T0 + timedelta(days=2))

    assert prune_finished_jobs(older_than=T0 + timedelta(days=1)) == 0  # the jobs are not finished

    assert list(ScheduleRun.objects.all()) == [kept] and Job.objects.count() == 2


# the admin's list -------------------------------------------------------------------------------------


def test_the_admin_lists_each_schedule_with_its_next_run_and_last_job(admin_client, declared):
    meaning = declared(taskfns.calculate_meaning_of_life, every=timedelta(seconds=5), name="meaning")
    run = run_schedule(meaning, scheduled_at=T0)

    page = admin_client.get(reverse("admin:jobs_schedules"))

    assert page.status_code == 200
    html = page.content.decode()
    row = html[html.index('data-schedule="meaning"') :].split("</tr>")[0]
    assert "tests.support.taskfns.calculate_meaning_of_life" in row and "every 5 s" in row
    assert reverse("admin:jobs_job_change", args=[run.job_id]) in row and "Queued" in row
    assert "2026-01-05 12:00:00" in row  # the last run
    for housekeeping in ("jobs.maintenance.prune_old_jobs", "accounts.maintenance.expire_unconfirmed"):
        assert f'data-schedule="{housekeeping}"' in html
    assert (
        reverse("admin:jobs_schedules")
        in admin_client.get(reverse("admin:jobs_job_changelist")).content.decode()
    )


def test_the_schedule_list_is_for_staff_who_may_view_jobs(client, django_user_model, db):
    staff = django_user_model.objects.create_user(
        email="s@herald.test", password="x", is_staff=True, is_active=True
    )
    client.force_login(staff)

    assert client.get(reverse("admin:jobs_schedules")).status_code == 403
    client.logout()
    assert client.get(reverse("admin:jobs_schedules")).status_code == 302  # to the admin's login


def test_the_schedule_list_is_read_only(admin_client):
    assert admin_client.post(reverse("admin:jobs_schedules")).status_code == 405
