"""The benchmark's cases. Each returns plain figures (milliseconds, counts, rates) for the report."""

import threading
import time

from bench import load

FINAL = ("succeeded", "failed")


def address(prefix, n):
    return f"{prefix}-{n:07d}@bench.example"


# --------------------------------------------------------------------------
# Password hash
# --------------------------------------------------------------------------
def password_hash(*, repeat, concurrency):
    """One ``make_password`` alone, and one among ``concurrency`` hashing at once (as the web tier's threads do)."""
    from django.contrib.auth.hashers import make_password

    make_password(load.PASSWORD)  # warm up (imports, hasher lookup)
    alone = load.time_calls(lambda: make_password(load.PASSWORD), repeat)
    together = []
    lock = threading.Lock()

    def hasher():
        times = load.time_calls(lambda: make_password(load.PASSWORD), max(1, repeat // 4))
        with lock:
            together.extend(times)

    threads = [threading.Thread(target=hasher) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "alone": load.percentiles(alone),
        f"with_{concurrency}_at_once": load.percentiles(together),
    }


# --------------------------------------------------------------------------
# Signup latency (and delivery latency of the same signups)
# --------------------------------------------------------------------------
def signups(
    stack,
    web,
    *,
    prefix,
    count,
    path="/accounts/signup/",
    rate=None,
    clients=8,
    tracked=True,
    hash_between=False,
):
    """``count`` signups from ``clients`` visitors: signup latency, delivery latency, and job rows against the sink.

    Delivery latency runs from the signup response to the message at the
    SMTP sink; it is negative when the worker sent before the response got
    back to the visitor. With ``hash_between`` each visitor times one
    ``make_password`` in this process before each signup, so that the hash
    alone meets the same moments of the machine as the signups.
    """
    sink = stack.sink
    sink.clear()
    emails = [address(prefix, n) for n in range(count)]
    visit, hashes = load.signup(path), []
    if hash_between:
        from django.contrib.auth.hashers import make_password

        def visit(client, email, signup=visit):
            hashes.extend(load.time_calls(lambda: make_password(load.PASSWORD), 1))
            return signup(client, email)

    answers = load.run_visitors(web.url, emails, visit, clients=clients, rate=rate)
    bad = [a for a in answers if a.status != 302]
    if bad:
        raise RuntimeError(f"{len(bad)} signup(s) answered {bad[0].status}, not 302")
    started = min(a.answered_at - a.latency for a in answers)
    elapsed = max(a.answered_at for a in answers) - started
    figures = {
        "signup_ms": load.percentiles([a.latency for a in answers]),
        "signups_per_s": round(len(answers) / elapsed, 2),
        # Each signup less the hash it made, as the server timed it (Server-Timing).
        "minus_own_hash_ms": load.percentiles([a.latency - a.server_hash for a in answers if a.server_hash]),
    }
    if hashes:
        figures["hash_between_ms"] = load.percentiles(hashes)
    if rate:
        figures["rate_asked"] = rate
        figures["max_start_lateness_ms"] = round(max(a.late for a in answers) * 1000, 1)
    arrivals = wait_for_emails(sink, emails, timeout=60 + count * sink.delay)
    figures["delivery_ms"] = load.percentiles([arrivals[a.key][0] - a.answered_at for a in answers])
    if tracked:
        from jobs.models import Job

        job_ids = list(Job.objects.filter(label__in=emails).values_list("id", flat=True))
        wait_final(job_ids, timeout=30)
        figures["records"] = records_agree(job_ids, sink.recipients())
    return figures


def wait_for_emails(sink, emails, timeout):
    """Wait until a message to each of ``emails`` arrived; the sink's arrivals."""
    deadline = time.monotonic() + timeout
    while True:
        arrivals = sink.arrivals()
        missing = [email for email in emails if email not in arrivals]
        if not missing:
            return arrivals
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(missing)} of {len(emails)} emails did not arrive within {timeout:.0f} s"
            )
        time.sleep(0.02)


def warm_up(stack, web, *, path="/accounts/signup/", clients=8):
    """A few signups first, so that no measured request pays a process's first-use costs."""
    signups(stack, web, prefix=f"warm-{web.port}", count=clients, path=path, clients=clients, tracked=False)


# --------------------------------------------------------------------------
# Throughput and tracking cost
# --------------------------------------------------------------------------
def create_inactive_users(prefix, count):
    """``count`` inactive users in one bulk insert, sharing one real password hash; their ids."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    User = get_user_model()
    password = make_password(load.PASSWORD)
    User.objects.bulk_create(
        [User(email=address(prefix, n), password=password, is_active=False) for n in range(count)],
        batch_size=500,
    )
    return list(User.objects.filter(email__startswith=f"{prefix}-").order_by("id").values_list("id", "email"))


def enqueue_through_web(web, users, *, clients=8):
    """Queue one job per user with ``POST /accounts/resend/`` (the web tier's enqueue path, no hash)."""
    from jobs.models import Job

    before = Job.objects.order_by("-id").values_list("id", flat=True).first() or 0
    answers = load.run_visitors(web.url, [email for _, email in users], load.resend(), clients=clients)
    bad = [a for a in answers if a.status != 302]
    if bad:
        raise RuntimeError(f"{len(bad)} resend(s) answered {bad[0].status}, not 302")
    started = min(a.answered_at - a.latency for a in answers)
    elapsed = max(a.answered_at for a in answers) - started
    job_ids = list(Job.objects.filter(id__gt=before).values_list("id", flat=True))
    return job_ids, {
        "jobs": len(job_ids),
        "enqueue_per_s": round(len(answers) / elapsed, 1),
        "request_ms": load.percentiles([a.latency for a in answers]),
    }


def drain(stack, *, expected, processes, threads=8, timeout=180):
    """Start a worker on a full queue; emails/s from the first to the last arrival at the sink."""
    sink = stack.sink
    worker = stack.worker(processes=processes, threads=threads)
    try:
        if not sink.arrived(expected, timeout=timeout):
            raise RuntimeError(f"only {sink.count} of {expected} emails arrived within {timeout} s")
        times = sink.times()
        span = times[-1] - times[0]
        return worker, {
            "emails": len(times),
            "emails_per_s": round((len(times) - 1) / span, 1) if span > 0 else None,
            "span_s": round(span, 2),
        }
    except BaseException:
        stack.stop(worker)
        raise


def wait_final(job_ids, timeout):
    """Wait until every job in ``job_ids`` is succeeded or failed; seconds waited, or None on timeout."""
    from jobs.models import Job

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not Job.objects.filter(id__in=job_ids).exclude(status__in=FINAL).exists():
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def records_agree(job_ids, received):
    """Job rows per status against ``received``, the recipients of the messages the SMTP server got.

    They agree when every job succeeded and its email arrived exactly once:
    no job without its email (lost), none left queued, running or retrying
    (stuck), no email twice.
    """
    from collections import Counter

    from django.db.models import Count

    from jobs.models import Job

    jobs = Job.objects.filter(id__in=job_ids)
    by_status = dict(jobs.values_list("status").annotate(n=Count("id")).order_by())
    recipients = set(jobs.values_list("label", flat=True))  # an email job's label is its address
    arrived = Counter(to for to in received if to in recipients)
    succeeded = by_status.get("succeeded", 0)
    stuck = sum(n for status, n in by_status.items() if status not in FINAL)
    lost = len(recipients) - len(arrived)
    duplicates = sum(n - 1 for n in arrived.values())
    return {
        "jobs": len(job_ids),
        "rows_by_status": by_status,
        "smtp_received": sum(arrived.values()),
        "lost": lost,
        "stuck": stuck,
        "duplicates": duplicates,
        "agree": succeeded == sum(arrived.values()) == len(job_ids) and not (lost or stuck or duplicates),
    }


def herald_burst(stack, web, users, *, processes):
    """Queue a job per user through the web tier, then drain with ``processes`` worker processes."""
    stack.sink.clear()
    job_ids, enqueue = enqueue_through_web(web, users)
    worker, delivered = drain(stack, expected=len(job_ids), processes=processes)
    try:
        lag = wait_final(job_ids, timeout=30)
    finally:
        stack.stop(worker)
    delivered["all_rows_final_after_last_email_ms"] = None if lag is None else round(lag * 1000, 1)
    return {
        "enqueue": enqueue,
        "delivery": delivered,
        "records": records_agree(job_ids, stack.sink.recipients()),
    }


def bare_burst(stack, users, *, processes=1):
    """The same emails through the bare actor: ``send_mail``, no job row, no attempt row, no result."""
    from bench.actors import send_confirmation_bare

    stack.sink.clear()
    for user_id, _ in users:
        send_confirmation_bare.send(user_id)
    worker, delivered = drain(stack, expected=len(users), processes=processes)
    stack.stop(worker)
    return {"delivery": delivered}


def median_round(rounds):
    """The round with the median emails/s, with every round's rate beside it (and every round's records)."""
    ranked = sorted(rounds, key=lambda r: r["delivery"]["emails_per_s"] or 0)
    median = dict(ranked[(len(ranked) - 1) // 2])
    median["rounds_emails_per_s"] = [r["delivery"]["emails_per_s"] for r in rounds]
    if "records" in median:
        median["records_every_round"] = [r["records"] for r in rounds]
        median["records"] = merge_records([r["records"] for r in rounds])
    return median


def merge_records(records):
    """Several rounds' :func:`records_agree` figures as one: they agree if every round did."""
    merged = {"jobs": 0, "rows_by_status": {}, "smtp_received": 0, "lost": 0, "stuck": 0, "duplicates": 0}
    for one in records:
        for key in ("jobs", "smtp_received", "lost", "stuck", "duplicates"):
            merged[key] += one[key]
        for status, n in one["rows_by_status"].items():
            merged["rows_by_status"][status] = merged["rows_by_status"].get(status, 0) + n
    merged["agree"] = all(one["agree"] for one in records)
    return merged
