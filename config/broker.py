"""Dramatiq's Redis broker, woken by enqueues instead of polling.

Dramatiq's Redis consumer sleeps between empty fetches, backing off up to the
worker timeout (1 s), so an email queued to an idle worker waits for the next
poll. Here every enqueue also pushes a token onto a per-queue wake-up list, and
an idle consumer blocks on that list (BLPOP) for the same back-off period
instead of sleeping: it fetches as soon as a message arrives, and an idle
worker makes no more Redis calls than before.
"""

import time

import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff, current_millis, q_name
from dramatiq.errors import ConnectionClosed

# Tokens left unconsumed (no consumer waiting) are trimmed to this many.
MAX_WAKE_TOKENS = 64
# How long a consumer whose prefetch is all in flight waits before looking again.
SATURATED_WAIT_S = 0.005


def wake_key(namespace, queue_name):
    """The Redis list an idle consumer of ``queue_name`` blocks on."""
    return f"{namespace}:{q_name(queue_name)}.wake"


class WakeupRedisBroker(RedisBroker):
    """A RedisBroker whose consumers wake on enqueue rather than on a timer."""

    @property
    def consumer_class(self):
        return _WakeupConsumer

    def enqueue(self, message, *, delay=None):
        message = super().enqueue(message, delay=delay)
        if delay is None:
            key = wake_key(self.namespace, message.queue_name)
            pipe = self.client.pipeline(transaction=False)
            pipe.lpush(key, 1)
            pipe.ltrim(key, 0, MAX_WAKE_TOKENS - 1)
            pipe.execute()
        return message


    def requeue_dead_workers(self):
        """Run the broker's maintenance pass now, on every queue.

        Dramatiq runs it at random (``maintenance_chance``, 0.1% of broker
        calls), so the messages of a worker killed mid-job can wait many
        minutes. The relay calls this every sweep: messages held by workers
        silent for longer than ``heartbeat_timeout`` go back to their queues.
        """
        dispatch = self.scripts["dispatch"]
        now = current_millis()
        for queue_name in sorted(self.queues | self.delay_queues):
            args = [
                "qsize", now, queue_name, self.broker_id, self.heartbeat_timeout,
                self.dead_message_ttl, 1, self._max_unpack_size(),
            ]
            dispatch(args=args, keys=[self.namespace])


class _WakeupConsumer(_RedisConsumer):
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
                    self.broker.client.blpop([wake_key(self.broker.namespace, self.queue_name)], backoff_ms / 1000)
                    return None
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None
        return super().__next__()
