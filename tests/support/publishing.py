"""The task backend's ``PUBLISH_IN_BACKGROUND`` option, for a test's ``settings.TASKS``; whether a job was published."""

from django.conf import settings

from jobs.enqueue.published import published_ids


def tasks_publishing(*, background):
    """``settings.TASKS`` with the default backend publishing from a hand-off thread (``background``) or in the caller."""
    default = settings.TASKS["default"]
    options = {**default.get("OPTIONS", {}), "PUBLISH_IN_BACKGROUND": background}
    return {**settings.TASKS, "default": {**default, "OPTIONS": options}}


def published(job):
    """Whether ``job``'s message was published: the broker took it (``jobs.enqueue.published``)."""
    job.refresh_from_db()
    return bool(job.message_id) and job.message_id in (published_ids([job.message_id]) or set())
