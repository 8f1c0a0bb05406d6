"""The targets of ``python -m bench.tasks`` and its printed table."""

import os

from bench.task_columns import COLUMNS

COLUMN_THREADS = {name: column.threads for name, column in COLUMNS.items()}
LABELS = {"herald": "Herald", "db": "django-tasks-db", "bare": "bare actor"}
WORKLOAD_LABELS = {"noop": "no-op", "email": "email"}


def processes_label(n):
    return f"{n} worker process{'es' if n > 1 else ''}"


def fmt(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else f"{value:g}"


def _get(column, *path):
    value = column
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def all_records(column):
    """Every records figure of one column's cases, the killed task's included."""
    out = [case["records"] for name, case in column.items() if isinstance(case, dict) and "records" in case]
    out += [case["records"] for case in (column.get("low_rate") or {}).values()]
    if isinstance(column.get("killed"), dict):
        out.append({"agree": column["killed"]["row_agrees"]})
    return out


def derive(results):
    columns, sizes = results["columns"], results["sizes"]
    derived = {"load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    derived["errors"] = {name: column["errors"] for name, column in columns.items() if column.get("errors")}
    derived["records_agree"] = all(
        records["agree"] for column in columns.values() for records in all_records(column)
    )
    derived["complete"] = not derived["errors"] and derived["records_agree"]
    derived["targets"] = targets(columns, sizes, results["timeline_s"]["total"], derived["records_agree"])
    return derived


def _pair(columns, a, b, *path):
    return [_get(columns.get(a, {}), *path), _get(columns.get(b, {}), *path)]


def targets(columns, sizes, total_s, records_agree):
    """Each target: the figures it is judged on, and whether this run met it."""
    checks = {}
    for workload in ("noop", "email"):
        name = WORKLOAD_LABELS[workload]
        checks[f"Herald enqueue->start p99 < django-tasks-db's ({name}, {sizes['rate']}/s), ms"] = (
            _pair(columns, "herald", "db", "low_rate", workload, "enqueue_to_start_ms", "p99"),
            lambda h, d: h < d,
        )
        for processes in sizes["processes"]:
            checks[f"Herald {name} tasks/s > django-tasks-db's ({processes_label(processes)})"] = (
                _pair(columns, "herald", "db", f"{workload}_{processes}", "tasks_per_s"),
                lambda h, d: h > d,
            )
    for workload in ("noop", "email"):
        checks[f"Herald worker CPU per task <= 1.5x bare actor's ({WORKLOAD_LABELS[workload]}), ms"] = (
            _pair(columns, "herald", "bare", f"cpu_{workload}", "cpu_ms_per_task"),
            lambda h, b: h <= 1.5 * b,
        )
    checks["Herald enqueue/s >= django-tasks-db's (no-op, one caller)"] = (
        _pair(columns, "herald", "db", "noop_1", "enqueue_per_s"),
        lambda h, d: h >= d,
    )
    for processes in sizes["processes"]:
        checks[f"Herald no-op tasks/s >= 1/2 bare actor's ({processes_label(processes)})"] = (
            _pair(columns, "herald", "bare", f"noop_{processes}", "tasks_per_s"),
            lambda h, b: h >= b / 2,
        )
    out = {
        name: {"figures": figures, "met": None not in figures and test(*figures)}
        for name, (figures, test) in checks.items()
    }
    out["rows agree with what ran, every case"] = {"figures": [records_agree], "met": records_agree}
    out["whole run under 8 minutes, s"] = {"figures": [total_s], "met": total_s < 480}
    return out


# --------------------------------------------------------------------------
# Table
# --------------------------------------------------------------------------
WIDTH = 24


def _row(label, values):
    return f"  {label:<46}" + "".join(f"{value:>{WIDTH}}" for value in values)


def _cell(column, *path):
    if column.get("errors") and _get(column, *path) is None:
        return "FAILED"
    return fmt(_get(column, *path))


def _killed_cell(column):
    killed = column.get("killed")
    if not isinstance(killed, dict):
        return "FAILED"
    if killed["recovered_s"] is None:
        return f"not in {killed['waited_at_most_s']:g} s ({killed['status_after'] or 'no row'})"
    return f"{killed['recovered_s']:g}"


def _agree_cell(column):
    records = all_records(column)
    if not records:
        return "FAILED"
    return "yes" if all(one["agree"] for one in records) else "NO"


def table(results):
    columns, sizes, machine = results["columns"], results["sizes"], results["machine"]
    names = list(columns)
    lines = [
        f"Task backends ({results['size']}, {results['database']}): {machine['nproc']} CPUs {machine['cpu']}, "
        f"Python {machine['python']}"
    ]
    if results["size"] != "full":
        lines.append("  (tiny sizes: a smoke test, not figures to quote)")
    lines += ["", _row("", [LABELS[name] for name in names])]
    lines.append(_row("threads per worker process", [fmt(COLUMN_THREADS[n]) for n in names]))
    for workload in ("noop", "email"):
        for processes in sizes["processes"]:
            lines.append(
                _row(
                    f"{WORKLOAD_LABELS[workload]}, {sizes[workload]} queued: tasks/s, {processes_label(processes)}",
                    [_cell(columns[n], f"{workload}_{processes}", "tasks_per_s") for n in names],
                )
            )
    lines.append(
        _row("enqueue/s (no-op, one caller)", [_cell(columns[n], "noop_1", "enqueue_per_s") for n in names])
    )
    for workload in ("noop", "email"):
        lines.append(
            _row(
                f"worker CPU per task, {WORKLOAD_LABELS[workload]}, ms (/proc)",
                [_cell(columns[n], f"cpu_{workload}", "cpu_ms_per_task") for n in names],
            )
        )
    for workload in ("noop", "email"):
        for p in ("p50", "p99"):
            lines.append(
                _row(
                    f"{WORKLOAD_LABELS[workload]} at {sizes['rate']}/s: enqueue->start {p}, ms",
                    [_cell(columns[n], "low_rate", workload, "enqueue_to_start_ms", p) for n in names],
                )
            )
    lines.append(
        _row("SIGKILL mid-task -> task done on a new worker, s", [_killed_cell(columns[n]) for n in names])
    )
    lines.append(
        _row("rows agree with what ran (and the SMTP sink)", [_agree_cell(columns[n]) for n in names])
    )

    derived = results["derived"]
    for name, errors in derived["errors"].items():
        lines.append(f"  {LABELS[name]} failed: {errors[0][:300]}")
    lines += ["", "Targets"]
    for name, target in derived["targets"].items():
        figures = " vs ".join(fmt(value) for value in target["figures"])
        lines.append(f"  {'met' if target['met'] else 'MISSED':<8}{name}: {figures}")
    timeline = results["timeline_s"]
    lines += [
        "",
        f"Run: {timeline['total']} s in total; load average at start {machine['load_average_at_start']}, "
        f"at end {derived['load_average_at_end']} (other work on the machine shows here).",
    ]
    return "\n".join(lines)
