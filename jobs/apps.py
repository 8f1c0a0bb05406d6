"""The jobs app: when Django starts, every app's tasks and schedules are loaded and put on the scheduler."""

from importlib import import_module

from django.apps import AppConfig, apps
from django.utils.module_loading import autodiscover_modules, import_string, module_has_submodule

# Their ``tasks`` modules hold Dramatiq actors, not django.tasks: dramatiq-crontab's schedules a
# heartbeat no worker runs (the scheduler runs with --no-heartbeat; its own task loading skips
# it too), django-dramatiq's cleans a results table Herald does not use.
NOT_SCANNED_FOR_TASKS = {"dramatiq_crontab", "django_dramatiq"}
# Looked up in ready(), not imported with this module: it needs the models, loaded after the app configs.
ADD_SCHEDULES = "jobs.scheduler.add_schedules_to_scheduler"


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        # Every app's scheduled work, in every process: workers run it and
        # ``manage.py scheduler`` fires it. The ``maintenance`` modules (jobs,
        # accounts) and the ``tasks`` modules, where ``@schedule`` sits next to ``@task``.
        # django_dramatiq set the broker up when its app was created, before any app is ready.
        autodiscover_modules("maintenance")
        for app in apps.get_app_configs():
            if app.name not in NOT_SCANNED_FOR_TASKS and module_has_submodule(app.module, "tasks"):
                import_module(f"{app.name}.tasks")
        import_string(ADD_SCHEDULES)()
