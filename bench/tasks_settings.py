"""The bench's settings plus django-tasks-db, for ``python -m bench.tasks`` and the workers it starts.

Herald's ``django.tasks`` backend is the default alias, as Herald configures
it; django-tasks-db's ``DatabaseBackend`` runs beside it as ``"db"``, with its
app installed (its migrations are applied to the benchmark's scratch
database). Worker processes also import ``bench.taskfns``, where the bare
actors live. The product never loads this module.
"""

from bench.settings import *  # noqa: F403

DB_TASKS_ALIAS = "db"

INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]  # noqa: F405
TASKS = {**TASKS, DB_TASKS_ALIAS: {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # noqa: F405
DRAMATIQ_AUTODISCOVER_MODULES = [*DRAMATIQ_AUTODISCOVER_MODULES, "taskfns"]  # noqa: F405
