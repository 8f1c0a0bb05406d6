"""When housekeeping last ran: the scheduler's daily maintenance (prune, expiry), recorded in Redis.

Each housekeeping actor notes its run once its work is done (:func:`note_run`).
``/healthz/``, the admin summary and the workers' relay read it
(:func:`housekeeping_status`): housekeeping is overdue when nothing ran for
``OVERDUE_AFTER_S``, its daily schedule and an hour. A site that never saw it
run counts from the first time anyone looked, so a new deployment is not
flagged before its first day is over.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

from jobs.worker.liveness import namespace, probe_client

# prune_old_jobs and expire_unconfirmed run daily; an hour of slack for a slow run or a scheduler hand-over.
OVERDUE_AFTER_S = 25 * 3600


@dataclass(frozen=True)
class HousekeepingStatus:
    """``last_run``: UNIX time of the last housekeeping run, or None if none was seen; ``overdue``: see module."""

    last_run: float | None
    overdue: bool


def housekeeping_key(broker=None) -> str:
    return f"{namespace(broker)}:herald:housekeeping"


def note_run(name: str, *, now: float | None = None, client=None) -> None:
    """Record that housekeeping actor ``name`` did its work now; the next overdue spell is warned of again.

    Raises RedisError.
    """
    client = client or probe_client()
    now = time.time() if now is None else now
    pipe = client.pipeline()
    pipe.hset(housekeeping_key(), mapping={"last_run": now, "last_actor": name})
    pipe.hdel(housekeeping_key(), "warned")
    pipe.execute()


def housekeeping_status(*, now: float | None = None, client=None) -> HousekeepingStatus:
    """When housekeeping last ran and whether it is overdue (module docstring). Raises RedisError."""
    client = client or probe_client()
    now = time.time() if now is None else now
    key = housekeeping_key()
    client.hsetnx(key, "watched_since", now)
    last_run, watched_since = client.hmget(key, "last_run", "watched_since")
    last_run = None if last_run is None else float(last_run)
    since = last_run if last_run is not None else float(watched_since or now)
    return HousekeepingStatus(last_run=last_run, overdue=now - since > OVERDUE_AFTER_S)


def first_to_warn(*, now: float | None = None, client=None) -> bool:
    """True for the one caller, cluster-wide, that is to log the current overdue spell. Raises RedisError."""
    client = client or probe_client()
    return bool(client.hsetnx(housekeeping_key(), "warned", time.time() if now is None else now))


UNKNOWN_SUMMARY: dict[str, Any] = {"last_run_at": None, "last_run_s": None, "overdue": None}


def housekeeping_summary(now: float | None = None) -> dict[str, Any]:
    """What the admin summary shows (``jobs.selectors.stats``): ``{"last_run_at", "last_run_s", "overdue"}``.

    ``last_run_at`` (ISO 8601 UTC) and ``last_run_s`` (its age in seconds) are
    None if it was never seen; all three None when Redis is unreachable (the
    summary gives ``UNKNOWN_SUMMARY`` without asking once Redis failed it).
    """
    now = time.time() if now is None else now
    try:
        status = housekeeping_status(now=now)
    except RedisError:
        return dict(UNKNOWN_SUMMARY)
    if status.last_run is None:
        return {"last_run_at": None, "last_run_s": None, "overdue": status.overdue}
    return {
        "last_run_at": datetime.fromtimestamp(status.last_run, UTC).isoformat(timespec="seconds"),
        "last_run_s": round(max(now - status.last_run, 0.0), 1),
        "overdue": status.overdue,
    }
