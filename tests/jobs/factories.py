"""Small builders for job tests."""

from accounts.models import User
from jobs.models import EmailJob
from jobs.services import enqueue_email


def make_user(email="user@example.com", active=False):
    return User.objects.create_user(email=email, password="correct-Horse-battery-9", is_active=active)


def make_job(email="user@example.com", status=EmailJob.Status.QUEUED, **fields):
    user = fields.pop("user", None) or make_user(email)
    return EmailJob.objects.create(user=user, recipient=user.email, status=status, **fields)


def enqueue_confirmation(*, user, **options):
    """A confirmation job for ``user``, through the one enqueue path (``jobs.services.enqueue_email``)."""
    return enqueue_email(kind=EmailJob.Kind.CONFIRMATION, user=user, **options)
