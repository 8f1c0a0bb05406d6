"""Schedule runs: one row per scheduled time of a schedule, unique, with the job it enqueued."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_glossary_names"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScheduleRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("schedule_name", models.CharField(max_length=200, verbose_name="schedule")),
                ("scheduled_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "job",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="jobs.job",
                    ),
                ),
            ],
            options={
                "ordering": ["schedule_name", "-scheduled_at"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("schedule_name", "scheduled_at"), name="schedule_run_once"
                    )
                ],
            },
        ),
    ]
