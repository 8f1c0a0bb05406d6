"""``python -m bench.tasks``: Herald's ``django.tasks`` backend beside django-tasks-db and a bare Dramatiq actor.

``make bench`` runs it after the other two. One run, one machine, one Redis,
SMTP sink and scratch SQLite database (``--database postgres``: a throwaway
PostgreSQL cluster instead); the columns are described in
:mod:`bench.task_columns`. Two workloads, the same functions everywhere
(:mod:`bench.taskfns`): a no-op, and the confirmation email (rendered from
Herald's templates, sent to the sink). For each column:

- tasks/s with 1 and 2 worker processes: the tasks are queued first, then
  the workers start; from the first task's end to the last's;
- enqueue -> start latency at a low rate (``rate`` tasks/s for ``seconds``),
  from the call to ``enqueue()`` to the task function's first line, on an
  idle worker;
- worker CPU per task (user + system, from /proc), one worker process,
  less its idle CPU (:mod:`bench.task_cpu`);
- a worker SIGKILLed while it runs a task that sleeps: seconds from the kill
  to that task's end on a worker started at once (as a supervisor would),
  waited for at most ``kill_wait_s``; Herald and the bare actor at the
  shipped liveness and relay settings.

Every case checks the rows against the record of what ran (every task ran
once, its row succeeded; every email reached the sink once). ``--tiny`` runs
each case with a few tasks, as the smoke test does. Prints a table, writes
bench/tasks.json; exits 1 when a column failed or the rows disagree.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench import load, tasks_report
from bench.run import Timeline
from bench.stack import Stack, run_with_cleanup
from bench.task_columns import COLUMNS, TASKS_SETTINGS
from bench.task_cpu import cpu_per_task
from bench.task_kills import guarded, run_kills, started_workers, stop_all
from bench.task_runs import forget_runs, records_agree, wait_runs

RESULTS_PATH = Path(__file__).resolve().parent / "tasks.json"
SIZES = {
    "full": {
        "noop": 2000,
        "email": 400,
        "processes": (1, 2),
        "rate": 20,
        "seconds": 10,
        "sleep_s": 2,
        "kill_wait_s": 60,
        "liveness": "shipped",
        "cpu": {"noop": 1000, "email": 300},
        "idle_s": 2.0,
    },
    "tiny": {
        "noop": 20,
        "email": 10,
        "processes": (1, 2),
        "rate": 20,
        "seconds": 1,
        "sleep_s": 1,
        "kill_wait_s": 8,
        "liveness": {"JOBS_HEARTBEAT_TIMEOUT_MS": "3000", "JOBS_RELAY_INTERVAL_S": "1"},
        "cpu": {"noop": 200, "email": 20},
        "idle_s": 0.5,
    },
}
WORKLOADS = {"noop": "noop", "email": "send_confirmation"}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.tasks", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="a few tasks per case (smoke test)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the JSON figures")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--only", nargs="*", choices=sorted(COLUMNS), help="the columns to run (all)")
    args = parser.parse_args(argv)
    args.size = "tiny" if args.tiny or os.environ.get("BENCH_SIZE") == "tiny" else "full"
    return args


class TasksStack(Stack):
    """The bench's stack, migrated and set up with ``bench.tasks_settings`` (django-tasks-db's table too)."""

    def _migrate(self):
        os.environ["DJANGO_SETTINGS_MODULE"] = TASKS_SETTINGS
        super()._migrate()


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
def task_args(workload, key, n, users):
    return (key,) if workload == "noop" else (key, users[n % len(users)][0])


def burst(stack, column, workload, *, count, processes, users):
    """Queue ``count`` tasks, then drain them with ``processes`` worker processes; tasks/s."""
    forget_runs()
    stack.sink.clear()
    keys = [f"{column.name}-{workload}-{processes}-{n}" for n in range(count)]
    started = time.monotonic()
    ids = [
        column.enqueue(WORKLOADS[workload], *task_args(workload, key, n, users)) for n, key in enumerate(keys)
    ]
    enqueue_per_s = round(count / (time.monotonic() - started), 1)
    workers = started_workers(stack, column, processes)
    try:
        ran = wait_runs(keys, timeout=30 + count / 10, workers=workers)
        addresses = [email for _, email in users[:count]] if workload == "email" else None
        records = records_agree(
            column, ids, keys, ran, sink_recipients=stack.sink.recipients(), addresses=addresses
        )
    finally:
        stop_all(stack, workers)
    ends = sorted(one.ended for one in ran)
    span = ends[-1] - ends[0]
    return {
        "processes": processes,
        "threads_per_process": column.threads,
        "tasks": count,
        "enqueue_per_s": enqueue_per_s,
        "tasks_per_s": round((count - 1) / span, 1) if span > 0 else None,
        "span_s": round(span, 2),
        "records": records,
    }


def low_rate(stack, column, *, rate, seconds, users, idle_s=2):
    """Each workload paced at ``rate`` tasks/s for ``seconds`` into one idle worker process: enqueue -> start."""
    workers = started_workers(stack, column, 1)
    out = {}
    try:
        for workload in WORKLOADS:
            time.sleep(idle_s)  # the worker idles: the idle path is what is measured
            forget_runs()
            stack.sink.clear()
            keys = [f"{column.name}-low-{workload}-{n}" for n in range(rate * seconds)]
            sent, ids, late = {}, [], 0.0
            first = time.monotonic() + 0.05
            for n, key in enumerate(keys):
                wait = first + n / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                else:
                    late = max(late, -wait)
                sent[key] = time.time()
                ids.append(column.enqueue(WORKLOADS[workload], *task_args(workload, key, n, users)))
            ran = wait_runs(keys, timeout=30 + len(keys) / 10, workers=workers)
            addresses = [email for _, email in users[: len(keys)]] if workload == "email" else None
            out[workload] = {
                "rate_asked": rate,
                "max_enqueue_lateness_ms": round(late * 1000, 1),
                "enqueue_to_start_ms": load.percentiles([one.started - sent[one.key] for one in ran]),
                "records": records_agree(
                    column, ids, keys, ran, sink_recipients=stack.sink.recipients(), addresses=addresses
                ),
            }
    finally:
        stop_all(stack, workers)
    return out


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------
def benchmark(stack, size, names):
    from bench import cases

    sizes = SIZES[size]
    timeline = Timeline()
    timeline.run("start redis-server, SMTP sink, scratch database", stack.start)
    env = dict(stack.env)
    liveness = sizes["liveness"]
    kill_env = env if liveness == "shipped" else {**env, **liveness}
    columns = {name: COLUMNS[name](env) for name in names}
    out = {name: {"label": column.label} for name, column in columns.items()}
    users = timeline.run(
        "create users",
        cases.create_inactive_users,
        "tasks",
        max(sizes["email"], sizes["rate"] * sizes["seconds"]),
    )
    for workload in WORKLOADS:
        for processes in sizes["processes"]:
            for name, column in columns.items():
                timeline.run(
                    f"{workload}, {sizes[workload]} tasks, {column.label}, {tasks_report.processes_label(processes)}",
                    guarded,
                    out[name],
                    f"{workload}_{processes}",
                    burst,
                    stack,
                    column,
                    workload,
                    count=sizes[workload],
                    processes=processes,
                    users=users,
                )
    for name, column in columns.items():
        timeline.run(
            f"low rate, {sizes['rate']}/s for {sizes['seconds']} s, {column.label}",
            guarded,
            out[name],
            "low_rate",
            low_rate,
            stack,
            column,
            rate=sizes["rate"],
            seconds=sizes["seconds"],
            users=users,
            idle_s=sizes["idle_s"],
        )
    for name, column in columns.items():
        timeline.run(
            f"CPU per task, {' and '.join(f'{n} {w}' for w, n in sizes['cpu'].items())}, {column.label}",
            guarded,
            out[name],
            "cpu",
            cpu_per_task,
            stack,
            column,
            sizes["cpu"],
            idle_s=sizes["idle_s"],
            task_names=WORKLOADS,
            task_args=task_args,
            users=users,
        )
        out[name].update(out[name].pop("cpu", {}))  # cpu_noop, cpu_email
    run_kills(stack, out, kill_env, sizes, timeline)
    return {"timeline_s": {**timeline.parts, "total": timeline.total}, "columns": out}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from bench import report

    names = args.only or list(COLUMNS)
    print(
        f"Task backends benchmark ({args.size}, {args.database}); real processes on 127.0.0.1, "
        f"{report.cpu_summary()}",
        flush=True,
    )
    machine = report.machine()
    stack = TasksStack(database=args.database)
    try:
        results = run_with_cleanup(lambda stack: benchmark(stack, args.size, names), stack)
    except KeyboardInterrupt as stop:
        print(
            f"\nInterrupted ({str(stop) or 'Ctrl-C'}); every process the benchmark started is stopped.",
            flush=True,
        )
        sys.exit(130)
    results = {
        "size": args.size,
        "database": args.database,
        "sizes": SIZES[args.size],
        "machine": machine,
        **results,
    }
    results["derived"] = tasks_report.derive(results)
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print()
    print(tasks_report.table(results))
    print(f"\nFigures written to {args.output}")
    if not results["derived"]["complete"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
