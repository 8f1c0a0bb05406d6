"""The unit tier's broker: Dramatiq's StubBroker, in memory, with the rest of Herald's broker interface.

Herald's Redis and RabbitMQ brokers share ``jobs.brokers.HeraldBroker``: a
``broker_id`` (the worker id the actor records on a claim), a ``namespace``,
and ``queue_counts``, ``ping`` and ``requeue_dead_workers``. The stub answers
them from its own memory, so that the actor, the outbox and the admin's summary
run on it unchanged.
"""

import uuid

from dramatiq.brokers.stub import StubBroker as DramatiqStubBroker
from dramatiq.common import dq_name


class StubBroker(DramatiqStubBroker):
    namespace = "dramatiq"

    def __init__(self, middleware=None, **options):
        super().__init__(middleware, **options)
        self.broker_id = str(uuid.uuid4())

    def queue_counts(self, queue_name):
        """``{"queue_depth", "in_progress", "delayed", "dead_lettered"}`` for ``queue_name``, as the Redis broker counts them."""
        queue = self.queues[queue_name]
        delay_queue = self.queues[dq_name(queue_name)]
        return {
            "queue_depth": queue.qsize(),
            "in_progress": queue.unfinished_tasks - queue.qsize(),
            "delayed": delay_queue.unfinished_tasks,
            "dead_lettered": len(self.dead_letters_by_queue[queue_name]),
        }

    def ping(self):
        """Always answers: the stub lives in this process."""

    def requeue_dead_workers(self):
        """Nothing to do: a worker on the stub runs in this process and cannot die alone."""
