"""The broker (Redis, or RabbitMQ with --broker rabbitmq) down at signup, and restarted with messages queued and delayed."""

import time

import pytest
from django.db import transaction

from jobs.enqueue.outbox import publish
from jobs.models import Job
from jobs.selectors import broker_queue_stats
from tests.support.checks import assert_exactly_one_email_each
from tests.support.factories import enqueue_confirmation, make_job, make_user
from tests.support.http import Client
from tests.support.metrics import TOKEN, scrape
from tests.support.publishing import published
from tests.support.waiting import wait_until

pytestmark = pytest.mark.reliability


def test_signup_while_the_broker_is_down_is_sent_by_the_workers_once_it_is_back(
    live_env, smtp_sink, processes, broker_server
):
    """Web and worker alone, no scheduler: the workers' relay sends the job the broker never got."""
    relay_interval_s = 5
    live_env["JOBS_RELAY_INTERVAL_S"] = str(relay_interval_s)
    live_env["RATE_LIMIT_SIGNUP"] = "20/m"  # on Redis the rate limiter's cache is down too: it must fail open
    web = processes.web(live_env)
    processes.worker(live_env)

    broker_server.stop()
    try:
        response = Client(web.url).signup("outage@example.com")
        assert response.status == 302 and response.url.endswith("/accounts/signup/done/")
        job = Job.objects.get()
        assert job.status == Job.Status.QUEUED
        # The hand-off thread's publish failed: the row names no message, for the relay.
        wait_until(
            lambda: Job.objects.filter(pk=job.pk, message_id="").exists(), 20, "the failed publish noted"
        )
    finally:
        broker_server.start()
    back = time.monotonic()

    smtp_sink.wait_for(1, timeout=relay_interval_s + 10)
    elapsed = time.monotonic() - back
    print(f"sent {elapsed:.1f} s after the broker came back (relay interval {relay_interval_s} s)")
    assert elapsed < relay_interval_s + 10
    assert_exactly_one_email_each(smtp_sink, ["outage@example.com"])


def test_queued_and_delayed_messages_survive_a_broker_restart(live_env, smtp_sink, processes, broker_server):
    with transaction.atomic():
        queued = [enqueue_confirmation(user=make_user(f"q{n}@example.com")) for n in range(3)]
        delayed_job = make_job("later@example.com")
    assert publish(delayed_job.pk, "emails", delay_ms=1500) is not None
    assert all(published(job) for job in queued)

    broker_server.restart()

    queues = broker_queue_stats()  # what the admin's broker panel reads
    assert (queues["queue_depth"], queues["delayed"]) == (3, 1)
    # With the relay held back, only the surviving messages can deliver these.
    live_env["JOBS_RELAY_INTERVAL_S"] = "3600"
    processes.worker(live_env)
    smtp_sink.wait_for(4, timeout=30)
    time.sleep(0.5)
    assert_exactly_one_email_each(smtp_sink, [f"q{n}@example.com" for n in range(3)] + ["later@example.com"])


def test_a_publish_after_the_server_closed_the_web_process_connection_goes_through(
    live_env, smtp_sink, processes, broker_server
):
    """The web process's publisher connection, reset while idle (django_dramatiq #44), is opened again."""
    live_env["JOBS_RELAY_INTERVAL_S"] = "3600"  # only the publish itself can deliver the second email
    web = processes.web(live_env, workers=1)
    processes.worker(live_env)
    Client(web.url).signup("before@example.com")
    smtp_sink.wait_for(1)

    broker_server.close_client_connections()
    response = Client(web.url).signup("after@example.com")

    assert response.status == 302
    smtp_sink.wait_for(2, timeout=20)
    assert_exactly_one_email_each(smtp_sink, ["before@example.com", "after@example.com"])
    assert (
        Job.objects.get(label="after@example.com").enqueued_at is None
    )  # the publish sent it, not the relay


def test_healthz_and_the_broker_panel_read_the_broker(live_env, processes, broker_server, client):
    processes.worker(live_env)
    assert client.get("/healthz/").json()["broker"] == "ok"
    assert broker_queue_stats()["reachable"] is True

    broker_server.stop()
    try:
        health = client.get("/healthz/")
        queues = broker_queue_stats()
    finally:
        broker_server.start()

    assert health.status_code == 503 and health.json()["broker"] == "unavailable"
    assert queues["reachable"] is False and queues["queue_depth"] is None


def test_the_admin_broker_panel_and_metrics_read_the_broker(admin_client, on_rabbitmq, settings):
    settings.METRICS_TOKEN = TOKEN
    publish(1, "emails")
    publish(2, "emails", delay_ms=60_000)

    page = admin_client.get("/admin/jobs/job/").content.decode()
    samples = scrape(admin_client)

    assert 'id="queue-depth">1<' in page and 'id="delayed">1<' in page
    assert ('id="in-progress" title=' in page) is on_rabbitmq  # RabbitMQ does not count them over AMQP
    assert samples[("herald_broker_up", ())] == 1
    assert samples[("herald_queue_depth", (("queue", "emails"),))] == 1
    assert samples[("herald_queue_delayed", (("queue", "emails"),))] == 1


def test_healthz_with_redis_down_names_what_it_takes_down(db, client, redis_server, on_rabbitmq):
    redis_server.stop()
    try:
        report = client.get("/healthz/").json()
    finally:
        redis_server.start()

    # On RabbitMQ the broker still answers; the workers' stamps are in Redis and cannot be read.
    assert report["failing"] == (["workers"] if on_rabbitmq else ["broker"])
    assert report["workers"] is None
