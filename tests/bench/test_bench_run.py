"""``make bench`` cannot rot: it runs tiny, end to end.

The benchmark sets up its own redis-server and scratch SQLite database,
whatever the suite runs on, so this file is collected on the SQLite run only
(``conftest.py``): on the PostgreSQL run it would repeat the same 45 s.
"""

import pytest

from tests.support.bench import run_tiny

pytestmark = pytest.mark.integration

LATENCY_CASES = (
    "signup_one_at_a_time",
    "low_rate",
    "signup_instant",
    "signup_smtp_2s",
    "sync_instant",
    "sync_smtp_2s",
)
BURST_CASES = ("burst_1_process", "burst_2_processes")


def assert_latency(figures):
    assert figures["n"] > 0
    for p in ("p50", "p95", "p99", "max"):
        assert isinstance(figures[p], float), figures


def test_tiny_benchmark_measures_every_case(tmp_path):
    results, report = run_tiny("bench", tmp_path / "results.json")
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
    assert (
        len(out["burst_1_process"]["rounds_emails_per_s"])
        == len(out["bare_1_process"]["rounds_emails_per_s"])
        == 2
    )
    assert all(records["agree"] for records in out["burst_1_process"]["records_every_round"])
    assert results["derived"]["tracked_over_bare"] > 0
    assert results["derived"]["records_agree"] is True
    assert all(isinstance(target["met"], bool) for target in results["derived"]["targets"].values())
    assert "Herald / bare actor (medians)" in report
