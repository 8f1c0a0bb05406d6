"""Jobs written before a migration survive it: email jobs become jobs of the email tasks; every job gets a result id."""

from django.utils import timezone

from jobs.errors import WorkerLost
from jobs.tasks_api import TaskResultStatus, task_backends

BEFORE = [("jobs", "0002_email_kinds"), ("accounts", "0001_initial")]
AFTER = [("jobs", "0003_jobs_run_any_task")]
LATEST = [("jobs", "0006_job_result_id_and_unique_key")]


def test_email_jobs_become_jobs_of_the_email_tasks(migrate):
    old = migrate(BEFORE)
    User = old.get_model("accounts", "User")
    EmailJob = old.get_model("jobs", "EmailJob")
    EmailAttempt = old.get_model("jobs", "EmailAttempt")
    now = timezone.now()
    ada = User.objects.create(email="ada@example.com", password="x", is_active=True)
    sent = EmailJob.objects.create(
        user=ada,
        recipient="ada@example.com",
        kind="password_reset",
        status="succeeded",
        attempts=1,
        result="250 2.0.0 Ok: queued",
        finished_at=now,
    )
    EmailAttempt.objects.create(
        job=sent,
        number=1,
        started_at=now,
        finished_at=now,
        outcome="succeeded",
        smtp_reply="250 2.0.0 Ok: queued",
    )
    lost = EmailJob.objects.create(
        user=None,
        recipient="gone@example.com",
        kind="confirmation",
        status="failed",
        attempts=1,
        lost_attempts=1,
    )
    EmailAttempt.objects.create(
        job=lost, number=1, started_at=now, finished_at=now, outcome="lost", error_class="WorkerLostError"
    )

    new = migrate(AFTER)
    Job = new.get_model("jobs", "Job")
    Attempt = new.get_model("jobs", "Attempt")
    job = Job.objects.get(pk=sent.pk)
    assert (job.task_path, job.queue_name, job.args, job.label) == (
        "accounts.tasks.send_password_reset_email",
        "emails",
        [ada.pk, "ada@example.com"],
        "ada@example.com",
    )
    assert job.return_value == "250 2.0.0 Ok: queued"
    attempt = Attempt.objects.get(job_id=sent.pk)
    assert (attempt.return_value, attempt.smtp_reply) == ("250 2.0.0 Ok: queued", "")
    gone = Job.objects.get(pk=lost.pk)
    assert gone.task_path == "accounts.tasks.send_confirmation_email" and gone.args == [
        None,
        "gone@example.com",
    ]
    assert Attempt.objects.get(job_id=lost.pk).error_class == "jobs.errors.WorkerLost"

    # Read through django.tasks, as any code written for it would (on the models of today).
    latest = migrate()
    result_ids = dict(latest.get_model("jobs", "Job").objects.values_list("pk", "result_id"))
    result = task_backends["default"].get_result(str(result_ids[sent.pk]))
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == "250 2.0.0 Ok: queued"
    failed = task_backends["default"].get_result(str(result_ids[lost.pk]))
    assert [error.exception_class for error in failed.errors] == [WorkerLost]


def test_the_migration_goes_back(migrate):
    migrate(AFTER)
    new = migrate(AFTER)
    Job = new.get_model("jobs", "Job")
    job = Job.objects.create(
        task_path="accounts.tasks.send_account_exists_email",
        queue_name="emails",
        args=[None, "x@example.com"],
        label="x@example.com",
        status="queued",
    )
    old = migrate(BEFORE)
    EmailJob = old.get_model("jobs", "EmailJob")
    back = EmailJob.objects.get(pk=job.pk)
    assert (back.kind, back.recipient, back.user_id) == ("account_exists", "x@example.com", None)


BEFORE_GLOSSARY = [("jobs", "0003_jobs_run_any_task")]
AFTER_GLOSSARY = [("jobs", "0004_glossary_names")]


def test_a_job_and_its_attempt_keep_their_values_under_the_glossary_names(migrate):
    old = migrate(BEFORE_GLOSSARY)
    OldJob = old.get_model("jobs", "Job")
    OldAttempt = old.get_model("jobs", "Attempt")
    now = timezone.now()
    job = OldJob.objects.create(
        task_path="accounts.tasks.send_confirmation_email",
        args=[None, "ada@example.com"],
        status="running",
        attempts=2,
        claimed_by="worker-1",
        claimed_at=now,
    )
    OldAttempt.objects.create(
        job=job, number=1, worker="worker-0", started_at=now, finished_at=now, outcome="lost"
    )

    new = migrate(AFTER_GLOSSARY)
    Job = new.get_model("jobs", "Job")
    moved = Job.objects.get(pk=job.pk)
    assert (moved.attempt_count, moved.worker_id, moved.claimed_at) == (2, "worker-1", now)
    assert list(moved.attempts.values_list("number", "worker_id", "outcome")) == [(1, "worker-0", "lost")]


def test_jobs_written_before_result_ids_each_get_their_own(migrate):
    old = migrate(AFTER)
    OldJob = old.get_model("jobs", "Job")
    written = [
        OldJob.objects.create(
            task_path="tests.support.taskfns.add", args=[n, n], status="succeeded", return_value=2 * n
        )
        for n in range(3)
    ]

    new = migrate(LATEST)
    Job = new.get_model("jobs", "Job")
    result_ids = {job.pk: job.result_id for job in Job.objects.all()}
    assert len(set(result_ids.values())) == 3 and None not in result_ids.values()
    migrate()  # the backend reads through today's models
    result = task_backends["default"].get_result(str(result_ids[written[1].pk]))
    assert result.args == [1, 1] and result.return_value == 2
