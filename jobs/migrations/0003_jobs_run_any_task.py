"""Email jobs become jobs of any task: each row names its task and keeps its arguments.

Existing rows are kept. An email job of kind K for user U at address A becomes
a job of the task that sends that email, with arguments ``[U, A]``, on the
"emails" queue; its SMTP reply (and each successful
attempt's) becomes its return value.
"""

from django.db import migrations, models

EMAIL_TASKS = {
    "confirmation": "accounts.tasks.send_confirmation_email",
    "account_exists": "accounts.tasks.send_account_exists_email",
    "password_reset": "accounts.tasks.send_password_reset_email",
}
KINDS = {path: kind for kind, path in EMAIL_TASKS.items()}
LOST_ERROR_CLASS = ("WorkerLostError", "jobs.errors.WorkerLost")


def email_jobs_to_task_jobs(apps, schema_editor):
    Job = apps.get_model("jobs", "Job")
    Attempt = apps.get_model("jobs", "Attempt")
    for attempt in (
        Attempt.objects.filter(outcome="succeeded").exclude(smtp_reply="").iterator(chunk_size=1000)
    ):
        attempt.return_value, attempt.smtp_reply = attempt.smtp_reply, ""
        attempt.save(update_fields=["return_value", "smtp_reply"])
    for job in Job.objects.iterator(chunk_size=1000):
        job.task_path = EMAIL_TASKS.get(job.kind, EMAIL_TASKS["confirmation"])
        job.queue_name = "emails"
        job.args = [job.user_id, job.recipient]
        job.label = job.recipient
        job.return_value = job.result or None
        job.save(update_fields=["task_path", "queue_name", "args", "label", "return_value"])
    Attempt.objects.filter(error_class=LOST_ERROR_CLASS[0]).update(error_class=LOST_ERROR_CLASS[1])


def task_jobs_to_email_jobs(apps, schema_editor):
    Job = apps.get_model("jobs", "Job")
    Attempt = apps.get_model("jobs", "Attempt")
    User = apps.get_model("accounts", "User")
    for attempt in Attempt.objects.filter(outcome="succeeded", return_value__isnull=False).iterator(
        chunk_size=1000
    ):
        attempt.smtp_reply = attempt.return_value if isinstance(attempt.return_value, str) else ""
        attempt.save(update_fields=["smtp_reply"])
    for job in Job.objects.iterator(chunk_size=1000):
        user_id, recipient = [*job.args, None, ""][:2]
        job.kind = KINDS.get(job.task_path, "confirmation")
        job.user_id = user_id if User.objects.filter(pk=user_id).exists() else None
        job.recipient = recipient or ""
        job.result = job.return_value if isinstance(job.return_value, str) else ""
        job.save(update_fields=["kind", "user", "recipient", "result"])
    Attempt.objects.filter(error_class=LOST_ERROR_CLASS[1]).update(error_class=LOST_ERROR_CLASS[0])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("jobs", "0002_email_kinds"),
    ]

    operations = [
        migrations.RenameModel("EmailJob", "Job"),
        migrations.RenameModel("EmailAttempt", "Attempt"),
        migrations.RenameIndex("job", new_name="job_status_created", old_name="emailjob_status_created"),
        migrations.RenameIndex("job", new_name="job_created", old_name="emailjob_created"),
        migrations.RenameIndex("job", new_name="job_message_id", old_name="emailjob_message_id"),
        migrations.RenameIndex("job", new_name="job_status_finished", old_name="emailjob_status_finished"),
        migrations.RemoveIndex("job", name="emailjob_recipient"),
        migrations.RemoveConstraint("attempt", name="emailattempt_job_number"),
        migrations.AddConstraint(
            "attempt", models.UniqueConstraint(fields=("job", "number"), name="attempt_job_number")
        ),
        migrations.AddField("job", "task_path", models.CharField("task", max_length=200, default="")),
        migrations.AddField("job", "queue_name", models.CharField(max_length=100, default="default")),
        migrations.AddField("job", "priority", models.SmallIntegerField(default=0)),
        migrations.AddField("job", "args", models.JSONField(blank=True, default=list)),
        migrations.AddField("job", "kwargs", models.JSONField(blank=True, default=dict)),
        migrations.AddField("job", "run_after", models.DateTimeField(blank=True, null=True)),
        migrations.AddField("job", "return_value", models.JSONField(blank=True, null=True)),
        migrations.AddField("job", "label", models.CharField(blank=True, default="", max_length=254)),
        migrations.AddField("attempt", "return_value", models.JSONField(blank=True, null=True)),
        migrations.RunPython(email_jobs_to_task_jobs, task_jobs_to_email_jobs),
        migrations.AlterField("job", "task_path", models.CharField("task", max_length=200)),
        # A default, so that going back can add the column to existing rows (and fill it).
        migrations.AlterField("job", "recipient", models.EmailField(max_length=254, default="")),
        migrations.RemoveField("job", "kind"),
        migrations.RemoveField("job", "user"),
        migrations.RemoveField("job", "recipient"),
        migrations.RemoveField("job", "result"),
        migrations.AddIndex(
            "job", models.Index(fields=["task_path", "status", "finished_at"], name="job_task_status")
        ),
        migrations.AddIndex("job", models.Index(fields=["label"], name="job_label")),
        migrations.AlterField(
            "attempt",
            "outcome",
            models.CharField(
                choices=[
                    ("succeeded", "Succeeded"),
                    ("retry", "Failed, will retry"),
                    ("failed", "Failed"),
                    ("lost", "Worker died"),
                ],
                max_length=16,
            ),
        ),
        migrations.AlterModelOptions(
            "job",
            {"ordering": ["-created_at", "-id"], "permissions": [("resend_job", "Can resend jobs")]},
        ),
    ]
