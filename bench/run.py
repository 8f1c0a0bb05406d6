"""``make bench``: what users feel, measured on real processes. Prints a table, writes bench/results.json.

``--tiny`` (or ``BENCH_SIZE=tiny``) runs every case with a few dozen jobs, as
the smoke test does.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench import cases, report
from bench.stack import BENCH_SETTINGS, Stack, run_with_cleanup

RESULTS_PATH = Path(__file__).resolve().parent / "results.json"

SIZES = {
    "full": {
        "clients": 8,
        "signups": 200,  # p99 is then the 198th of 200, not the slowest
        "single_signups": 80,
        "slow_signups": 48,
        "low_rate": 5,
        "low_rate_signups": 150,
        "burst": 2000,
        "burst_rounds": 3,
        "hash_repeat": 40,
    },
    "tiny": {
        "clients": 8,
        "signups": 16,
        "single_signups": 4,
        "slow_signups": 8,
        "low_rate": 5,
        "low_rate_signups": 10,
        "burst": 40,
        "burst_rounds": 2,
        "hash_repeat": 2,
    },
}
SMTP_DELAY_S = 2.0
INLINE_SIGNUP = "/bench/signup-inline/"


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="a few dozen jobs per case (smoke test)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the JSON figures")
    args = parser.parse_args(argv)
    args.size = "tiny" if args.tiny or os.environ.get("BENCH_SIZE") == "tiny" else "full"
    return args


class Timeline:
    """Seconds each part of the run took."""

    def __init__(self):
        self.started = time.monotonic()
        self.parts = {}

    def run(self, name, fn, *args, **kwargs):
        print(f"* {name}...", flush=True)
        started = time.monotonic()
        result = fn(*args, **kwargs)
        self.parts[name] = round(time.monotonic() - started, 1)
        return result

    @property
    def total(self):
        return round(time.monotonic() - self.started, 1)


def benchmark(stack, size):
    """Every case, in an order that leaves each the machine it needs; the results dict."""
    sizes = SIZES[size]
    results = {"size": size, "sizes": sizes, "machine": report.machine(), "cases": {}}
    timeline = Timeline()
    timeline.run("start redis-server, SMTP sink, scratch database", stack.start)
    results["cases"]["password_hash"] = timeline.run(
        "password hash", cases.password_hash, repeat=sizes["hash_repeat"], concurrency=sizes["clients"]
    )
    web = timeline.run("start gunicorn", stack.web)
    results["cases"].update(herald_signups(stack, web, sizes, timeline))
    results["cases"].update(synchronous_signups(stack, sizes, timeline))
    results["cases"].update(bursts(stack, web, sizes, timeline))
    results["timeline_s"] = {**timeline.parts, "total": timeline.total}
    return results


def herald_signups(stack, web, sizes, timeline):
    """Signup and delivery latency through Herald, one worker process idle between emails."""
    out, clients = {}, sizes["clients"]
    worker = timeline.run("start worker", stack.worker, processes=1, threads=8)
    timeline.run("warm up Herald's web server", cases.warm_up, stack, web)
    time.sleep(2)  # let the worker go idle: the delivery cases measure the idle path
    out["signup_one_at_a_time"] = timeline.run(
        "signups one at a time",
        cases.signups,
        stack,
        web,
        prefix="single",
        count=sizes["single_signups"],
        clients=1,
        hash_between=True,
    )
    out["low_rate"] = timeline.run(
        "delivery at a low rate",
        cases.signups,
        stack,
        web,
        prefix="low",
        count=sizes["low_rate_signups"],
        rate=sizes["low_rate"],
        clients=clients,
    )
    out["signup_instant"] = timeline.run(
        "signup burst, SMTP instant",
        cases.signups,
        stack,
        web,
        prefix="fast",
        count=sizes["signups"],
        clients=clients,
    )
    stack.sink.delay = SMTP_DELAY_S
    out["signup_smtp_2s"] = timeline.run(
        "signup burst, SMTP 2 s",
        cases.signups,
        stack,
        web,
        prefix="slow",
        count=sizes["slow_signups"],
        clients=clients,
    )
    stack.sink.delay = 0
    stack.stop(worker)
    return out


def synchronous_signups(stack, sizes, timeline):
    """The baseline: the same signup with the email sent inside the request."""
    out, clients = {}, sizes["clients"]
    inline = timeline.run("start gunicorn (synchronous baseline)", stack.web, settings_module=BENCH_SETTINGS)
    timeline.run("warm up the baseline's web server", cases.warm_up, stack, inline, path=INLINE_SIGNUP)
    out["sync_instant"] = timeline.run(
        "synchronous signup, SMTP instant",
        cases.signups,
        stack,
        inline,
        prefix="sync-fast",
        count=sizes["signups"],
        clients=clients,
        path=INLINE_SIGNUP,
        tracked=False,
    )
    stack.sink.delay = SMTP_DELAY_S
    out["sync_smtp_2s"] = timeline.run(
        "synchronous signup, SMTP 2 s",
        cases.signups,
        stack,
        inline,
        prefix="sync-slow",
        count=sizes["slow_signups"],
        clients=clients,
        path=INLINE_SIGNUP,
        tracked=False,
    )
    stack.sink.delay = 0
    stack.stop(inline)
    return out


def bursts(stack, web, sizes, timeline):
    """Throughput: queued jobs drained by Herald (1 and 2 processes) and by the bare actor.

    Herald and the bare actor take turns, ``burst_rounds`` times each, so that
    both meet the same moments of a machine whose speed drifts; the ratio is
    of their medians.
    """
    users = timeline.run("create burst users", cases.create_inactive_users, "burst", sizes["burst"])
    herald, bare = [], []
    for n in range(1, sizes["burst_rounds"] + 1):
        herald.append(
            timeline.run(
                f"burst {n}, Herald, 1 worker process", cases.herald_burst, stack, web, users, processes=1
            )
        )
        bare.append(timeline.run(f"burst {n}, bare actor, 1 worker process", cases.bare_burst, stack, users))
    return {
        "burst_1_process": cases.median_round(herald),
        "bare_1_process": cases.median_round(bare),
        "burst_2_processes": timeline.run(
            "burst, Herald, 2 worker processes", cases.herald_burst, stack, web, users, processes=2
        ),
    }


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    print(f"Herald benchmark ({args.size}); real processes on 127.0.0.1, {report.cpu_summary()}", flush=True)
    try:
        results = run_with_cleanup(lambda stack: benchmark(stack, args.size), Stack())
    except KeyboardInterrupt as stop:
        print(
            f"\nInterrupted ({str(stop) or 'Ctrl-C'}); every process the benchmark started is stopped.",
            flush=True,
        )
        sys.exit(130)
    results["derived"] = report.derive(results)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(report.table(results))
    print(f"\nFigures written to {args.output}")
