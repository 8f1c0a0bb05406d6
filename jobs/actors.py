"""The Dramatiq actor that sends email jobs, of every kind.

Thin by design: claim the job row, build its email (``jobs.kinds``), send it,
record the outcome. Safe to run any number of times for the same job: only the delivery
holding the claim sends, and a finished job is never sent again.
"""

import logging

import dramatiq
from django.conf import settings
from django.db import DatabaseError
from dramatiq.middleware import CurrentMessage

from jobs import errors, tracking
from jobs.kinds import build_email
from jobs.mail import send_message
from jobs.slots import send_slots

logger = logging.getLogger("jobs.actors")

# Message option set when the email went out but recording that failed.
SENT_REPLY = "herald_sent_reply"


@dramatiq.actor(
    queue_name="emails",
    store_results=True,
    max_retries=settings.JOBS_MAX_RETRIES,
    min_backoff=settings.JOBS_MIN_BACKOFF_MS,
    max_backoff=settings.JOBS_MAX_BACKOFF_MS,
    time_limit=settings.JOBS_TIME_LIMIT_MS,
    retry_when=errors.should_retry,
)
def send_email(job_id):
    """Send the email of job ``job_id`` once; return what happened.

    Transient failures are re-raised so that Dramatiq's Retries middleware
    tries again with back-off, unless the back-off is longer than a worker may
    hold a message (``errors.LONGEST_HELD_RETRY_MS``): the job row schedules
    that retry and the relay sends it. Permanent failures fail the job at once. A job that
    lost an attempt to a dying worker sends alone in this process (``jobs.slots``).
    """
    message = CurrentMessage.get_current_message()
    options = message.options if message else {}
    if SENT_REPLY in options:
        # An earlier delivery of this message sent the email but could not record it.
        tracking.record_sent_earlier(job_id, options[SENT_REPLY])
        return {"job_id": job_id, "status": "succeeded", "smtp_reply": options[SENT_REPLY]}
    claiming = {
        "worker_id": dramatiq.get_broker().broker_id,
        "message_id": message.message_id if message else "",
    }
    # Outside a worker (called directly) there is no retry to come.
    retries = options.get("retries", 0) if message else settings.JOBS_MAX_RETRIES
    with send_slots.shared():
        claim = tracking.claim_job(job_id, first_hand=True, **claiming)
        if claim is not None:
            return _send_and_record(claim, options, retries=retries)
    # A duplicate delivery, or a job that lost an attempt to a dying worker.
    with send_slots.slot(alone=tracking.is_suspect(job_id)):
        claim = tracking.claim_job(job_id, **claiming)
        if claim is None:
            logger.info("job=%s skipped: already sent, failed or held by another delivery", job_id)
            return {"job_id": job_id, "status": "skipped"}
        return _send_and_record(claim, options, retries=retries)


def _send_and_record(claim, options, *, retries):
    """Send the claimed job's email and record the outcome; re-raise failures for Retries.

    A retry due later than ``errors.LONGEST_HELD_RETRY_MS`` is scheduled on the
    job row instead, and nothing is raised: no worker holds it meanwhile.
    """
    try:
        reply = _send(claim, retries=retries)
    except errors.RetryScheduled as scheduled:
        return {"job_id": claim.job.pk, "status": "retrying", "retry_in_ms": scheduled.delay_ms}
    try:
        tracking.record_success(claim, reply)
    except DatabaseError:
        # The retry of this message carries the reply, so it records instead of sending again.
        options[SENT_REPLY] = reply
        raise
    return {"job_id": claim.job.pk, "status": "succeeded", "smtp_reply": reply}


def _send(claim, *, retries):
    """Send the job's email; on failure record the attempt and re-raise."""
    try:
        return send_message(build_email(claim.job))
    except Exception as exc:
        will_retry = errors.should_retry(retries, exc)
        delay_ms = errors.retry_delay_ms(retries) if will_retry else 0
        if delay_ms > errors.LONGEST_HELD_RETRY_MS:
            tracking.record_failure(claim, exc, will_retry=True, retry_in_ms=delay_ms)
            raise errors.RetryScheduled(delay_ms) from exc
        tracking.record_failure(claim, exc, will_retry=will_retry)
        raise
    except BaseException as exc:
        tracking.record_failure(claim, exc, will_retry=errors.should_retry(retries, exc))
        raise
