"""CPU per task of one ``python -m bench.tasks`` column: its worker processes' user + system time, from /proc.

One worker process is started and warmed up (the task's modules imported,
connections open), then left idle for a while to measure what it spends
doing nothing (liveness stamps, polls); then ``count`` tasks are enqueued
and run. A task's CPU is the processes' CPU over that run, less the idle
rate over the same time, divided by ``count``. The caller's enqueue, the
broker, the database server and the SMTP sink are not counted: what is
measured is what each worker spends on a task, tracking included.
"""

import time

from bench.cpu import tree_cpu_s
from bench.task_kills import started_workers, stop_all
from bench.task_runs import forget_runs, records_agree, wait_runs

WARM_UP = 20


def cpu_per_task(stack, column, counts, *, idle_s, task_names, task_args, users):
    """``{"cpu_<workload>": figures}``: worker CPU per task of each workload in ``counts`` (its task count).

    One worker process serves every workload in turn: warmed up on it, then
    idle for ``idle_s``, then ``count`` tasks.
    """
    workers = started_workers(stack, column, 1)
    try:
        return {
            f"cpu_{workload}": _measure(
                stack, column, workers, workload, count, idle_s, task_names[workload], task_args, users
            )
            for workload, count in counts.items()
        }
    finally:
        stop_all(stack, workers)


def _measure(stack, column, workers, workload, count, idle_s, task_name, task_args, users):
    pids = [worker.pid for worker in workers]
    warm = [f"{column.name}-cpu-warm-{workload}-{n}" for n in range(WARM_UP)]
    forget_runs()
    for n, key in enumerate(warm):
        column.enqueue(task_name, *task_args(workload, key, n, users))
    wait_runs(warm, timeout=60, workers=workers)
    time.sleep(0.5)  # the warm-up's rows written
    idle_from, idle_cpu = time.monotonic(), tree_cpu_s(pids)
    time.sleep(idle_s)
    started, cpu_before = time.monotonic(), tree_cpu_s(pids)
    idle_rate = (cpu_before - idle_cpu) / (started - idle_from)
    forget_runs()
    stack.sink.clear()
    keys = [f"{column.name}-cpu-{workload}-{n}" for n in range(count)]
    ids = [column.enqueue(task_name, *task_args(workload, key, n, users)) for n, key in enumerate(keys)]
    ran = wait_runs(keys, timeout=30 + count / 10, workers=workers)
    addresses = [email for _, email in users[:count]] if workload == "email" else None
    records = records_agree(
        column, ids, keys, ran, sink_recipients=stack.sink.recipients(), addresses=addresses
    )
    ended, cpu_after = time.monotonic(), tree_cpu_s(pids)
    busy_s = cpu_after - cpu_before - idle_rate * (ended - started)
    return {
        "tasks": count,
        "cpu_ms_per_task": round(busy_s * 1000 / count, 3),
        "idle_cpu_ms_per_s": round(idle_rate * 1000, 2),
        "seconds": round(ended - started, 2),
        "records": records,
    }
