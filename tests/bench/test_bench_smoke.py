"""``make bench`` cannot rot: it runs tiny, end to end, and its records-agree check can tell."""

import json
import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from bench import cases
from jobs.models import EmailJob
from tests.jobs.factories import enqueue_confirmation
from tests import plugin
from tests.support.processes import PROJECT_DIR

pytestmark = pytest.mark.integration

LATENCY_CASES = ("signup_one_at_a_time", "low_rate", "signup_instant", "signup_smtp_2s", "sync_instant", "sync_smtp_2s")
BURST_CASES = ("burst_1_process", "burst_2_processes")


def bench_env():
    """The caller's environment without the suite's settings: the benchmark sets up its own."""
    env = {key: value for key, value in os.environ.items() if key not in plugin.TEST_ENV}
    for key in ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_PATH", "DJANGO_SETTINGS_MODULE"):
        env.pop(key, None)
    return env


def assert_latency(figures):
    assert figures["n"] > 0
    for p in ("p50", "p95", "p99", "max"):
        assert isinstance(figures[p], float), figures


def test_tiny_benchmark_measures_every_case(tmp_path):
    output = tmp_path / "results.json"

    run = subprocess.run(
        [sys.executable, "-m", "bench", "--tiny", "--output", str(output)],
        cwd=PROJECT_DIR, env=bench_env(), capture_output=True, text=True, timeout=280,
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(output.read_text())
    out = results["cases"]
    assert results["size"] == "tiny"
    assert_latency(out["password_hash"]["alone"])
    assert_latency(out["password_hash"]["with_8_at_once"])
    assert_latency(out["signup_one_at_a_time"]["hash_between_ms"])
    assert isinstance(results["derived"]["signup_one_at_a_time_minus_hash_between_ms"]["p99"], float)
    for case in ("signup_one_at_a_time", "signup_instant", "sync_instant"):
        assert out[case]["minus_own_hash_ms"]["n"] == out[case]["signup_ms"]["n"]  # each reported its hash
    for case in LATENCY_CASES:
        assert_latency(out[case]["signup_ms"])
        assert_latency(out[case]["delivery_ms"])
    for case in BURST_CASES:
        assert out[case]["enqueue"]["enqueue_per_s"] > 0
        assert out[case]["delivery"]["emails_per_s"] > 0
        assert out[case]["records"]["agree"], out[case]["records"]
    assert out["bare_1_process"]["delivery"]["emails_per_s"] > 0
    assert len(out["burst_1_process"]["rounds_emails_per_s"]) == len(out["bare_1_process"]["rounds_emails_per_s"]) == 2
    assert all(records["agree"] for records in out["burst_1_process"]["records_every_round"])
    assert results["derived"]["tracked_over_bare"] > 0
    assert results["derived"]["records_agree"] is True
    assert all(isinstance(target["met"], bool) for target in results["derived"]["targets"].values())
    admin = out["admin"]
    assert admin["rows"] > 0
    for page in admin["pages"].values():
        assert page["status"] == 200 and page["median_ms"] > 0, page
    assert admin["summary_counts"]["median_ms"] > 0
    assert "Herald / bare actor (medians)" in run.stdout and "Admin with" in run.stdout


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
    assert records["rows_by_status"] == {"succeeded": 4, EmailJob.Status.FAILED: 1}
    assert records["lost"] == 1
    assert records["agree"] is False
