"""``python -m bench.admin``: every job admin page with a million job rows, on SQLite and on PostgreSQL.

Each database runs in a process of its own (Django reads its database once),
with the benchmark's real processes (``bench.stack``): the rows are seeded
straight into the database (``bench.seed``), then each page is fetched over
HTTP from gunicorn as a logged-in superuser, one warm-up and ``repeat`` timed
fetches. Prints both databases side by side against the target and writes
bench/admin.json. ``--tiny`` seeds a few thousand rows (the smoke test).
"""

import argparse
import json
import os
import sys
from pathlib import Path

from bench import load, report
from bench.stack import Stack, run_each_in_own_process, run_with_cleanup

RESULTS_PATH = Path(__file__).resolve().parent / "admin.json"
DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
SIZES = {"full": {"rows": 1_000_000, "repeat": 5}, "tiny": {"rows": 5_000, "repeat": 1}}
TARGET_MS = 200
ADMIN_EMAIL = "bench-admin@bench.example"
ADMIN_PASSWORD = "bench-Admin-password-7"
CHANGELIST = "/admin/jobs/job/"


def pages(rows):
    """``{name: path}``: the list, each filter and status, the date drill-down, both searches, a job, schedules."""
    from django.utils import timezone

    from bench.seed import STATUS_MIX, TASK_MIX, seed_address, seed_result_id
    from jobs.models import Job

    common, rare = TASK_MIX[0][0], TASK_MIX[-1][0]
    today = timezone.localdate()
    last_failed = next(n for n in range(rows - 1, -1, -1) if n % 100 == 0)  # bench.seed's first failed slot
    # A deep page: page 100, or the last page of the failed jobs when there are fewer.
    deep = min(100, max(1, rows * STATUS_MIX[0][1] // 100 // 100))
    out = {"list": CHANGELIST}
    out.update({f"status {status}": f"{CHANGELIST}?status__exact={status}" for status in Job.Status.values})
    out.update(
        {
            "task (common)": f"{CHANGELIST}?task={common}",
            "task (rare)": f"{CHANGELIST}?task={rare}",
            "task and status failed": f"{CHANGELIST}?task={rare}&status__exact=failed",
            "date: year": f"{CHANGELIST}?created_at__year={today.year}",
            "date: month": f"{CHANGELIST}?created_at__year={today.year}&created_at__month={today.month}",
            "date: day": f"{CHANGELIST}?created_at__day={today.day}&created_at__month={today.month}"
            f"&created_at__year={today.year}",
            f"status failed, page {deep}": f"{CHANGELIST}?status__exact=failed&p={deep}",
            "search by address": f"{CHANGELIST}?q={seed_address(rows * 3 // 4)}",
            "search by result id": f"{CHANGELIST}?q={seed_result_id(rows * 3 // 4)}",
            "job page (failed, 4 attempts)": f"{CHANGELIST}{last_failed + 1}/change/",
            "schedules": f"{CHANGELIST}schedules/",
        }
    )
    return out


def seed(stack, rows):
    from bench.seed import seed_jobs, seed_jobs_postgres

    if stack.database == "postgres":
        return seed_jobs_postgres(rows)
    return seed_jobs(stack.database_path, rows)


def measure(stack, rows, repeat):
    """Seed, log in, time every page; the figures of one database."""
    from django.contrib.auth import get_user_model

    from jobs import selectors
    from jobs.admin.changelist import LargeTablePaginator
    from tests.support.http import Client

    seconds = seed(stack, rows)
    get_user_model().objects.create_superuser(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    web = stack.web()
    staff = Client(web.url)
    login = staff.post_form(
        "/admin/login/?next=/admin/", {"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    if login.status != 302:
        raise RuntimeError(f"admin login answered {login.status}")
    figures = {"database": stack.database, "rows": rows, "seed_s": round(seconds, 1), "pages": {}}
    for name, path in pages(rows).items():
        staff.get(path)  # warm: templates, query plans, page cache
        answers = [staff.get(path) for _ in range(repeat)]
        figures["pages"][name] = {
            "path": path,
            "status": answers[-1].status,
            "median_ms": load.median_ms([a.elapsed for a in answers]),
            "max_ms": round(max(a.elapsed for a in answers) * 1000, 1),
        }
    limit = LargeTablePaginator.count_limit  # the summary as the admin reads it
    times = load.time_calls(lambda: selectors.stats(count_limit=limit), repeat)
    figures["summary_counts"] = {"median_ms": load.median_ms(times), "max_ms": round(max(times) * 1000, 1)}
    return figures


def run_database(database, size, output):
    sizes = SIZES[size]

    def body(stack):
        stack.start()
        figures = measure(stack, sizes["rows"], sizes["repeat"])
        output.write_text(json.dumps(figures, indent=2) + "\n")

    run_with_cleanup(body, Stack(database=database))


def table(results):
    """Both databases side by side, the target, then whether each database met it."""
    names = list(next(iter(results["databases"].values()))["pages"]) if results["databases"] else []
    heading = [DATABASES[db] for db in results["databases"]] + ["target"]
    lines = [
        f"Admin with {results['rows']:,} job rows: median ms over HTTP (superuser, "
        f"{results['repeat']} fetches after a warm-up)",
        "",
        "  " + f"{'page':<42}" + "".join(f"{h:>14}" for h in heading),
    ]
    for name in names:
        cells = []
        for out in results["databases"].values():
            page = out["pages"][name]
            cells.append(str(page["median_ms"]) if page["status"] == 200 else f"HTTP {page['status']}")
        lines.append(
            "  " + f"{name:<42}" + "".join(f"{c:>14}" for c in cells) + f"{'< ' + str(TARGET_MS):>14}"
        )
    summary = [str(out["summary_counts"]["median_ms"]) for out in results["databases"].values()]
    lines.append(
        "  " + f"{'summary counts (selectors.stats, in process)':<42}" + "".join(f"{c:>14}" for c in summary)
    )
    slowest = [str(out["slowest_median_ms"]) for out in results["databases"].values()]
    lines.append("  " + f"{'slowest median':<42}" + "".join(f"{c:>14}" for c in slowest))
    lines += ["", "Targets"]
    for name, target in results["targets"].items():
        lines.append(f"  {'met' if target['met'] else 'MISSED':<8}{name}: {target['figure']}")
    return "\n".join(lines)


def summarize(results):
    for db, out in results["databases"].items():
        if "error" in out:
            continue
        out["slowest_median_ms"] = max(page["median_ms"] for page in out["pages"].values())
        all_ok = all(page["status"] == 200 for page in out["pages"].values())
        results["targets"][f"every admin page < {TARGET_MS} ms on {DATABASES[db]} (slowest median, ms)"] = {
            "figure": out["slowest_median_ms"],
            "met": all_ok and out["slowest_median_ms"] < TARGET_MS,
        }


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench.admin", description=__doc__)
    parser.add_argument("--tiny", action="store_true", help="a few thousand rows (smoke test)")
    parser.add_argument("--only", nargs="+", choices=list(DATABASES), help="these databases only")
    parser.add_argument(
        "--database", choices=list(DATABASES), help=argparse.SUPPRESS
    )  # one database's process
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the JSON figures")
    args = parser.parse_args(argv)
    args.size = "tiny" if args.tiny or os.environ.get("BENCH_SIZE") == "tiny" else "full"
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.database:
        run_database(args.database, args.size, args.output)
        return
    sizes = SIZES[args.size]
    results = {"size": args.size, **sizes, "machine": report.machine(), "databases": {}, "targets": {}}
    for database in args.only or DATABASES:
        print(f"* {DATABASES[database]}: seed {sizes['rows']:,} rows, time every page...", flush=True)
    results["databases"] = run_each_in_own_process(
        "bench.admin",
        "--database",
        args.only or DATABASES,
        tiny=args.size == "tiny",
        prefix="herald-bench-admin-",
    )
    failed = [db for db, out in results["databases"].items() if "error" in out]
    results["databases"] = {db: out for db, out in results["databases"].items() if db not in failed}
    summarize(results)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(
        f"\nLoad average at start {results['machine']['load_average_at_start']}, at end "
        f"{results['load_average_at_end']} (other work on the machine shows here)."
    )
    print(f"Figures written to {args.output}")
    if failed:
        print(f"Failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
