"""Redis down at signup, and Redis restarted with messages queued and delayed."""

import time

import pytest
from django.conf import settings
from django.db import transaction

from jobs.actors import send_email
from jobs.models import EmailJob
from tests.jobs.factories import enqueue_confirmation, make_user
from tests.support.checks import assert_exactly_one_email_each
from tests.support.http import Client

pytestmark = pytest.mark.reliability


def test_signup_while_redis_is_down_is_sent_once_redis_is_back(live_env, smtp_sink, processes, redis_server):
    live_env["RATE_LIMIT_SIGNUP"] = "20/m"  # the rate limiter's cache is Redis too: it must fail open
    web = processes.web(live_env)
    processes.worker(live_env)

    redis_server.stop()
    try:
        response = Client(web.url).signup("outage@example.com")
        assert response.status == 302 and response.url.endswith("/accounts/signup/done/")
        job = EmailJob.objects.get()
        assert job.status == EmailJob.Status.QUEUED and job.enqueued_at is None
    finally:
        redis_server.start()
    back = time.monotonic()

    # Only the web server and rundramatiq run: the relay inside the worker sends it.
    smtp_sink.wait_for(1, timeout=settings.JOBS_RELAY_INTERVAL_S + 20)
    assert time.monotonic() - back < settings.JOBS_RELAY_INTERVAL_S + 20
    assert_exactly_one_email_each(smtp_sink, ["outage@example.com"])


def test_queued_and_delayed_messages_survive_a_redis_restart(live_env, smtp_sink, processes, redis_server, broker):
    with transaction.atomic():
        queued = [enqueue_confirmation(user=make_user(f"q{n}@example.com")) for n in range(3)]
        delayed_job = EmailJob.objects.create(
            user=make_user("later@example.com"), recipient="later@example.com"
        )
    message = send_email.send_with_options(args=(delayed_job.pk,), delay=1500)
    EmailJob.objects.filter(pk=delayed_job.pk).update(enqueued_at=delayed_job.created_at, message_id=message.message_id)
    assert all(EmailJob.objects.get(pk=job.pk).enqueued_at for job in queued)

    redis_server.restart()

    assert broker.client.llen("dramatiq:emails") == 3
    assert broker.client.llen("dramatiq:emails.DQ") == 1
    # With the relay held back, only the surviving messages can deliver these.
    live_env["JOBS_RELAY_INTERVAL_S"] = "3600"
    processes.worker(live_env)
    smtp_sink.wait_for(4, timeout=30)
    time.sleep(0.5)
    assert_exactly_one_email_each(smtp_sink, [f"q{n}@example.com" for n in range(3)] + ["later@example.com"])
