"""The real processes a benchmark case runs against, all on 127.0.0.1.

redis-server (``config.localredis``), an aiosmtpd sink (``tests.support.smtp``),
``manage.py rundramatiq`` workers and gunicorn (``tests.support.processes``),
and a scratch SQLite database in a temporary directory, migrated with
``manage.py migrate``. With ``broker="rabbitmq"`` a rabbitmq-server of its own
carries the messages (``tests.support.rabbitmq``); with ``database="postgres"``
a throwaway PostgreSQL cluster holds the rows (``tests.support.postgres``), as
the test suite starts them. Everything started here is stopped by :meth:`Stack.close`,
which the benchmark runs on normal exit, on Ctrl-C and on SIGTERM.
"""

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from tests.support.smtp import SmtpSink

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Settings every bench process shares; the rest is Herald's defaults, as deployed.
BENCH_ENV = {
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DEBUG": "False",
    "RATE_LIMIT_SIGNUP": "0",
    "RATE_LIMIT_RESEND": "0",
    "RATE_LIMIT_CLIENT_EMAILS": "0",  # every visitor of the load is 127.0.0.1
    "SERVER_TIMING": "true",  # each signup reports its own hash time
    "DJANGO_READ_DOT_ENV": "false",  # as deployed: not the checkout's .env
}
HERALD_SETTINGS = "config.settings"
BENCH_SETTINGS = "bench.settings"


class Stack:
    """redis-server, SMTP sink and scratch database; workers and web servers on demand."""

    def __init__(self, *, broker="redis", database="sqlite"):
        self.work_dir = Path(tempfile.mkdtemp(prefix="herald-bench-"))
        self.broker = broker
        self.database = database
        self.rabbitmq = None
        self.postgres = None
        self.redis = None
        self.sink = None
        self.env = None
        self.processes = []
        self._closed = False

    def start(self):
        from config.localredis import LocalRedis

        self.redis = LocalRedis(self.work_dir / "redis").start()
        os.environ.update(BENCH_ENV)
        os.environ.update(
            DJANGO_SETTINGS_MODULE=HERALD_SETTINGS,
            REDIS_URL=self.redis.url,
            DATABASE_URL=f"sqlite:///{self.work_dir / 'db.sqlite3'}",
        )
        os.environ.pop("BROKER_URL", None)
        if self.broker == "rabbitmq":
            from tests.support.rabbitmq import LocalRabbitmq

            self.rabbitmq = LocalRabbitmq(self.work_dir / "rabbitmq").start()
            os.environ["BROKER_URL"] = self.rabbitmq.url
        if self.database == "postgres":
            from tests.support.postgres import LocalPostgres

            self.postgres = LocalPostgres().start()
            os.environ["DATABASE_URL"] = self.postgres.url
        self.sink = CountingSink().start()
        os.environ["EMAIL_URL"] = self.sink.url
        self._migrate()
        import django

        django.setup()
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        from tests.support.processes import herald_env

        self.env = herald_env()
        return self

    def _migrate(self):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=PROJECT_DIR,
            env=dict(os.environ),
            check=True,
        )

    @property
    def database_path(self):
        return self.work_dir / "db.sqlite3"

    def worker(self, *, processes=1, threads=8):
        """Start ``rundramatiq`` (Herald's actor and the bench's bare actor) and wait for it."""
        from tests.support.processes import start_worker

        env = {**self.env, "DJANGO_SETTINGS_MODULE": BENCH_SETTINGS}
        process = start_worker(env, processes=processes, threads=threads, name="bench-worker")
        self.processes.append(process)
        return process

    def worker_at_shipped_defaults(self, *, processes=1, threads=8):
        """A worker with Herald's own settings module and relay and liveness knobs as shipped."""
        from tests.support.processes import start_worker

        env = {**self.env}
        for knob in ("JOBS_HEARTBEAT_TIMEOUT_MS", "JOBS_RELAY_INTERVAL_S"):
            env.pop(knob, None)
        process = start_worker(env, processes=processes, threads=threads, name="bench-worker")
        self.processes.append(process)
        return process

    def web(self, *, settings_module=HERALD_SETTINGS):
        """Start gunicorn as ``make run`` does (2 workers × 8 threads) and wait until it answers.

        Herald's web server listens on the port the workers' links name; any
        other gets a port of its own, so both may run at once.
        """
        from config.localredis import free_port
        from tests.support.processes import start_web

        env = {**self.env, "DJANGO_SETTINGS_MODULE": settings_module}
        if settings_module != HERALD_SETTINGS:
            env["SITE_URL"] = f"http://127.0.0.1:{free_port()}"
        process = start_web(env, workers=2, threads=8, name="bench-web")
        self.processes.append(process)
        return process

    def stop(self, process):
        process.stop()
        if process in self.processes:
            self.processes.remove(process)

    def flush_broker(self):
        import dramatiq

        broker = dramatiq.get_broker()
        if self.rabbitmq is not None:
            broker.flush_all()
        else:
            broker.client.flushdb()

    def close(self):
        if self._closed:
            return
        self._closed = True
        for process in reversed(self.processes):
            try:
                process.stop(timeout=15)
            except Exception:
                pass
        self.processes.clear()
        if self.sink is not None:
            self.sink.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.rabbitmq is not None:
            self.rabbitmq.shutdown()
        if self.postgres is not None:
            self.postgres.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)


class CountingSink(SmtpSink):
    """The suite's SMTP sink, plus arrival times by recipient and forgetting between cases."""

    @property
    def count(self):
        return len(self.messages)

    def arrivals(self):
        """``{recipient: [arrival times]}`` for every message received since the last :meth:`clear`."""
        seen = {}
        for item in list(self.messages):
            for to in item["to"]:
                seen.setdefault(to, []).append(item["at"])
        return seen

    def times(self):
        return sorted(item["at"] for item in list(self.messages))

    def clear(self):
        with self._arrived:
            self.messages.clear()

    def arrived(self, count, timeout):
        """Wait until ``count`` messages arrived; True, or False on timeout."""
        try:
            self.wait_for(count, timeout=timeout)
        except AssertionError:
            return False
        return True


def run_with_cleanup(body, stack):
    """Run ``body(stack)``; stop everything on return, error, Ctrl-C or SIGTERM."""
    import signal

    def _terminate(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return body(stack)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # In a thread of its own so that a second Ctrl-C cannot cut the clean-up short.
        stopper = threading.Thread(target=stack.close)
        stopper.start()
        stopper.join()


def run_each_in_own_process(module, option, names, *, tiny, prefix):
    """``python -m module option NAME --output ...`` for each name, in a process of its own: {name: figures}.

    Django reads its broker and database once per process, so each configuration gets its own.
    A run that fails is recorded as ``{"error": ...}`` and the others go on.
    """
    results = {}
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        for name in names:
            output = Path(scratch) / f"{name}.json"
            command = [sys.executable, "-m", module, option, name, "--output", str(output)]
            if tiny:
                command.append("--tiny")
            run = subprocess.run(command, cwd=Path(__file__).resolve().parent.parent)
            if run.returncode != 0 or not output.exists():
                results[name] = {"error": f"exit code {run.returncode}"}
                continue
            results[name] = json.loads(output.read_text())
    return results
