"""The benchmark's records-agree check can tell a lost email (``tests/bench/test_bench_run.py`` runs it whole)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from bench import cases
from jobs.models import Job
from tests.support.factories import enqueue_confirmation

pytestmark = pytest.mark.integration


def queue_burst(count, prefix):
    """One confirmation job per new user, queued on the real broker; their ids."""
    User = get_user_model()
    ids = []
    for user_id, _ in cases.create_inactive_users(prefix, count):
        with transaction.atomic():
            ids.append(enqueue_confirmation(user=User.objects.get(pk=user_id)).pk)
    return ids


def test_job_records_agree_with_the_smtp_server_after_a_burst(live_env, smtp_sink, processes):
    job_ids = queue_burst(30, "agree")

    processes.worker(live_env, threads=8)
    smtp_sink.wait_for(30)
    assert cases.wait_final(job_ids, timeout=30) is not None

    records = cases.records_agree(job_ids, smtp_sink.recipients())
    assert records["rows_by_status"] == {"succeeded": 30}
    assert records["smtp_received"] == 30
    assert (records["lost"], records["stuck"], records["duplicates"]) == (0, 0, 0)
    assert records["agree"] is True


def test_records_check_reports_an_email_the_server_never_got(live_env, smtp_sink, processes):
    job_ids = queue_burst(5, "refused")
    smtp_sink.reject(cases.address("refused", 3))

    processes.worker(live_env, threads=8)
    smtp_sink.wait_for(4)
    assert cases.wait_final(job_ids, timeout=30) is not None

    records = cases.records_agree(job_ids, smtp_sink.recipients())
    assert records["rows_by_status"] == {"succeeded": 4, Job.Status.FAILED: 1}
    assert records["lost"] == 1
    assert records["agree"] is False
