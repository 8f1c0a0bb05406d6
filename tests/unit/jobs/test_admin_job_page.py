"""The job admin's job page: attempts, return value, resends and escaping of what users typed."""

from django.urls import reverse
from django.utils import timezone

from jobs.models import Attempt, Job
from tests.support.admin import CHANGELIST, change_url, failed_job, resend_url, text
from tests.support.factories import make_job

Status = Job.Status
Outcome = Attempt.Outcome


def test_detail_shows_each_attempt_the_last_traceback_and_message_id(viewer):
    job = failed_job(
        message_id="9a3c1f00-0000-4000-8000-000000000000",
        attempt_count=2,
        last_traceback="Traceback (most recent call last):\n  smtplib.SMTPRecipientsRefused",
    )
    now = timezone.now()
    attempts = [
        (41, Outcome.RETRY, "smtplib.SMTPDataError", "SMTP 421 Try again later", "421 Try again later"),
        (12, Outcome.FAILED, "smtplib.SMTPRecipientsRefused", "Recipient refused", "550 No such user"),
    ]
    for number, (duration_ms, outcome, error_class, error_message, smtp_reply) in enumerate(
        attempts, start=1
    ):
        Attempt.objects.create(
            job=job,
            number=number,
            started_at=now,
            duration_ms=duration_ms,
            outcome=outcome,
            error_class=error_class,
            error_message=error_message,
            smtp_reply=smtp_reply,
        )

    page = text(viewer.get(change_url(job)))

    assert page.count('<tr class="attempt ') == 2
    for shown in [
        "41 ms",
        "Failed, will retry",
        "smtplib.SMTPDataError",
        "SMTP 421 Try again later",
        "421 Try again later",
        "550 No such user",
        "smtplib.SMTPRecipientsRefused",
    ]:
        assert shown in page
    assert "Traceback (most recent call last)" in page
    assert "9a3c1f00-0000-4000-8000-000000000000" in page


def test_detail_shows_what_the_task_returned(viewer):
    job = make_job(
        "done@example.com",
        status=Status.SUCCEEDED,
        attempt_count=1,
        return_value="250 2.0.0 Ok: queued as 7F3A",
    )
    Attempt.objects.create(
        job=job,
        number=1,
        started_at=timezone.now(),
        outcome=Attempt.Outcome.SUCCEEDED,
        return_value="250 2.0.0 Ok: queued as 7F3A",
    )

    page = text(viewer.get(change_url(job)))

    facts = page[page.index('id="job-return-value"') : page.index('id="job-last-error"')]
    attempts = page[page.index('<tr class="attempt ') :]
    assert "250 2.0.0 Ok: queued as 7F3A" in facts and "250 2.0.0 Ok: queued as 7F3A" in attempts


def test_detail_links_resends_both_ways(resender):
    job = failed_job()
    resender.post(resend_url(job))
    new_job = Job.objects.get(resend_of=job)

    assert f'href="{change_url(new_job)}"' in text(resender.get(change_url(job)))
    assert f'href="{change_url(job)}"' in text(resender.get(change_url(new_job)))


SCRIPT = "<script>alert(1)</script>"


def test_user_supplied_text_is_escaped_everywhere(resender):
    email = f"{SCRIPT}@example.com"
    job = failed_job(
        email,
        last_error=f"SMTP 550 {SCRIPT}",
        last_traceback=f"Traceback {SCRIPT}",
        return_value=f"550 {SCRIPT}",
        message_id='"><script>alert(2)</script>',
    )
    Attempt.objects.create(
        job=job,
        number=1,
        started_at=timezone.now(),
        outcome=Attempt.Outcome.FAILED,
        error_class=SCRIPT,
        error_message=SCRIPT,
        smtp_reply=SCRIPT,
        traceback=SCRIPT,
        worker_id=SCRIPT,
    )

    listing = text(resender.get(reverse(CHANGELIST)))
    detail = text(resender.get(change_url(job)))
    resent = resender.post(resend_url(job), follow=True)
    searched = text(resender.get(reverse(CHANGELIST), {"q": SCRIPT}))

    for page in (listing, detail, text(resent), searched):
        assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;@example.com" in listing
    assert "SMTP 550 &lt;script&gt;alert(1)&lt;/script&gt;" in listing
    assert detail.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 7
    assert "(send_confirmation_email &lt;script&gt;alert(1)&lt;/script&gt;@example.com) resent as" in text(
        resent
    )
