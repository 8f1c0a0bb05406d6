"""The job admin's helpers and fixtures (registered by tests/conftest.py): staff with given permissions, logged in."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from jobs.models import Job
from jobs.services import resend_job
from tests.support.factories import make_job, make_user

Status = Job.Status

CHANGELIST = "admin:jobs_job_changelist"
RESEND_FAILED = "admin:jobs_job_resend_failed"


def change_url(job):
    return reverse("admin:jobs_job_change", args=[job.pk])


def resend_url(job_or_pk):
    return reverse("admin:jobs_job_resend", args=[getattr(job_or_pk, "pk", job_or_pk)])


def staff(email, *codenames):
    user = User.objects.create_user(email=email, password="x", is_staff=True, is_active=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="jobs", codename__in=codenames)
    )
    return user


def logged_in(user, **client_options):
    client = Client(**client_options)
    client.force_login(user)
    return client


@pytest.fixture
def viewer(db):
    return logged_in(staff("viewer@herald.test", "view_job"))


@pytest.fixture
def resender(db):
    return logged_in(staff("resender@herald.test", "view_job", "resend_job"))


def failed_job(email="failed@example.com", **fields):
    fields.setdefault("finished_at", timezone.now())
    fields.setdefault("last_error", "Recipient refused (failed@example.com: 550 No such user here)")
    return make_job(email, status=Status.FAILED, user=make_user(email), **fields)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def text(response):
    return response.content.decode()


def resent_job(email):
    """A failed job that was resent already."""
    job = failed_job(email)
    resend_job(job)
    return job
