"""``manage.py jobs stats | resend | cancel | prune | relay``: the admin's job view, at a shell (docs/admin.md)."""

import json
import re
import signal
import sys
import threading
from argparse import ArgumentTypeError
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from jobs import selectors
from jobs.enqueue.outbox import relay_sweep
from jobs.results import parse_result_id
from jobs.services import (
    cancel_jobs,
    cancel_message,
    prune_finished_jobs,
    resend_failed_jobs,
    resend_jobs,
)

DURATION_RE = re.compile(r"^(\d+)([smhdw])$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LONGEST_DURATION = timedelta(days=100 * 365)


def duration(text):
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` as a timedelta; more than zero, at most a century."""
    match = DURATION_RE.match(text.strip())
    if not match:
        raise ArgumentTypeError(
            f"'{text}' is not a duration: use a whole number and a unit, e.g. 30m, 2h, 7d, 2w"
        )
    amount, unit = int(match.group(1)), DURATION_UNITS[match.group(2)]
    if amount == 0:
        raise ArgumentTypeError(f"'{text}' is not a duration: it must be more than zero")
    try:
        span = timedelta(**{unit: amount})
    except OverflowError:
        span = None
    if span is None or span > LONGEST_DURATION:
        raise ArgumentTypeError(f"'{text}' is too long: at most 100 years")
    return span


def job_id(text):
    """A job id: a positive whole number (the row), or a result id (a UUID, as ``TaskResult.id``)."""
    if text.isascii() and text.isdigit() and 0 < int(text) < 2**63:
        return int(text)
    result_id = parse_result_id(text)
    if result_id is None:
        raise ArgumentTypeError(f"'{text}' is not a job id (a positive whole number) or a result id (a UUID)")
    return str(result_id)


class Command(BaseCommand):
    help = "Jobs: stats, resend failed ones, cancel some, prune old ones, relay lost ones."

    # Who asked, as the job row records it.
    CANCELLED_BY = "manage.py jobs cancel"

    def add_arguments(self, parser):
        # Argument errors raise CommandError, printed as one line (see run_from_argv).
        parser.called_from_command_line = False
        commands = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

        stats = commands.add_parser("stats", help="job counts, broker queues and live workers")
        stats.add_argument("--json", action="store_true", help="print one JSON object")

        resend = commands.add_parser("resend", help="resend failed jobs: --failed, or by id")
        resend.add_argument(
            "ids", nargs="*", type=job_id, metavar="ID", help="ids of failed jobs: row numbers or result ids"
        )
        resend.add_argument("--failed", action="store_true", help="every failed job not yet resent")
        resend.add_argument(
            "--since", type=duration, help="with --failed: only jobs that failed this recently"
        )
        resend.add_argument(
            "--dry-run", action="store_true", help="print what would be resent, resend nothing"
        )

        cancel = commands.add_parser("cancel", help="cancel jobs: queued ones never run, running ones stop")
        cancel.add_argument(
            "ids",
            nargs="+",
            type=job_id,
            metavar="ID",
            help="jobs: row numbers or result ids (as enqueue() gave)",
        )

        prune = commands.add_parser("prune", help="delete finished jobs (and their attempts) past retention")
        prune.add_argument("--older-than", type=duration, required=True, help="e.g. 30d")
        prune.add_argument("--dry-run", action="store_true", help="count, delete nothing")

        relay = commands.add_parser(
            "relay",
            help="the workers' relay sweep: dead workers' messages back, jobs the broker never got or lost",
        )
        relay.add_argument("--once", action="store_true", help="one sweep, then exit")

    def run_from_argv(self, argv):
        try:
            super().run_from_argv(argv)
        except CommandError as exc:  # raised while parsing the arguments
            self.stderr.write(f"CommandError: {exc}".replace("Error: ", "", 1))
            sys.exit(exc.returncode)

    def handle(self, *args, action, **options):
        return getattr(self, f"handle_{action}")(**options)

    # stats -------------------------------------------------------------------

    def handle_stats(self, **options):
        summary = selectors.stats()
        if options["json"]:
            self.stdout.write(json.dumps(summary, default=str))
            return
        jobs, broker, workers = summary["jobs"], summary["broker"], summary["workers"]
        lines = [
            (
                "Jobs",
                ", ".join(f"{status} {count}" for status, count in jobs.items())
                + f" (total {summary['total']})",
            ),
            ("Sent", f"last hour {summary['sent']['last_hour']}, last day {summary['sent']['last_day']}"),
            (
                "Failed",
                f"last hour {summary['failed']['last_hour']}, last day {summary['failed']['last_day']}",
            ),
            (
                "Broker",
                f"{broker['queue_depth']} waiting, {broker['in_progress']} in progress, "
                f"{broker['delayed']} delayed, {broker['dead_lettered']} dead-lettered"
                if broker["reachable"]
                else f"unreachable ({broker['error']})",
            ),
            (
                "Workers",
                "unknown (broker unreachable)" if workers["alive"] is None else f"{workers['alive']} alive",
            ),
        ]
        for label, text in lines:
            self.stdout.write(f"{label + ':':9}{text}")

    # resend ------------------------------------------------------------------

    def handle_resend(self, *, ids, failed, since, dry_run, **options):
        if failed and ids:
            raise CommandError("give either --failed or job ids, not both")
        if not failed and not ids:
            raise CommandError("nothing to resend: give --failed or job ids")
        if since is not None and not failed:
            raise CommandError("--since goes with --failed")
        if failed:
            self.resend_all_failed(since=None if since is None else timezone.now() - since, dry_run=dry_run)
        else:
            self.resend_ids(list(dict.fromkeys(ids)), dry_run=dry_run)

    def resend_all_failed(self, *, since, dry_run):
        resent, refused = resend_failed_jobs(since=since, dry_run=dry_run)
        if dry_run:
            for job, _ in resent:
                self.stdout.write(f"would resend job {job.pk} ({job.task_name} {job.label})")
            self.stdout.write(f"{len(resent)} failed job(s) would be resent (dry run: nothing changed).")
            return
        self.report(resent, refused)

    def resend_ids(self, ids, *, dry_run):
        jobs = {job_id: selectors.job_by_id(job_id) for job_id in ids}
        missing = [str(job_id) for job_id, job in jobs.items() if job is None]
        if missing:
            raise CommandError(f"no job with id {', '.join(missing)}; nothing resent")
        unique = {job.pk: job for job in jobs.values() if job is not None}  # a job named twice, once
        resent, refused = resend_jobs(list(unique.values()), dry_run=dry_run)
        if dry_run:
            for job, _ in resent:
                self.stdout.write(f"would resend job {job.pk} ({job.task_name} {job.label})")
            self.report([], refused, dry_run=True)
            return
        self.report(resent, refused)

    def report(self, resent, refused, *, dry_run=False):
        for job, new_job in resent:
            self.stdout.write(f"resent job {job.pk} ({job.task_name} {job.label}) as job {new_job.pk}")
        for job, reason in refused:
            self.stderr.write(f"refused job {job.pk}: {reason}")
        if not dry_run:
            self.stdout.write(f"{len(resent)} job(s) resent.")
        if refused:
            raise CommandError(
                f"{len(refused)} job(s) refused" + (" (dry run: nothing changed)" if dry_run else "")
            )

    # cancel ------------------------------------------------------------------

    def handle_cancel(self, *, ids: list[int | str], **options) -> None:
        cancelled, refused = cancel_jobs(list(dict.fromkeys(ids)), by=self.CANCELLED_BY)
        for job in cancelled:
            self.stdout.write(cancel_message(job))
        if refused:
            raise CommandError(" ".join(reason for _, reason in refused))

    # prune -------------------------------------------------------------------

    def handle_prune(self, *, older_than, dry_run, **options):
        cutoff = timezone.now() - older_than
        count = prune_finished_jobs(older_than=cutoff, dry_run=dry_run)
        when = cutoff.isoformat(timespec="seconds")
        if dry_run:
            self.stdout.write(
                f"{count} finished job(s) from before {when} would be deleted (dry run: nothing changed)."
            )
        else:
            self.stdout.write(f"Deleted {count} finished job(s) from before {when}, with their attempts.")

    # relay -------------------------------------------------------------------

    def handle_relay(self, *, once, **options):
        if once:
            self.relay_once()
            return
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        self.stdout.write(f"Relaying every {settings.JOBS_RELAY_INTERVAL_S:g} s; Ctrl-C to stop.")
        try:
            while not stopping.is_set():
                close_old_connections()
                self.relay_once(quiet=True)
                stopping.wait(settings.JOBS_RELAY_INTERVAL_S)
        except KeyboardInterrupt:
            pass

    def relay_once(self, *, quiet=False):
        relayed = relay_sweep()
        if relayed or not quiet:
            shown = ", ".join(str(pk) for pk in relayed[:20]) + (" ..." if len(relayed) > 20 else "")
            self.stdout.write(
                f"Relayed {len(relayed)} job(s) to the broker" + (f": {shown}" if relayed else ".")
            )
