"""Small builders for job tests."""

from django.utils import timezone

from accounts.models import User
from accounts.tasks import send_confirmation_email
from jobs.enqueue.outbox import record_job
from jobs.models import Job

CONFIRMATION = send_confirmation_email.module_path


def make_user(email="user@example.com", active=False):
    return User.objects.create_user(email=email, password="correct-Horse-battery-9", is_active=active)


def make_job(email="user@example.com", status=Job.Status.QUEUED, **fields):
    """A confirmation job row for a new user at ``email`` (nothing published)."""
    user = fields.pop("user", None) or make_user(email)
    fields.setdefault("task_path", CONFIRMATION)
    fields.setdefault("queue_name", "emails")
    fields.setdefault("due_at", timezone.now())  # as jobs.enqueue.outbox.record_job sets it
    args = fields.pop("args", [user.pk, user.email])
    return Job.objects.create(args=args, label=Job.label_of(args), status=status, **fields)


def enqueue_confirmation(*, user, background=False):
    """A confirmation job for ``user``, enqueued as signup enqueues it; returns its row.

    ``background``: published by this process's hand-off thread, as in a web process.
    """
    if background:
        return record_job(
            task_path=CONFIRMATION,
            queue_name="emails",
            args=[user.pk, user.email],
            kwargs={},
            background=True,
        )
    return Job.objects.get(result_id=send_confirmation_email.enqueue(user.pk, user.email).id)
