"""Each job keeps its task's time limit, so that the dead-worker rule gives each claim its own."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0006_job_result_id_and_unique_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="time_limit_ms",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
