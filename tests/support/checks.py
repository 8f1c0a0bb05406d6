"""End-state checks shared by the real-process tests."""

from collections import Counter

from jobs.models import EmailAttempt, EmailJob


def assert_exactly_one_email_each(smtp_sink, addresses):
    """Every address received one email, nobody else got any, and the job rows agree."""
    received = Counter(smtp_sink.recipients())
    expected = Counter(addresses)
    assert received == expected, {
        "duplicates": {a: n for a, n in received.items() if n > 1},
        "missing": sorted(set(expected) - set(received)),
        "unexpected": sorted(set(received) - set(expected)),
    }
    succeeded = Counter(EmailJob.objects.filter(status=EmailJob.Status.SUCCEEDED).values_list("recipient", flat=True))
    assert succeeded == expected
    assert not EmailJob.objects.exclude(status=EmailJob.Status.SUCCEEDED).exists()
    assert not EmailAttempt.objects.filter(outcome=EmailAttempt.Outcome.RUNNING).exists()
