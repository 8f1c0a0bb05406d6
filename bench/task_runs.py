"""The record of what ran (``bench.taskfns`` writes it on Redis), and the rows checked against it."""

import time
from collections import Counter
from dataclasses import dataclass

from bench.task_columns import wait_rows_final


@dataclass
class Ran:
    key: str
    started: float
    ended: float
    pid: int


def forget_runs():
    from bench.taskfns import RAN_KEY, STARTED_KEY, redis_client

    redis_client().delete(RAN_KEY, STARTED_KEY)


def runs():
    from bench.taskfns import RAN_KEY, redis_client

    out = []
    for line in redis_client().lrange(RAN_KEY, 0, -1):
        key, started, ended, pid = line.decode().split()
        out.append(Ran(key, float(started), float(ended), int(pid)))
    return out


def started_count(key):
    """How many times the sleeping task ``key`` began."""
    from bench.taskfns import STARTED_KEY, redis_client

    return sum(line.decode().startswith(f"{key} ") for line in redis_client().lrange(STARTED_KEY, 0, -1))


def wait_runs(keys, timeout, workers=()):
    """Wait until every task in ``keys`` ran to its end; the record. Fails early if every worker died.

    Counts with LLEN and reads the record only once it is long enough: this
    process shares the two cores with the workers it times.
    """
    from bench.taskfns import RAN_KEY, redis_client

    wanted = set(keys)
    deadline = time.monotonic() + timeout
    while True:
        missing = wanted
        if redis_client().llen(RAN_KEY) >= len(wanted):
            ran = runs()
            missing = wanted - {one.key for one in ran}
            if not missing:
                return ran
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(missing)} of {len(wanted)} tasks did not run within {timeout:.0f} s")
        if workers and not any(worker.alive() for worker in workers):
            raise RuntimeError(f"every worker exited:\n{workers[0].output()[-3000:]}")
        time.sleep(0.02)


def records_agree(column, ids, keys, ran, *, sink_recipients=None, addresses=None):
    """The rows (by status) against what ran, and the sink against the emails sent.

    They agree when every task ran to its end exactly once, every row says
    SUCCESSFUL, and, for emails, every address got exactly one message.
    """
    wanted = set(keys)
    times = Counter(one.key for one in ran if one.key in wanted)
    statuses = wait_rows_final(column, ids, timeout=30)
    figures = {
        "tasks": len(keys),
        "rows_by_status": None if statuses is None else dict(Counter(statuses)),
        "ran": sum(times.values()),
        "lost": sum(1 for key in keys if not times[key]),
        "duplicates": sum(n - 1 for n in times.values()),
    }
    agree = figures["lost"] == figures["duplicates"] == 0
    if statuses is not None:
        agree = agree and figures["rows_by_status"] == {"SUCCESSFUL": len(keys)}
    if addresses is not None:
        sent_to = set(addresses)
        received = Counter(to for to in sink_recipients if to in sent_to)
        figures["smtp_received"] = sum(received.values())
        agree = agree and figures["smtp_received"] == len(addresses) == len(received)
    figures["agree"] = agree
    return figures
