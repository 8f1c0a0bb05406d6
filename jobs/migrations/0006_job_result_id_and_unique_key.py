"""Jobs get a result id nobody can guess, and a key that keeps one waiting job per task and key.

``result_id`` is added in three steps: a nullable column, a random UUID for
every existing row (a column default would give them all the same one), then
unique and not null. ``unique_key`` starts empty: existing jobs have no key.
"""

import uuid

from django.db import migrations, models


def give_each_job_a_result_id(apps, schema_editor):
    Job = apps.get_model("jobs", "Job")
    unset = Job.objects.filter(result_id__isnull=True)
    while batch := list(unset.values_list("pk", flat=True)[:1000]):
        for pk in batch:
            Job.objects.filter(pk=pk).update(result_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0005_schedule_runs"),
    ]

    operations = [
        migrations.AddField("job", "result_id", models.UUIDField("result id", null=True, editable=False)),
        migrations.RunPython(give_each_job_a_result_id, migrations.RunPython.noop),
        migrations.AlterField(
            "job",
            "result_id",
            models.UUIDField("result id", default=uuid.uuid4, unique=True, editable=False),
        ),
        migrations.AddField(
            "job",
            "unique_key",
            models.CharField("key", max_length=200, blank=True, default="", editable=False),
        ),
        migrations.AddConstraint(
            "job",
            models.UniqueConstraint(
                fields=["task_path", "unique_key"],
                condition=models.Q(status__in=["queued", "retrying"]) & ~models.Q(unique_key=""),
                name="job_one_waiting_per_key",
            ),
        ),
    ]
