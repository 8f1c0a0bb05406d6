from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        # The scheduled actors (accounts.maintenance), in every process, as jobs.apps does.
        from accounts import maintenance  # noqa: F401
