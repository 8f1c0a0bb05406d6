"""``python -m bench.tasks`` cannot rot: it runs tiny, end to end, every column and every case.

Not a timing test: it proves that every row of the table got its figure and
that the job rows agree with the record of what ran. Like the main benchmark
it brings its own Redis and SQLite database (collected on the SQLite run only).
"""

import pytest

from tests.support.bench import run_tiny

pytestmark = pytest.mark.integration

COLUMNS = ("herald", "db", "bare")
BURSTS = ("noop_1", "noop_2", "email_1", "email_2")


def test_tiny_task_benchmark_measures_every_column(tmp_path):
    results, report = run_tiny("bench.tasks", tmp_path / "tasks.json")
    assert results["size"] == "tiny"
    assert set(results["columns"]) == set(COLUMNS)
    for name, column in results["columns"].items():
        assert "errors" not in column, column["errors"]
        for burst in BURSTS:
            assert column[burst]["tasks_per_s"] > 0 and column[burst]["enqueue_per_s"] > 0, (name, burst)
            assert column[burst]["records"]["agree"], (name, burst, column[burst]["records"])
        for workload in ("noop", "email"):
            low = column["low_rate"][workload]
            assert isinstance(low["enqueue_to_start_ms"]["p50"], float), (name, low)
            assert isinstance(low["enqueue_to_start_ms"]["p99"], float), (name, low)
            assert low["records"]["agree"], (name, workload, low["records"])
        assert column["killed"]["row_agrees"], (name, column["killed"])
        for workload in ("noop", "email"):
            cpu = column[f"cpu_{workload}"]
            assert cpu["cpu_ms_per_task"] > 0 and cpu["records"]["agree"], (name, workload, cpu)
    for name in ("herald", "db"):
        for burst in BURSTS:
            records = results["columns"][name][burst]["records"]
            assert (
                records["rows_by_status"] == {"SUCCESSFUL": records["tasks"]}
                and records["ran"] == records["tasks"]
            )
    assert isinstance(results["columns"]["herald"]["killed"]["recovered_s"], float)
    assert results["columns"]["herald"]["killed"]["status_after"] == "SUCCESSFUL"
    # Not recovered within the bound is a figure too: the bare actor's message waits for
    # Dramatiq's random maintenance pass, and django-tasks-db's row stays RUNNING.
    for name in ("db", "bare"):
        killed = results["columns"][name]["killed"]
        assert killed["recovered_s"] is None or isinstance(killed["recovered_s"], float), killed
    assert results["derived"]["records_agree"] is True
    assert all(isinstance(target["met"], bool) for target in results["derived"]["targets"].values())
    assert "Task backends (tiny" in report and "Targets" in report
    assert "worker CPU per task, no-op, ms (/proc)" in report
