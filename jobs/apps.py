from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Email jobs"

    def ready(self):
        # Each app's ``emails`` module registers what its kinds of job send (jobs.kinds).
        autodiscover_modules("emails")
