from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        # Every app's scheduled actors (jobs.maintenance, accounts.maintenance), in
        # every process: workers run them and ``manage.py crontab`` sends them.
        # django_dramatiq set the broker up when its app was created, before any app is ready.
        autodiscover_modules("maintenance")
