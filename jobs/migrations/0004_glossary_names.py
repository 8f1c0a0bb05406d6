"""One word per concept: the worker's id, the attempt count, a job's attempts.

Renames only: every row keeps its values under the new names.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0003_jobs_run_any_task"),
    ]

    operations = [
        migrations.RenameField("job", "claimed_by", "worker_id"),
        migrations.RenameField("job", "attempts", "attempt_count"),
        migrations.AlterField("job", "attempt_count", models.PositiveIntegerField("attempts", default=0)),
        migrations.RenameField("attempt", "worker", "worker_id"),
        migrations.AlterField(
            model_name="attempt",
            name="job",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="attempts", to="jobs.job"
            ),
        ),
    ]
