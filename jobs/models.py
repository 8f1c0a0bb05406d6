"""The durable record of every email job and each of its attempts.

Dramatiq's broker and results backend forget; these rows don't. A job row is
also the lock that makes a send happen once: a worker sends only after it has
claimed the row (see ``jobs.tracking``).
"""

from django.conf import settings
from django.db import models


class EmailJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Retrying"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Confirmation email"
        ACCOUNT_EXISTS = "account_exists", "Account exists notice"
        PASSWORD_RESET = "password_reset", "Password reset email"

    PENDING_STATUSES = (Status.QUEUED, Status.RETRYING)
    FINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="email_jobs"
    )
    recipient = models.EmailField(max_length=254)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.CONFIRMATION)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    message_id = models.CharField("Dramatiq message id", max_length=64, blank=True, default="")
    resend_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="resends"
    )
    attempts = models.PositiveIntegerField(default=0)
    # Attempts whose worker process died before recording an outcome.
    lost_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    last_traceback = models.TextField(blank=True, default="")
    result = models.TextField("SMTP reply", blank=True, default="")

    # The broker worker (Dramatiq broker_id) holding the claim while running.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    # Set once the broker has accepted the message; null means the relay must send it.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    # When a queued or retrying job is due at the latest (retry back-off included).
    due_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("resend_emailjob", "Can resend email jobs")]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="emailjob_status_created"),
            models.Index(fields=["-created_at", "-id"], name="emailjob_created"),
            models.Index(fields=["recipient"], name="emailjob_recipient"),
            models.Index(fields=["message_id"], name="emailjob_message_id"),
            models.Index(fields=["status", "finished_at"], name="emailjob_status_finished"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.recipient} ({self.status})"

    @property
    def is_final(self):
        return self.status in self.FINAL_STATUSES


class EmailAttempt(models.Model):
    """One try at sending a job's email. Appended, never rewritten."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        RETRY = "retry", "Failed, will retry"
        FAILED = "failed", "Failed"
        LOST = "lost", "Worker died"

    job = models.ForeignKey(EmailJob, on_delete=models.CASCADE, related_name="attempt_set")
    number = models.PositiveIntegerField()
    message_id = models.CharField(max_length=64, blank=True, default="")
    worker = models.CharField(max_length=64, blank=True, default="")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RUNNING)
    error_class = models.CharField(max_length=200, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    smtp_reply = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="emailattempt_job_number")]

    def __str__(self):
        return f"Attempt {self.number} of job {self.job_id}: {self.outcome}"
