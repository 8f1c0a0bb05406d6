from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        # The scheduled actors (jobs.maintenance), in every process: workers run them and
        # ``manage.py crontab`` sends them. django_dramatiq set the broker up when its app
        # was created, before any app is ready.
        from jobs import maintenance  # noqa: F401
