"""The Dramatiq actor that sends confirmation emails.

Thin by design: claim the job row, build the email, send it, record the
outcome. Safe to run any number of times for the same job: only the delivery
holding the claim sends, and a finished job is never sent again.
"""

import logging

import dramatiq
from django.conf import settings
from dramatiq.middleware import CurrentMessage

from jobs import errors, tracking
from jobs.mail import send_message
from jobs.slots import send_slots

logger = logging.getLogger("jobs.actors")


@dramatiq.actor(
    queue_name="emails",
    store_results=True,
    max_retries=settings.JOBS_MAX_RETRIES,
    min_backoff=settings.JOBS_MIN_BACKOFF_MS,
    max_backoff=settings.JOBS_MAX_BACKOFF_MS,
    time_limit=settings.JOBS_TIME_LIMIT_MS,
    retry_when=errors.should_retry,
)
def send_confirmation_email(job_id):
    """Send the confirmation email of job ``job_id`` once; return what happened.

    Transient failures are re-raised so that Dramatiq's Retries middleware
    tries again with back-off; permanent ones fail the job at once. A job that
    lost an attempt to a dying worker sends alone in this process (``jobs.slots``).
    """
    from accounts.emails import build_confirmation_email

    message = CurrentMessage.get_current_message()
    with send_slots.slot(alone=tracking.is_suspect(job_id)):
        claim = tracking.claim_job(
            job_id,
            worker_id=dramatiq.get_broker().broker_id,
            message_id=message.message_id if message else "",
        )
        if claim is None:
            logger.info("job=%s skipped: already sent, failed or held by another delivery", job_id)
            return {"job_id": job_id, "status": "skipped"}
        try:
            reply = send_message(build_confirmation_email(claim.job))
        except BaseException as exc:
            retries = message.options.get("retries", 0) if message else settings.JOBS_MAX_RETRIES
            tracking.record_failure(claim, exc, will_retry=errors.should_retry(retries, exc))
            raise
        tracking.record_success(claim, reply)
    return {"job_id": job_id, "status": "succeeded", "smtp_reply": reply}
