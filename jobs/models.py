"""The durable record: ``Job``, one per enqueued task, and ``Attempt``, one per try at it."""

import uuid

from django.db import models


class Job(models.Model):
    """One enqueued task: what to run, its state, and its outcome.

    Written when the task is enqueued (``jobs.backends``), in the caller's transaction. The row
    is also the lock that makes a task run once: a worker runs it only after claiming the row
    (``jobs.worker.tracking.claim_job``).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # Waiting to run: queued (deferred included) or retrying. A job key binds only these.
    PENDING_STATUSES = (Status.QUEUED, Status.RETRYING)
    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    # The id a TaskResult carries: random, so that a result id shown to a visitor (for
    # polling, say) does not lead to the other jobs, as the row number would.
    result_id = models.UUIDField("result id", default=uuid.uuid4, unique=True, editable=False)
    # The task's job key (``jobs.keys``): while this job waits, an enqueue with the same key returns it.
    # Empty: no key.
    unique_key = models.CharField("key", max_length=200, blank=True, default="", editable=False)
    # The task function's dotted path, e.g. "accounts.tasks.send_confirmation_email".
    task_path = models.CharField("task", max_length=200)
    queue_name = models.CharField(max_length=100, default="default")
    priority = models.SmallIntegerField(default=0)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # The first text argument (for an email, the address), cut to 254 characters:
    # what the admin's search finds a job by, through an index.
    label = models.CharField(max_length=254, blank=True, default="")
    # The earliest the task may run (django.tasks' run_after), or null for "at once".
    run_after = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # The message the broker holds for a pending job, chosen before the row is written (the
    # delivering message's once claimed); empty: the broker holds none, the relay sends it when due.
    message_id = models.CharField("Dramatiq message id", max_length=64, blank=True, default="")
    resend_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends"
    )
    attempt_count = models.PositiveIntegerField("attempts", default=0)
    # Attempts whose worker process died before recording an outcome.
    lost_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    last_traceback = models.TextField(blank=True, default="")
    # What the task returned (JSON); for an email, the SMTP server's reply.
    return_value = models.JSONField(null=True, blank=True)

    # How long one attempt may run, in ms: the task's own time limit, read when the job is recorded
    # (jobs.worker.limits); null: the workers' JOBS_TIME_LIMIT_S.
    time_limit_ms = models.PositiveIntegerField(null=True, blank=True)

    # The worker (its Dramatiq broker_id) holding the claim while running.
    worker_id = models.CharField(max_length=64, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    # A cancel asked of a running job: its worker interrupts the task (jobs.worker.cancels).
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Who cancelled the job (a staff user, a command, code), once a cancel was asked.
    cancelled_by = models.CharField(max_length=200, blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    # When the relay last sent the job (the hand-off after commit writes nothing: see message_id).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # When a queued or retrying job is due at the latest (run_after and retry back-off included).
    due_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("resend_job", "Can resend jobs"), ("cancel_job", "Can cancel jobs")]
        indexes = [
            # The job list's order (newest first) after each of its filters: status, task, both.
            models.Index(fields=["status", "-created_at", "-id"], name="job_status_created"),
            models.Index(fields=["-created_at", "-id"], name="job_created"),
            models.Index(fields=["task_path", "-created_at", "-id"], name="job_task_created"),
            models.Index(
                fields=["task_path", "status", "-created_at", "-id"], name="job_task_status_created"
            ),
            models.Index(fields=["task_path", "status", "finished_at"], name="job_task_status"),
            # The pattern operator class lets PostgreSQL's LIKE 'prefix%' walk it (SQLite ignores it).
            models.Index(fields=["label"], name="job_label", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["message_id"], name="job_message_id"),
            models.Index(fields=["status", "finished_at"], name="job_status_finished"),
        ]
        constraints = [
            # One waiting job per task and key, enforced by the database: concurrent
            # enqueues with one key cannot both insert (jobs.enqueue.outbox.record_job).
            models.UniqueConstraint(
                fields=["task_path", "unique_key"],
                condition=models.Q(status__in=["queued", "retrying"]) & ~models.Q(unique_key=""),
                name="job_one_waiting_per_key",
            ),
        ]

    def __str__(self):
        return f"{self.task_name} #{self.pk} ({self.status})"

    @staticmethod
    def label_of(args):
        """The label of a job with arguments ``args``: its first text argument."""
        return next((arg[:254] for arg in args if isinstance(arg, str)), "")

    @property
    def task_name(self):
        """The task function's name, without its module."""
        return self.task_path.rpartition(".")[2]

    @property
    def is_final(self):
        return self.status in self.FINAL_STATUSES


class Attempt(models.Model):
    """One try at running a job's task. Appended when the try ends, never rewritten."""

    class Outcome(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        RETRY = "retry", "Failed, will retry"
        FAILED = "failed", "Failed"
        LOST = "lost", "Worker died"
        CANCELLED = "cancelled", "Cancelled"

    FAILED_OUTCOMES = (Outcome.RETRY, Outcome.FAILED, Outcome.LOST, Outcome.CANCELLED)

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    message_id = models.CharField(max_length=64, blank=True, default="")
    worker_id = models.CharField(max_length=64, blank=True, default="")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # The dotted path of the exception class, as django.tasks' TaskError has it.
    error_class = models.CharField(max_length=200, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    # What the task returned, when it succeeded.
    return_value = models.JSONField(null=True, blank=True)
    # The SMTP server's reply to a send that failed, when it gave one.
    smtp_reply = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="attempt_job_number")]

    def __str__(self):
        return f"Attempt {self.number} of job {self.job_id}: {self.outcome}"


class ScheduleRun(models.Model):
    """One scheduled time of a schedule (``jobs.schedules``) and the job it enqueued.

    Unique on (schedule, time): however many schedulers fire the same tick,
    the first insert wins and the others' transactions, with their job rows,
    roll back (``jobs.services.run_schedule``).
    """

    schedule_name = models.CharField("schedule", max_length=200)
    scheduled_at = models.DateTimeField()
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["schedule_name", "-scheduled_at"]
        constraints = [
            models.UniqueConstraint(fields=["schedule_name", "scheduled_at"], name="schedule_run_once")
        ]

    def __str__(self):
        return f"{self.schedule_name} at {self.scheduled_at.isoformat()}"
