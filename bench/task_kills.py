"""The workers of one ``python -m bench.tasks`` column, and its killed-worker case."""

import time

from bench.task_columns import COLUMNS, wait_rows_final
from bench.task_runs import runs, started_count


def started_workers(stack, column, processes):
    workers = column.start(processes)
    stack.processes.extend(workers)
    return workers


def stop_all(stack, workers):
    for worker in workers:
        stack.stop(worker)


class KilledTask:
    """A worker SIGKILLed in the middle of a task that sleeps, and a new worker started at once.

    :meth:`start` kills and restarts; :meth:`finish` waits (at most
    ``wait_s`` from the kill) for the task to end on the new worker.
    """

    def __init__(self, stack, column, *, sleep_s, wait_s):
        self.stack, self.column, self.sleep_s, self.wait_s = stack, column, sleep_s, wait_s
        self.key = f"{column.name}-killed-{time.monotonic_ns()}"
        self.replacement = []

    def start(self):
        doomed = started_workers(self.stack, self.column, 1)
        try:
            self.result_id = self.column.enqueue("sleep_then_record", self.key, self.sleep_s)
            deadline = time.monotonic() + 30
            while not started_count(self.key):
                if time.monotonic() > deadline:
                    raise RuntimeError("the task never started")
                time.sleep(0.01)
            self.killed_at = time.time()
            self.column.kill(doomed)
        finally:
            stop_all(self.stack, doomed)
        self.replacement = started_workers(self.stack, self.column, 1)
        return self

    def finish(self):
        try:
            ended = None
            while ended is None and time.time() < self.killed_at + self.wait_s:
                ended = next((one.ended for one in runs() if one.key == self.key), None)
                time.sleep(0.05)
            statuses = wait_rows_final(self.column, [self.result_id], timeout=5 if ended else 0)
        finally:
            stop_all(self.stack, self.replacement)
        starts = started_count(self.key)
        status = statuses[0] if statuses else None
        return {
            "sleep_s": self.sleep_s,
            "waited_at_most_s": self.wait_s,
            "recovered_s": None if ended is None else round(ended - self.killed_at, 2),
            "starts": starts,
            "status_after": status,
            # The row tells the truth: succeeded if and only if the task ran to its end.
            "row_agrees": status is None or (status == "SUCCESSFUL") == (ended is not None),
        }


def guarded(out, name, fn, *args, **kwargs):
    """Run one case of one column; a failure is recorded as that column's error, and the run goes on."""
    try:
        out[name] = fn(*args, **kwargs)
    except Exception as exc:
        out.setdefault("errors", []).append(f"{name}: {type(exc).__name__}: {exc}"[:2000])
        print(f"  {name} failed: {type(exc).__name__}: {str(exc)[:500]}", flush=True)


def run_kills(stack, out, env, sizes, timeline):
    """The killed-worker case of every column in ``out``; django-tasks-db's wait runs while the others are measured."""
    shipped = sizes["liveness"] == "shipped"
    waiting = []
    for name in sorted(out, key=lambda name: name != "db"):  # the longest wait first
        column = COLUMNS[name](env, shipped_liveness=shipped)
        killed = KilledTask(stack, column, sleep_s=sizes["sleep_s"], wait_s=sizes["kill_wait_s"])
        timeline.run(f"SIGKILL mid-task, {column.label}", guarded, out[name], "killed", killed.start)
        if "killed" not in out[name]:
            continue
        if name == "db":
            waiting.append(name)
        else:
            timeline.run(
                f"  wait for the killed task, {column.label}", guarded, out[name], "killed", killed.finish
            )
    for name in waiting:
        timeline.run(
            f"  wait for the killed task, {out[name]['label']}",
            guarded,
            out[name],
            "killed",
            out[name]["killed"].finish,
        )
