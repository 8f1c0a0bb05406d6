"""Dramatiq's Redis broker, woken by enqueues instead of polling: ``WakeupRedisBroker``.

The one module that uses Dramatiq's private names (see the class);
tests/integration/config/test_broker_wakeup.py fails when the installed
Dramatiq changes them.
"""

import functools
import time

import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, dq_name, q_name, xq_name
from dramatiq.errors import ConnectionClosed
from dramatiq.message import Message

from jobs.brokers import PROBE_TIMEOUT_S
from jobs.brokers.clients import redis_client

# Tokens left unconsumed (no consumer waiting) are trimmed to this many.
MAX_WAKE_TOKENS = 64
# How long a consumer whose prefetch is all in flight waits before looking again.
SATURATED_WAIT_S = 0.005
# Shorter waits sleep instead of blocking in Redis. Redis truncates a BLPOP
# timeout to whole milliseconds after converting it from seconds, so 0.001 s
# can become 0, which means "block forever" (until the socket times out).
MIN_BLOCK_MS = 2


def wake_key(namespace, queue_name):
    """The Redis list an idle consumer of ``queue_name`` (a queue or a delay queue) blocks on."""
    return f"{namespace}:{queue_name}.wake"


def client_options(url, socket_timeout=None):
    """Dramatiq's ``url=`` option, or a ``client=`` whose socket waits are bounded when a timeout is given.

    (Dramatiq's Redis broker builds its client from the URL alone, with no
    timeouts.)
    """
    if not (url and socket_timeout):
        return {"url": url}
    return {"client": redis_client(url, timeout_s=socket_timeout)}


class WakeupRedisBroker(RedisBroker):
    """A RedisBroker whose consumers wake on enqueue rather than on a timer.

    Dramatiq's Redis consumer sleeps between empty fetches, backing off up to the worker
    timeout, so a message queued to an idle worker waits for the next poll. Here every enqueue
    also pushes a token onto the queue's wake-up list (:func:`wake_key`), and an idle consumer
    blocks on that list (BLPOP) for the same back-off instead of sleeping: it fetches as soon as
    a message arrives, and an idle worker makes no more Redis calls than before.

    A queue and its delay queue (``emails``, ``emails.DQ``) have a consumer each and so a list
    each: a token meant for one is never taken by the other. A delayed message (a retry) wakes
    the delay queue's consumer, which never blocks past the earliest due time it holds.

    Why it reaches into Dramatiq's private names: at a low rate the wake-up cuts the delivery
    latency from most of Dramatiq's back-off to a few milliseconds (the figures are in
    docs/benchmarks.md), and Dramatiq offers no blocking fetch. So this class alone subclasses
    ``_RedisConsumer``, calls ``RedisBroker._should_do_maintenance`` and ``_max_unpack_size``,
    and copies the argument list of the dispatch script (:meth:`script_args`).
    """

    def __init__(self, *, url=None, socket_timeout=None, **options):
        # Bounded socket waits: a hung Redis fails an enqueue within seconds
        # (the job stays in the database and the relay sends it) instead of
        # hanging the caller. They must exceed the consumers' blocking wait
        # for wake-ups (the worker timeout, 1 s).
        self.url = url
        super().__init__(**options, **client_options(url, socket_timeout))

    @property
    def consumer_class(self):
        return _WakeupConsumer

    @functools.cached_property
    def probe_client(self):
        """A client on the broker's Redis that gives up within ``PROBE_TIMEOUT_S``."""
        return redis_client(self.url, timeout_s=PROBE_TIMEOUT_S)

    def queue_counts(self, queue_name):
        """``{"queue_depth", "in_progress", "delayed", "dead_lettered"}`` for ``queue_name``, read now.

        ``in_progress``: fetched by a worker, not yet acknowledged; ``delayed``:
        retries waiting out their back-off, fetched or not. Raises RedisError.
        """
        prefix = f"{self.namespace}:"
        pipe = self.probe_client.pipeline(transaction=False)
        pipe.llen(prefix + q_name(queue_name))
        pipe.hlen(prefix + q_name(queue_name) + ".msgs")
        pipe.hlen(prefix + dq_name(queue_name) + ".msgs")
        pipe.zcard(prefix + xq_name(queue_name))
        waiting, held, delayed, dead = pipe.execute()
        return {
            "queue_depth": waiting,
            "in_progress": max(held - waiting, 0),
            "delayed": delayed,
            "dead_lettered": dead,
        }

    def ping(self):
        """Raise RedisError unless Redis answers within ``PROBE_TIMEOUT_S``."""
        self.probe_client.ping()

    def do_enqueue(self, queue_name, *args):
        """The broker's enqueue script and the wake-up token for ``queue_name``, in one round trip.

        (Dramatiq would call the script alone; a delayed message is enqueued
        on the delay queue, so the token wakes that queue's consumer.)
        """
        dispatch, keys = self.scripts["dispatch"], [self.namespace]
        script_args = self.script_args("enqueue", queue_name, *args)
        key = wake_key(self.namespace, queue_name)
        pipe = self.client.pipeline(transaction=False)
        pipe.evalsha(dispatch.sha, len(keys), *keys, *script_args)  # type: ignore[union-attr]
        pipe.lpush(key, 1)
        pipe.ltrim(key, 0, MAX_WAKE_TOKENS - 1)
        try:
            return pipe.execute()[0]
        except redis.exceptions.NoScriptError:
            # Redis lost its scripts (a restart): this call loads it again.
            return dispatch(args=script_args, keys=keys)

    def requeue_dead_workers(self):
        """Run the broker's maintenance pass now, on every queue.

        Dramatiq runs it at random (``maintenance_chance``, one in a thousand broker
        calls), so the messages of a worker killed mid-job can wait many
        minutes. The relay calls this every sweep: messages held by workers
        silent for longer than ``heartbeat_timeout`` go back to their queues.
        """
        dispatch = self.scripts["dispatch"]
        for queue_name in sorted(self.queues | self.delay_queues):
            dispatch(args=self.script_args("qsize", queue_name, maintenance=True), keys=[self.namespace])

    def script_args(self, command, queue_name, *args, maintenance=None):
        """The arguments of Dramatiq's dispatch script, as ``RedisBroker._dispatch`` builds them.

        ``maintenance``: True runs the dead-worker pass; None leaves it to
        chance, as Dramatiq does.
        """
        if maintenance is None:
            maintenance = self._should_do_maintenance(command)
        return [
            command,
            current_millis(),
            queue_name,
            self.broker_id,
            self.heartbeat_timeout,
            self.dead_message_ttl,
            int(maintenance),
            self._max_unpack_size(),
            *args,
        ]


class _WakeupConsumer(_RedisConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Due times (ms) of the delayed messages this consumer handed out and
        # its worker holds until then; acked once they are re-enqueued.
        self.etas = {}

    def ack(self, message):
        self.etas.pop(message.message_id, None)
        super().ack(message)

    def nack(self, message):
        self.etas.pop(message.message_id, None)
        super().nack(message)

    def close(self):
        """Put back on the queue the messages fetched ahead and never handed to a worker thread.

        A worker stopping gracefully puts back the messages its threads had
        not started; those still in this consumer's prefetch cache would wait
        in its in-flight set for ``heartbeat_timeout`` and a maintenance pass.
        """
        try:
            self.requeue([Message.decode(data) for data in self.message_cache if data is not None])
            self.message_cache = []
        finally:
            super().close()

    def __next__(self):
        try:
            if not self.message_cache:
                free = self.prefetch - self.outstanding_message_count
                if free <= 0:
                    # Every prefetched message is in a worker thread: check
                    # again soon, not after an idle back-off.
                    time.sleep(SATURATED_WAIT_S)
                    return None
                self.message_cache = self.broker.do_fetch(self.queue_name, free)
                if not self.message_cache:
                    self.misses, backoff_ms = compute_backoff(self.misses, max_backoff=self.timeout)
                    self._wait_for_wake(backoff_ms)
                    return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None
        message = super().__next__()
        if message is not None and message.options.get("eta") is not None:
            self.etas[message.message_id] = message.options["eta"]
        return message

    def _wait_for_wake(self, backoff_ms):
        """Block until an enqueue wakes this consumer, the back-off ends or a delayed message is due."""
        if self.etas:
            due_in_ms = min(self.etas.values()) - current_millis()
            if due_in_ms <= 0:
                return  # the worker re-enqueues it as soon as we return
            backoff_ms = min(backoff_ms, due_in_ms)
        if backoff_ms < MIN_BLOCK_MS:
            time.sleep(max(backoff_ms, 0) / 1000)
            return
        self.broker.client.blpop([wake_key(self.broker.namespace, self.queue_name)], backoff_ms / 1000)
