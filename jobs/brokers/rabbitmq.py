"""Dramatiq's RabbitMQ broker, as Herald runs it when ``BROKER_URL`` is ``amqp://``."""

import logging
import threading
import urllib.parse
import uuid

import pika
import pika.exceptions
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.common import dq_name, q_name, xq_name
from dramatiq.errors import ConnectionClosed

from jobs.brokers import PROBE_TIMEOUT_S

# pika logs every connection it opens at INFO; its warnings and errors still show.
logging.getLogger("pika").setLevel(logging.WARNING)

# Seconds; each applies unless the URL sets it.
URL_DEFAULTS = {
    "socket_timeout": "5",  # connecting
    "stack_timeout": "10",  # the whole connection set-up
    "blocked_connection_timeout": "10",  # RabbitMQ blocking publishers (resource alarm)
}


def with_defaults(url, defaults=URL_DEFAULTS):
    """``url`` with each of ``defaults`` added to its query unless it is there already."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode({**defaults, **query})))


class HeraldRabbitmqBroker(RabbitmqBroker):
    """A RabbitmqBroker with publisher confirms, bounded waits and a per-process id.

    - Publisher confirms (``confirm_delivery``): an enqueue returns once RabbitMQ has taken
      the message, so a job noted as sent is never a message lost in a socket buffer.
    - Bounded waits (``URL_DEFAULTS``; options in the URL's query win): a RabbitMQ that hangs
      or blocks publishers fails an enqueue within seconds, and the relay sends the job later.
    - Connections are per thread (pika's are not thread-safe). When the server reset an idle
      publisher connection, Dramatiq's enqueue opens a new one and publishes again (up to six
      times) before it raises ``ConnectionClosed``.
    - ``broker_id``: one per process, as on the Redis broker; the id a worker claims jobs under
      and stamps its liveness with (``jobs.worker.liveness``).
    - Queue counts and ``ping`` use a connection of the reader's own with short timeouts.
    """

    # The prefix of Herald's keys in Redis (worker stamps, relay lock), as with the Redis broker.
    namespace = "dramatiq"

    def __init__(self, *, url, **options):
        super().__init__(url=with_defaults(url), confirm_delivery=True, **options)
        self.broker_id = str(uuid.uuid4())
        self.probe_url = with_defaults(
            url, {key: str(PROBE_TIMEOUT_S) for key in ("socket_timeout", "stack_timeout")}
        )
        self.probes = threading.local()

    def requeue_dead_workers(self):
        """Nothing to do: RabbitMQ requeues a consumer's unacknowledged messages when its connection closes."""

    def queue_counts(self, queue_name):
        """``{"queue_depth", "in_progress", "delayed", "dead_lettered"}`` for ``queue_name``, read now.

        Ready messages only: those a worker holds unacknowledged are not
        counted (``in_progress`` is None; a delayed message the worker fetched
        is held too). Raises ``ConnectionClosed`` when RabbitMQ does not answer
        within seconds.
        """
        waiting, delayed, dead = (
            self._ready_count(name) for name in (q_name(queue_name), dq_name(queue_name), xq_name(queue_name))
        )
        return {"queue_depth": waiting, "in_progress": None, "delayed": delayed, "dead_lettered": dead}

    def ping(self):
        """Raise ``ConnectionClosed`` unless RabbitMQ answers within seconds."""
        self._probe(lambda channel: channel.connection.process_data_events(time_limit=0))

    def _ready_count(self, name):
        try:
            return self._probe(
                lambda channel: channel.queue_declare(queue=name, passive=True).method.message_count
            )
        except ConnectionClosed as exc:
            if getattr(exc.__cause__, "reply_code", None) == 404:
                return 0  # not declared yet: nothing was ever sent to it
            raise

    def _probe(self, read):
        """``read(channel)`` on this thread's probe channel; once more on a new connection if the old one died."""
        for fresh in (getattr(self.probes, "connection", None) is None, True):
            try:
                return read(self._probe_channel())
            except pika.exceptions.ChannelClosedByBroker as exc:
                self.probes.channel = None
                raise ConnectionClosed(exc) from exc
            except pika.exceptions.AMQPError as exc:
                self._close_probe()
                if fresh:
                    raise ConnectionClosed(exc) from None

    def _probe_channel(self):
        connection = getattr(self.probes, "connection", None)
        if connection is None or not connection.is_open:
            connection = self.probes.connection = pika.BlockingConnection(pika.URLParameters(self.probe_url))
            self.probes.channel = None
        if getattr(self.probes, "channel", None) is None or not self.probes.channel.is_open:
            self.probes.channel = connection.channel()
        return self.probes.channel

    def _close_probe(self):
        connection, self.probes.connection, self.probes.channel = (
            getattr(self.probes, "connection", None),
            None,
            None,
        )
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except pika.exceptions.AMQPError:
                pass
