"""Indexes for the job list's filters in list order (status, task, both), and a label index PostgreSQL's LIKE can walk."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0008_cancel"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="job",
            name="job_status_created",
        ),
        migrations.RemoveIndex(
            model_name="job",
            name="job_label",
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["status", "-created_at", "-id"], name="job_status_created"),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["task_path", "-created_at", "-id"], name="job_task_created"),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                fields=["task_path", "status", "-created_at", "-id"], name="job_task_status_created"
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["label"], name="job_label", opclasses=["varchar_pattern_ops"]),
        ),
    ]
