"""Notes in Redis of the messages the broker took, by message id: how the relay tells a lost hand-off."""

import functools
import logging
import time

from django.conf import settings
from redis.exceptions import RedisError

from jobs.brokers.clients import redis_client
from jobs.worker.liveness import namespace

logger = logging.getLogger("jobs.enqueue.published")

# How long Redis keeps the note of a publish (118 bytes each: 7 MB at 100 publishes/s).
# The relay looks for the notes of jobs this young only; an older job whose hand-off was
# lost is sent once overdue (jobs.enqueue.outbox.REQUEUE_AFTER_S).
PUBLISHED_KEPT_S = 600
# A Redis that hangs delays a publish by at most this much (RabbitMQ deployments: the broker is up).
NOTE_TIMEOUT_S = 0.25


@functools.cache
def notes_client():
    """A client on ``REDIS_URL`` that gives up after ``NOTE_TIMEOUT_S``."""
    return redis_client(settings.REDIS_URL, timeout_s=NOTE_TIMEOUT_S)


def published_key() -> str:
    return f"{namespace()}:herald:published"


def note_published(message_id: str) -> None:
    """Note in Redis that the broker took message ``message_id``: one ZADD, instead of a write to the row.

    When Redis cannot take the note (a RabbitMQ deployment whose Redis is
    down), the relay may send the job once more later: harmless (the claim).
    """
    try:
        notes_client().zadd(published_key(), {message_id: time.time()})
    except RedisError as exc:
        logger.info("message %s published but not noted (%s); the relay may send it again", message_id, exc)


def published_ids(message_ids: list[str]) -> set[str] | None:
    """Those of ``message_ids`` noted as published in the last ``PUBLISHED_KEPT_S``; None when Redis is down."""
    if not message_ids:
        return set()
    try:
        scores = notes_client().zmscore(published_key(), message_ids)
    except RedisError:
        return None
    return {message_id for message_id, score in zip(message_ids, scores, strict=True) if score is not None}


def forget_old_notes() -> None:
    """Drop the notes of publishes older than ``PUBLISHED_KEPT_S`` (the relay's sweep does, each time)."""
    try:
        notes_client().zremrangebyscore(published_key(), "-inf", time.time() - PUBLISHED_KEPT_S)
    except RedisError:
        pass  # the next sweep drops them
