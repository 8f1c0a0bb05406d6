"""``python -m bench.admin`` cannot rot: it runs tiny, both databases, end to end."""

import pytest

from tests.support.bench import run_tiny

pytestmark = pytest.mark.integration


def test_tiny_admin_benchmark_times_every_page_on_both_databases(tmp_path):
    results, report = run_tiny("bench.admin", tmp_path / "admin.json")
    assert set(results["databases"]) == {"sqlite", "postgres"}
    for figures in results["databases"].values():
        assert figures["rows"] == 5_000
        assert {"list", "status failed", "task (rare)", "search by result id", "schedules"} <= set(
            figures["pages"]
        )
        for name, page in figures["pages"].items():
            assert page["status"] == 200 and page["median_ms"] > 0, (name, page)
        assert figures["summary_counts"]["median_ms"] > 0
    assert all(isinstance(target["met"], bool) for target in results["targets"].values())
    assert "slowest median" in report
