"""``python -m bench.scaling``: each broker and database, 1, 2 and 4 worker processes, against the SMTP ceiling.

What each case measures and how: bench/README.md.
"""

import argparse
import json
import os
import smtplib
import statistics
import sys
import threading
import time
from pathlib import Path

from bench.cpu import cpu_ms_per_email, cpu_seconds_by_kind
from bench.scaling_report import all_records_agree, table
from bench.stack import run_each_in_own_process

RESULTS_PATH = Path(__file__).resolve().parent / "scaling.json"
CONFIGS = {
    "redis-sqlite": ("redis", "sqlite"),
    "rabbitmq-sqlite": ("rabbitmq", "sqlite"),
    "redis-postgres": ("redis", "postgres"),
    "rabbitmq-postgres": ("rabbitmq", "postgres"),
}
SIZES = {
    "full": {"ceiling": 4000, "low_rate_signups": 100, "burst": 2000, "kills": 3, "workers": (1, 2, 4)},
    "tiny": {"ceiling": 200, "low_rate_signups": 10, "burst": 40, "kills": 1, "workers": (1, 2)},
}
CEILING_THREADS = 8
BODY = "Subject: ceiling\r\n\r\n" + ("Confirm your account at Herald.\r\n" * 40)


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="a few jobs per case (smoke test)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the JSON figures")
    parser.add_argument("--config", choices=sorted(CONFIGS), help="run one configuration in this process")
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGS), help="the configurations to run (all)")
    args = parser.parse_args(argv)
    args.size = "tiny" if args.tiny or os.environ.get("BENCH_SIZE") == "tiny" else "full"
    return args


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
def smtp_ceiling(sink, *, messages, threads=CEILING_THREADS):
    """Messages/s into ``sink`` from ``threads`` smtplib clients, one reused connection each."""
    sink.clear()
    per_thread = messages // threads
    ready = threading.Barrier(threads)

    def client(n):
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as smtp:
            ready.wait()
            for i in range(per_thread):
                smtp.sendmail("bench@bench.example", [f"ceiling-{n}-{i}@bench.example"], BODY)

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    times = sink.times()
    span = times[-1] - times[0]
    return {"messages": len(times), "threads": threads, "msgs_per_s": round((len(times) - 1) / span, 1)}


def queue_jobs(prefix, count):
    """``count`` inactive users with a queued job each, sent to the broker from this process; the job ids."""
    from accounts.tasks import EMAIL_QUEUE, send_confirmation_email
    from bench import cases
    from jobs.enqueue.outbox import publish
    from jobs.models import Job

    users = cases.create_inactive_users(prefix, count)
    jobs = Job.objects.bulk_create(
        [
            Job(
                task_path=send_confirmation_email.module_path,
                queue_name=EMAIL_QUEUE,
                args=[user_id, email],
                label=email,
            )
            for user_id, email in users
        ],
        batch_size=500,
    )
    started = time.monotonic()
    for job in jobs:
        if publish(job.pk, EMAIL_QUEUE) is None:
            raise RuntimeError("the broker refused a message")
    return [job.pk for job in jobs], round(len(jobs) / (time.monotonic() - started), 1)


def worker_start_up_cpu(stack, processes):
    """CPU seconds ``processes`` worker processes use to start and idle for a second, with nothing queued."""
    before = cpu_seconds_by_kind()
    worker = stack.worker(processes=processes, threads=8)
    time.sleep(1)
    after = cpu_seconds_by_kind()
    stack.stop(worker)
    return {"workers": after.get("workers", 0.0) - before.get("workers", 0.0)}


class Counters:
    """Redis commands, and on PostgreSQL rows written and transactions, between two reads."""

    def __init__(self, stack):
        self.stack = stack

    def read(self):
        import redis
        from django.db import connection

        figures = {
            "redis_commands": redis.Redis.from_url(self.stack.redis.url).info("stats")[
                "total_commands_processed"
            ]
        }
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT tup_inserted + tup_updated + tup_deleted, xact_commit FROM pg_stat_database "
                    "WHERE datname = current_database()"
                )
                figures["db_rows_written"], figures["db_transactions"] = cursor.fetchone()
        return figures

    @staticmethod
    def per_email(before, after, emails):
        return {key: round((after[key] - before[key]) / emails, 1) for key in before}


def burst(stack, *, processes, size, round_no):
    """Queue ``size`` jobs, then drain them with ``processes`` worker processes."""
    from bench import cases

    start_up = worker_start_up_cpu(stack, processes)
    stack.sink.clear()
    job_ids, enqueue_per_s = queue_jobs(f"burst{processes}-{round_no}", size)
    counters = Counters(stack)
    before, cpu_before = counters.read(), cpu_seconds_by_kind()
    worker, delivered = cases.drain(stack, expected=len(job_ids), processes=processes)
    cpu_after = cpu_seconds_by_kind()
    try:
        cases.wait_final(job_ids, timeout=30)
    finally:
        stack.stop(worker)
    time.sleep(1.5)  # PostgreSQL's statistics reach pg_stat_database within a second or so
    cost = Counters.per_email(before, counters.read(), len(job_ids))
    cost["cpu_ms"] = cpu_ms_per_email(cpu_before, cpu_after, len(job_ids), less=start_up)
    return {
        "processes": processes,
        "enqueue_per_s": enqueue_per_s,
        "delivery": delivered,
        "cost_per_email": cost,
        "records": cases.records_agree(job_ids, stack.sink.recipients()),
    }


def killed_worker(stack, *, survivor):
    """Seconds from SIGKILL of the worker holding a send to the email at the sink, at the shipped defaults."""
    from bench import cases
    from jobs.models import Job

    sink = stack.sink
    sink.clear()
    sink.hold()
    doomed = stack.worker_at_shipped_defaults()
    [job_id], _ = queue_jobs(f"kill-{time.monotonic_ns()}", 1)
    deadline = time.monotonic() + 30
    while sink.held == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker never sent DATA")
        time.sleep(0.01)
    # Started once the doomed worker holds the send, so that the survivor is not the one sending.
    other = stack.worker_at_shipped_defaults() if survivor else None
    killed_at = []

    def kill():
        killed_at.append(time.time())
        doomed.kill_children()

    sink.kill_while_held(kill, lambda recipients: recipients == [])
    stack.stop(doomed)
    if not survivor:
        other = stack.worker_at_shipped_defaults()
    try:
        [arrived] = sink.wait_for(1, timeout=120)
        cases.wait_final([job_id], timeout=30)
    finally:
        stack.stop(other)
    return {
        "seconds": round(arrived["at"] - killed_at[0], 2),
        "lost_attempts": Job.objects.get(pk=job_id).lost_attempts,
        "records": cases.records_agree([job_id], sink.recipients()),
    }


def recovery(stack, *, repeat):
    out = {}
    for scenario, survivor in (("survivor", True), ("restart", False)):
        runs = [killed_worker(stack, survivor=survivor) for _ in range(repeat)]
        seconds = [run["seconds"] for run in runs]
        out[scenario] = {
            "seconds": seconds,
            "median_s": round(statistics.median(seconds), 2),
            "max_s": max(seconds),
            "records_agree": all(run["records"]["agree"] and run["lost_attempts"] == 1 for run in runs),
        }
    return out


def measure(stack, size):
    from bench import cases

    sizes = SIZES[size]
    stack.start()
    out = {"broker": stack.broker, "database": stack.database}
    out["smtp_ceiling"] = smtp_ceiling(stack.sink, messages=sizes["ceiling"])
    web = stack.web()
    worker = stack.worker(processes=1, threads=8)
    cases.warm_up(stack, web)
    time.sleep(2)  # the low-rate case measures an idle worker's path
    out["low_rate"] = cases.signups(
        stack, web, prefix="low", count=sizes["low_rate_signups"], rate=5, clients=8
    )
    stack.stop(worker)
    stack.stop(web)
    out["killed_worker"] = recovery(stack, repeat=sizes["kills"])
    out["bursts"] = [burst(stack, processes=n, size=sizes["burst"], round_no=1) for n in sizes["workers"]]
    ceiling = out["smtp_ceiling"]["msgs_per_s"]
    for row in out["bursts"]:
        rate = row["delivery"]["emails_per_s"]
        row["fraction_of_ceiling"] = round(rate / ceiling, 2) if rate and ceiling else None
    return out


# --------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------
def run_config(name, size, output):
    from bench.stack import Stack, run_with_cleanup

    broker, database = CONFIGS[name]
    results = run_with_cleanup(lambda stack: measure(stack, size), Stack(broker=broker, database=database))
    output.write_text(json.dumps(results, indent=2) + "\n")


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.config:
        run_config(args.config, args.size, args.output)
        return
    print(f"* {', '.join(args.only or CONFIGS)}...", flush=True)
    configs = run_each_in_own_process(
        "bench.scaling", "--config", args.only or CONFIGS, tiny=args.size == "tiny", prefix="herald-scaling-"
    )
    results = {"size": args.size, "configs": configs}
    results["records_agree"] = all(
        "error" not in out and all_records_agree(out) for out in results["configs"].values()
    )
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nFigures written to {args.output}")
    if not results["records_agree"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
