"""The RabbitMQ broker (BROKER_URL=amqp://...): confirms, durable queues, persistent messages, bounded failures."""

import time

import dramatiq
import pika
import pytest
from django.db import transaction
from dramatiq.errors import ConnectionClosed

from config.localredis import free_port
from jobs.brokers import BROKER_ERRORS
from jobs.brokers.rabbitmq import HeraldRabbitmqBroker, with_defaults
from jobs.enqueue.outbox import publish
from jobs.models import Job
from tests.integration.config.test_settings import settings_in
from tests.support.factories import enqueue_confirmation, make_user


def message(queue="herald-test"):
    return dramatiq.Message(queue, "an_actor", (), {}, {})


@pytest.fixture
def rabbit_broker(rabbitmq):
    broker = HeraldRabbitmqBroker(url=rabbitmq.url)
    broker.declare_queue("herald-test")
    broker.flush("herald-test")
    yield broker
    broker.flush("herald-test")
    broker.close()


def test_broker_url_selects_rabbitmq_and_its_absence_redis():
    assert (
        settings_in({"BROKER_URL": "amqp://guest:guest@mq:5672/%2F"}, "DRAMATIQ_BROKER")["DRAMATIQ_BROKER"][
            "BROKER"
        ]
        == "jobs.brokers.rabbitmq.HeraldRabbitmqBroker"
    )
    assert (
        settings_in({"BROKER_URL": ""}, "DRAMATIQ_BROKER")["DRAMATIQ_BROKER"]["BROKER"]
        == "jobs.brokers.redis.WakeupRedisBroker"
    )


def test_messages_are_persistent_on_durable_queues_with_publisher_confirms(rabbitmq, rabbit_broker):
    assert rabbit_broker.confirm_delivery

    rabbit_broker.enqueue(message())

    queues = rabbitmq.ctl_run(
        "list_queues", "name", "durable", "messages", "--no-table-headers"
    ).stdout.split("\n")
    assert "herald-test\ttrue\t1" in queues
    method, properties, _ = rabbit_broker.channel.basic_get("herald-test", auto_ack=True)
    assert method is not None and properties.delivery_mode == 2  # persistent


def test_a_publish_after_the_server_closed_the_connection_opens_a_new_one(rabbitmq, rabbit_broker):
    rabbit_broker.enqueue(message())

    rabbitmq.close_client_connections()  # as RabbitMQ does to an idle publisher that missed heartbeats
    rabbit_broker.enqueue(message())

    assert rabbit_broker.queue_counts("herald-test")["queue_depth"] == 2


def test_queue_counts_read_waiting_delayed_and_dead_lettered(rabbit_broker):
    rabbit_broker.enqueue(message())
    rabbit_broker.enqueue(message())
    rabbit_broker.enqueue(message(), delay=60_000)

    assert rabbit_broker.queue_counts("herald-test") == {
        "queue_depth": 2,
        "in_progress": None,
        "delayed": 1,
        "dead_lettered": 0,
    }


def test_an_unreachable_rabbitmq_fails_within_seconds_with_a_broker_error():
    nowhere = HeraldRabbitmqBroker(url=f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    started = time.monotonic()

    with pytest.raises(BROKER_ERRORS):
        nowhere.enqueue(message())
    with pytest.raises(ConnectionClosed):
        nowhere.queue_counts("herald-test")

    assert time.monotonic() - started < 10


def test_an_unreachable_rabbitmq_leaves_the_job_for_the_relay(transactional_db, monkeypatch):
    nowhere = HeraldRabbitmqBroker(url=f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    monkeypatch.setattr(dramatiq, "get_broker", lambda: nowhere)
    with transaction.atomic():
        job = enqueue_confirmation(
            user=make_user("queued@example.com")
        )  # published on commit: refused quietly

    assert Job.objects.get(pk=job.pk).message_id == ""  # the row names no message: the relay sends it
    assert publish(job.pk, "emails") is None  # no exception: signup answers, the relay sends it later
    assert Job.objects.get(pk=job.pk).message_id == ""


def test_url_options_win_over_the_defaults():
    url = with_defaults("amqp://u:p@mq:5672/%2F?blocked_connection_timeout=30&heartbeat=20")

    parameters = pika.URLParameters(url)
    assert (parameters.blocked_connection_timeout, parameters.heartbeat) == (30, 20)
    assert parameters.socket_timeout == 5
