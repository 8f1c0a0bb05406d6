"""``python -m bench.admin`` cannot rot: it runs tiny, both databases, end to end."""

import json
import subprocess
import sys

import pytest

from tests.bench.test_bench_run import bench_env
from tests.support.processes import PROJECT_DIR

pytestmark = pytest.mark.integration


def test_tiny_admin_benchmark_times_every_page_on_both_databases(tmp_path):
    output = tmp_path / "admin.json"

    run = subprocess.run(
        [sys.executable, "-m", "bench.admin", "--tiny", "--output", str(output)],
        cwd=PROJECT_DIR,
        env=bench_env(),
        capture_output=True,
        text=True,
        timeout=280,
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    results = json.loads(output.read_text())
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
    assert "slowest median" in run.stdout
