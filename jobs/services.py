"""Creating, sending, resending and relaying email jobs.

Signup, the resend and password-reset pages, the admin and ``manage.py jobs``
all go through :func:`enqueue_email`: one path for one action.
"""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from config.broker import BROKER_ERRORS
from config.timing import timed
from jobs.handoff import hand_off
from jobs.heartbeats import connected_workers
from jobs.models import EmailAttempt, EmailJob

logger = logging.getLogger("jobs.services")

Status = EmailJob.Status


class ResendRefused(Exception):
    """A resend that must not happen (the job succeeded, the user is active...)."""


def enqueue_email(*, kind, user, resend_of=None, background=False):
    """Record an email job of ``kind`` for ``user``; send its message after commit.

    The row is written in the caller's transaction and the broker is only told
    once that transaction commits, so a worker never sees a job (or a user)
    that a rollback will remove. If the broker is unreachable the job stays
    queued with no ``enqueued_at`` and the relay sends it later. With
    ``background`` the message is sent by this process's hand-off thread
    (``jobs.handoff``) and the caller does not wait for Redis.
    """
    job = EmailJob.objects.create(
        user=user, kind=kind, recipient=user.email, resend_of=resend_of, status=Status.QUEUED, due_at=timezone.now()
    )
    send = partial(send_job_message, job.pk)
    transaction.on_commit(partial(hand_off, send_job_message, job.pk) if background else send)
    return job


def send_job_message(job_id, *, retries=0):
    """Hand job ``job_id`` to the broker and note that it was accepted.

    Returns the Dramatiq message id, or None when the broker (Redis or
    RabbitMQ) is unreachable (logged; the relay retries). ``retries``: how
    many retries the job has had, for a retry the job row scheduled.
    """
    from jobs.actors import send_email

    options = {"retries": retries} if retries else {}
    message = send_email.message_with_options(args=(job_id,), **options)
    try:
        with timed("broker"):
            send_email.broker.enqueue(message)
    except BROKER_ERRORS as exc:
        logger.warning("job=%s not enqueued, broker unreachable (%s); the relay will send it", job_id, exc)
        return None
    # In a transaction of its own, so that on SQLite it queues for the write
    # lock with the process's other writers (config/db/base.py).
    with transaction.atomic():
        EmailJob.objects.filter(pk=job_id).update(enqueued_at=timezone.now(), message_id=message.message_id)
    return message.message_id


def check_resendable(job):
    """Raise :class:`ResendRefused` unless ``job`` may be sent again."""
    if job.status == Status.SUCCEEDED:
        raise ResendRefused(f"Job {job.pk} already succeeded; its email was delivered.")
    if job.status != Status.FAILED:
        raise ResendRefused(f"Job {job.pk} is {job.get_status_display().lower()}, not failed.")
    if job.user is None:
        raise ResendRefused(f"Job {job.pk} has no user any more.")
    if job.kind == EmailJob.Kind.CONFIRMATION and job.user.is_active:
        raise ResendRefused(f"The account {job.user.email} is already active.")
    if job.resends.exists():
        raise ResendRefused(f"Job {job.pk} was already resent.")


@transaction.atomic
def resend_job(job):
    """Start a new job of the same kind for the same user, linked to the failed ``job``.

    The failed job and its attempts are kept as they are. The new job goes to
    the user's address of now.
    """
    job = EmailJob.objects.select_related("user").select_for_update(of=("self",)).get(pk=job.pk)
    check_resendable(job)
    return enqueue_email(kind=job.kind, user=job.user, resend_of=job)


def resendable_failed_jobs(*, since=None):
    """Failed jobs that a resend would retry: not yet resent, user still there (and inactive, for a confirmation)."""
    still_wanted = ~Q(kind=EmailJob.Kind.CONFIRMATION) | Q(user__is_active=False)
    jobs = EmailJob.objects.filter(still_wanted, status=Status.FAILED, user__isnull=False, resends__isnull=True)
    if since is not None:
        jobs = jobs.filter(finished_at__gte=since)
    return jobs.select_related("user").order_by("id")


def resend_failed_jobs(*, since=None, limit=None):
    """Resend the resendable failed jobs (the oldest ``limit`` of them, or all).

    Returns ``(resent, refused)`` lists of (job, new job or reason).
    """
    resent, refused = [], []
    jobs = resendable_failed_jobs(since=since)
    for job in jobs[:limit] if limit else jobs:
        try:
            resent.append((job, resend_job(job)))
        except ResendRefused as exc:
            refused.append((job, str(exc)))
    return resent, refused


def relay_unsent(*, now=None, limit=500):
    """Send to the broker the jobs it never got, lost or was never meant to hold; return their ids.

    Four kinds of job are relayed:
    - queued but never accepted by the broker (it was down at signup);
    - retrying after a back-off too long to hold in a worker, now due
      (``jobs.actors``: the job row schedules those, not a delayed message);
    - queued or retrying, and overdue by ``JOBS_REQUEUE_AFTER_S`` (the message was lost);
    - running under a worker that died (:func:`relay_dead_claims`).
    Sending twice is harmless: the claim on the job row lets one delivery send.
    """
    now = now or timezone.now()
    never_sent = EmailJob.objects.filter(
        status=Status.QUEUED, enqueued_at__isnull=True, created_at__lt=now - timedelta(seconds=2)
    )
    scheduled = EmailJob.objects.filter(status=Status.RETRYING, enqueued_at__isnull=True, due_at__lte=now)
    overdue = EmailJob.objects.filter(
        status__in=EmailJob.PENDING_STATUSES,
        enqueued_at__isnull=False,
        due_at__lt=now - timedelta(seconds=settings.JOBS_REQUEUE_AFTER_S),
    )
    ids = list(never_sent.values_list("pk", flat=True)[:limit])
    ids += list(scheduled.values_list("pk", flat=True)[:limit])
    ids += list(overdue.values_list("pk", flat=True)[:limit])
    ids += dead_claims(now=now, limit=limit)
    return _relay(dict.fromkeys(ids))


def dead_claims(*, now=None, limit=500):
    """Ids of running jobs whose worker died (``tracking.claimant_is_dead``), one look at Redis for all."""
    from jobs.tracking import claimant_is_dead

    now = now or timezone.now()
    running = list(EmailJob.objects.filter(status=Status.RUNNING).values_list("pk", "claimed_by", "claimed_at")[:limit])
    if not running:
        return []
    try:
        connected = connected_workers()
    except RedisError:
        connected = None
    return [pk for pk, worker, at in running if claimant_is_dead(worker, at, now, connected=connected)]


def relay_dead_claims(*, now=None, limit=500, skip=()):
    """Send again the jobs whose worker died while sending them, except those in ``skip``; return their ids.

    The relay runs this every second, so that a killed worker's email goes out
    within seconds; the next delivery takes the claim over (``jobs.tracking``).
    """
    return _relay([pk for pk in dead_claims(now=now, limit=limit) if pk not in skip])


def _relay(job_ids):
    relayed = []
    for job_id in job_ids:
        if send_job_message(job_id, retries=_retries_so_far(job_id)) is None:
            break  # broker still down: try again next sweep
        EmailJob.objects.filter(pk=job_id, status__in=EmailJob.PENDING_STATUSES).update(due_at=timezone.now())
        relayed.append(job_id)
    if relayed:
        logger.info("relayed %d job(s) to the broker: %s", len(relayed), relayed[:20])
    return relayed


def _retries_so_far(job_id):
    """How many retries the job has had: its message carries the count, so the retry budget holds across relays."""
    return EmailAttempt.objects.filter(job_id=job_id, outcome=EmailAttempt.Outcome.RETRY).count()


def prune_finished_jobs(*, older_than, dry_run=False, batch_size=1000):
    """Delete succeeded and failed jobs (and attempts) finished before ``older_than``.

    Queued, running and retrying jobs are never deleted. Deletes in batches of
    short transactions, so a large prune neither holds memory nor locks the
    table for long. Returns the count.
    """
    jobs = EmailJob.objects.filter(status__in=EmailJob.FINAL_STATUSES, finished_at__lt=older_than)
    if dry_run:
        return jobs.count()
    deleted = 0
    while batch := list(jobs.values_list("pk", flat=True)[:batch_size]):
        with transaction.atomic():
            EmailJob.objects.filter(resend_of__in=batch).update(resend_of=None)
            EmailAttempt.objects.filter(job_id__in=batch).delete()
            deleted += EmailJob.objects.filter(pk__in=batch).delete()[1].get(EmailJob._meta.label, 0)
    return deleted
