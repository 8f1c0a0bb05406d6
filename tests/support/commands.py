"""``manage.py jobs`` run in the test process, and the failed jobs its tests act on."""

from datetime import timedelta
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from jobs.models import Job
from tests.support.factories import make_job, make_user

Status = Job.Status


def jobs(*args):
    """Run ``manage.py jobs`` in this process; return (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("jobs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failed_job(email, *, ago=timedelta(minutes=1)):
    return make_job(email, status=Status.FAILED, user=make_user(email), finished_at=timezone.now() - ago)
