"""The task backend's ``PUBLISH_IN_BACKGROUND`` option, for a test's ``settings.TASKS``."""

from django.conf import settings


def tasks_publishing(*, background):
    """``settings.TASKS`` with the default backend publishing from a hand-off thread (``background``) or in the caller."""
    default = settings.TASKS["default"]
    options = {**default.get("OPTIONS", {}), "PUBLISH_IN_BACKGROUND": background}
    return {**settings.TASKS, "default": {**default, "OPTIONS": options}}
