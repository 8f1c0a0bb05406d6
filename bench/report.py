"""The machine, the figures derived from the cases, and the printed table."""

import os
import platform
import subprocess
import sys


def cpu_summary():
    model = _lscpu().get("Model name", platform.processor() or "?")
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def _lscpu():
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    return {
        key.strip(): value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())
    }


def machine():
    info = _lscpu()
    return {
        "nproc": os.cpu_count(),
        "cpu": info.get("Model name", platform.processor()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _minus(latency, base):
    return {p: round(latency[p] - base[p], 1) for p in ("p50", "p95", "p99") if latency.get(p) is not None}


def derive(results):
    """Signup latency less one password hash, and Herald's tracked rate as a ratio of the bare actor's."""
    out = results["cases"]
    hashes = out["password_hash"]
    together = next(v for k, v in hashes.items() if k.startswith("with_"))
    derived = {"load_average_at_end": [round(x, 2) for x in os.getloadavg()]}
    single = out["signup_one_at_a_time"]
    derived["signup_one_at_a_time_minus_hash_between_ms"] = _minus(
        single["signup_ms"], single["hash_between_ms"]
    )
    for case in SIGNUP_CASES:
        latency = out[case]["signup_ms"]
        derived[f"{case}_minus_hash_alone_ms"] = _minus(latency, hashes["alone"])
        derived[f"{case}_minus_hash_at_same_concurrency_ms"] = _minus(latency, together)
    herald = out["burst_1_process"]["delivery"]["emails_per_s"]
    bare = out["bare_1_process"]["delivery"]["emails_per_s"]
    derived["tracked_over_bare"] = round(herald / bare, 2) if herald and bare else None
    derived["records_agree"] = all(
        case["records"]["agree"] for case in out.values() if isinstance(case, dict) and "records" in case
    )
    derived["targets"] = targets(results, derived)
    return derived


SIGNUP_CASES = (
    "signup_one_at_a_time",
    "signup_instant",
    "signup_smtp_2s",
    "sync_instant",
    "sync_smtp_2s",
    "low_rate",
)
# Emails/s of a plain django-dramatiq build with tracking, measured on this machine (issue figures).
PLAIN_BUILD_TRACKED_PER_S = 93


def targets(results, derived):
    """Each target of the benchmark: the figure it is judged on, and whether this run met it."""
    out = results["cases"]
    low = out["low_rate"]["delivery_ms"]
    herald = out["burst_1_process"]["delivery"]["emails_per_s"] or 0
    checks = {
        "signup adds < 50 ms p99 over its own hash (one visitor at a time)": (
            out["signup_one_at_a_time"]["minus_own_hash_ms"]["p99"],
            lambda v: v < 50,
        ),
        f"signup adds < 50 ms p99 over its own hash ({results['sizes']['clients']} visitors)": (
            out["signup_instant"]["minus_own_hash_ms"]["p99"],
            lambda v: v < 50,
        ),
        "2 s SMTP delay does not show in signup p50 (adds < 1 s)": (
            round(out["signup_smtp_2s"]["signup_ms"]["p50"] - out["signup_instant"]["signup_ms"]["p50"], 1),
            lambda v: v < 1000,
        ),
        "synchronous baseline shows it (adds >= 1 s)": (
            round(out["sync_smtp_2s"]["signup_ms"]["p50"] - out["sync_instant"]["signup_ms"]["p50"], 1),
            lambda v: v >= 1000,
        ),
        "delivery at a low rate p50 < 20 ms": (low["p50"], lambda v: v < 20),
        "delivery at a low rate p99 < 100 ms": (low["p99"], lambda v: v < 100),
        "Herald emails/s >= bare actor's": (derived["tracked_over_bare"], lambda v: v >= 1),
        f"Herald emails/s >= 2 x plain build's {PLAIN_BUILD_TRACKED_PER_S}/s (1 process)": (
            herald,
            lambda v: v >= 2 * PLAIN_BUILD_TRACKED_PER_S,
        ),
        "job records agree with the SMTP sink": (derived["records_agree"], lambda v: v is True),
        "whole run under 6 minutes (s)": (results["timeline_s"]["total"], lambda v: v < 360),
    }
    return {
        name: {"figure": value, "met": value is not None and test(value)}
        for name, (value, test) in checks.items()
    }


def _row(label, values, width=52):
    return f"  {label:<{width}}" + "".join(f"{v:>10}" for v in values)


def _fmt(value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else f"{value:g}"


def _latency_row(label, figures):
    return _row(label, [_fmt(figures.get(p)) for p in ("p50", "p95", "p99")] + [_fmt(figures.get("n"))])


def _records_row(label, records):
    by_status = ", ".join(f"{status} {n}" for status, n in sorted(records["rows_by_status"].items()))
    verdict = "agree" if records["agree"] else "DISAGREE"
    return (
        f"  {label:<26} rows: {by_status or 'none'} | SMTP sink: {records['smtp_received']} | "
        f"lost {records['lost']}, stuck {records['stuck']}, duplicates {records['duplicates']}: {verdict}"
    )


def _rounds(case):
    rates = case.get("rounds_emails_per_s") or [case["delivery"]["emails_per_s"]]
    return f"median of {', '.join(_fmt(r) for r in rates)}"


def table(results):
    out, derived, sizes = results["cases"], results["derived"], results["sizes"]
    clients = sizes["clients"]
    hashes = out["password_hash"]
    together_key = next(k for k in hashes if k.startswith("with_"))
    lines = [
        f"Herald benchmark ({results['size']}): {results['machine']['nproc']} CPUs "
        f"{results['machine']['cpu']}, Python {results['machine']['python']}"
    ]
    if results["size"] != "full":
        lines.append("  (tiny sizes: a smoke test, not figures to quote)")

    lines += ["", _row(f"Signup latency, ms ({clients} concurrent visitors)", ["p50", "p95", "p99", "n"])]
    lines.append(_latency_row("make_password alone", hashes["alone"]))
    lines.append(_latency_row(f"make_password, {clients} at once", hashes[together_key]))
    single = out["signup_one_at_a_time"]
    lines.append(_latency_row("Herald, one visitor at a time, SMTP instant", single["signup_ms"]))
    lines.append(_latency_row("  minus one hash alone", derived["signup_one_at_a_time_minus_hash_alone_ms"]))
    lines.append(_latency_row("  make_password, timed between these signups", single["hash_between_ms"]))
    lines.append(_latency_row("  minus that hash", derived["signup_one_at_a_time_minus_hash_between_ms"]))
    lines.append(_latency_row("  minus its own hash (Server-Timing)", single["minus_own_hash_ms"]))
    for case, label in (
        ("signup_instant", "Herald, SMTP instant"),
        ("signup_smtp_2s", "Herald, SMTP 2 s delay"),
        ("sync_instant", "synchronous baseline, SMTP instant"),
        ("sync_smtp_2s", "synchronous baseline, SMTP 2 s delay"),
    ):
        lines.append(_latency_row(label, out[case]["signup_ms"]))
        lines.append(_latency_row("  minus one hash alone", derived[f"{case}_minus_hash_alone_ms"]))
        lines.append(
            _latency_row(
                f"  minus one hash ({clients} at once)", derived[f"{case}_minus_hash_at_same_concurrency_ms"]
            )
        )
        lines.append(_latency_row("  minus its own hash (Server-Timing)", out[case]["minus_own_hash_ms"]))
    low = out["low_rate"]
    lines.append(_latency_row(f"Herald at {low['rate_asked']} signups/s (paced)", low["signup_ms"]))
    lines.append(_latency_row("  minus one hash alone", derived["low_rate_minus_hash_alone_ms"]))

    lines += ["", _row("Delivery latency, ms (signup response -> SMTP sink)", ["p50", "p95", "p99", "n"])]
    lines.append(
        _latency_row(f"{low['rate_asked']} signups/s (reached {low['signups_per_s']}/s)", low["delivery_ms"])
    )
    lines.append(
        _latency_row(
            f"burst, {clients} visitors ({out['signup_instant']['signups_per_s']} signups/s)",
            out["signup_instant"]["delivery_ms"],
        )
    )

    one, two, bare = out["burst_1_process"], out["burst_2_processes"], out["bare_1_process"]
    lines += [
        "",
        _row(f"Throughput ({one['enqueue']['jobs']} queued jobs, 8 threads per process)", ["per s"]),
    ]
    lines.append(
        _row(
            f"web tier enqueue (POST /accounts/resend/, {clients} visitors)",
            [_fmt(one["enqueue"]["enqueue_per_s"])],
        )
    )
    lines.append(
        _row(f"Herald emails, 1 worker process ({_rounds(one)})", [_fmt(one["delivery"]["emails_per_s"])])
    )
    lines.append(_row("Herald emails, 2 worker processes", [_fmt(two["delivery"]["emails_per_s"])]))
    lines.append(
        _row(
            f"bare actor, no tracking, 1 process ({_rounds(bare)})", [_fmt(bare["delivery"]["emails_per_s"])]
        )
    )
    lines.append(_row("Herald / bare actor (medians)", [_fmt(derived["tracked_over_bare"])]))

    lines += ["", "Job records against the SMTP sink"]
    for case, label in (
        ("burst_1_process", "burst, 1 worker process"),
        ("burst_2_processes", "burst, 2 worker processes"),
        ("low_rate", "low-rate signups"),
        ("signup_instant", "signup burst, SMTP instant"),
        ("signup_smtp_2s", "signup burst, SMTP 2 s"),
    ):
        lines.append(_records_row(label, out[case]["records"]))

    lines += ["", "Targets"]
    for name, target in derived["targets"].items():
        lines.append(f"  {'met' if target['met'] else 'MISSED':<8}{name}: {_fmt(target['figure'])}")

    timeline = results["timeline_s"]
    lines += [
        "",
        f"Run: {timeline['total']} s in total; load average at start {results['machine']['load_average_at_start']}, "
        f"at end {derived['load_average_at_end']} (other work on the machine shows here).",
    ]
    return "\n".join(lines)
