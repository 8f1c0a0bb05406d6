"""End-state checks shared by the real-process tests."""

from collections import Counter

from jobs.models import Job
from tests.support.waiting import wait_until


def assert_exactly_one_email_each(smtp_sink, addresses, timeout=30):
    """Every address received one email, nobody else got any, and the job rows agree.

    The worker records a send just after the server accepts it: wait (bounded)
    for every job to reach a final state before comparing.
    """
    wait_until(
        lambda: not Job.objects.exclude(status__in=Job.FINAL_STATUSES).exists(),
        timeout,
        "every job finished",
    )
    received = Counter(smtp_sink.recipients())
    expected = Counter(addresses)
    assert received == expected, {
        "duplicates": {a: n for a, n in received.items() if n > 1},
        "missing": sorted(set(expected) - set(received)),
        "unexpected": sorted(set(received) - set(expected)),
    }
    succeeded = Counter(Job.objects.filter(status=Job.Status.SUCCEEDED).values_list("label", flat=True))
    assert succeeded == expected
    assert not Job.objects.exclude(status=Job.Status.SUCCEEDED).exists()
