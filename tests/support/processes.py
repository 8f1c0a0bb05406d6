"""Real Herald processes for tests: rundramatiq workers, the scheduler and a gunicorn web server."""

import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from config.localredis import free_port
from config.runner import SCHEDULER

PROJECT_DIR = Path(__file__).resolve().parents[2]
LOG_DIR = PROJECT_DIR / "var" / "test-logs"


def subprocess_database_url():
    """DATABASE_URL of the database this test process uses (the test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user, password = (urllib.parse.quote(db[key] or "", safe="") for key in ("USER", "PASSWORD"))
    return f"postgres://{user}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def herald_env(**overrides):
    """The environment for a Herald process sharing this test's database and Redis."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=subprocess_database_url(),
        REDIS_URL=settings.REDIS_URL,
        SITE_URL=f"http://127.0.0.1:{free_port()}",
        DJANGO_SETTINGS_MODULE=os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
        PYTHONUNBUFFERED="1",
    )
    env.update({key: str(value) for key, value in overrides.items()})
    return env


class HeraldProcess:
    """A child process with its output in var/test-logs/<name>.log."""

    def __init__(self, name, args, env):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOG_DIR / f"{name}-{time.strftime('%H%M%S')}-{os.getpid()}.log"
        # The child writes to the log through its own descriptor; this process only reads it.
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                args, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def children(self):
        """PIDs of this process's children (dramatiq's worker processes)."""
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def output(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signal the main process (as a supervisor does) and wait; SIGKILL the group after ``timeout``.

        Only the main process: it forwards the signal to its children, and a
        dramatiq worker process that gets SIGTERM twice exits at once.
        """
        self.send(sig)
        self.wait_stopped(timeout)

    def send(self, sig=signal.SIGTERM):
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait_stopped(self, timeout=30):
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.process.wait(10)

    def kill_group(self):
        """SIGKILL the process and its children, and wait for it."""
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(30)

    def kill_children(self):
        """SIGKILL dramatiq's worker processes (as the OOM killer would), then wait for the group to end."""
        for pid in self.children():
            os.kill(pid, signal.SIGKILL)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.stop(signal.SIGKILL)

    def wait_until(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate():
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.output()[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {what} not within {timeout} s:\n{self.output()[-3000:]}")
            time.sleep(0.05)


def start_worker(env, *, processes=1, threads=4, name="worker", timeout=60, queues=()):
    """Start ``manage.py rundramatiq`` and wait until its relay reports every process alive.

    ``queues``: serve only these (``--queues``); all of them by default.
    """
    started = time.time()
    args = [
        sys.executable,
        "manage.py",
        "rundramatiq",
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        *(["--queues", *queues] if queues else []),
    ]
    worker = HeraldProcess(name, args, env)
    client = redis.Redis.from_url(env["REDIS_URL"])

    def booted():
        return client.zcount("dramatiq:herald:workers", started, "+inf") >= processes

    worker.wait_until(booted, timeout, "worker boot")
    return worker


def start_scheduler(env, *, name="scheduler", wait_for="Starting scheduler", timeout=60):
    """Start ``manage.py scheduler`` as ``make run`` does and wait until it says ``wait_for``.

    By default until it holds the lock and schedules; a second one says
    "Acquiring lock" and waits for the first to let go.
    """
    scheduler = HeraldProcess(name, [sys.executable, "manage.py", *SCHEDULER], env)
    scheduler.wait_until(lambda: wait_for in scheduler.output(), timeout, f"scheduler: {wait_for!r}")
    return scheduler


class WebServer(HeraldProcess):
    def __init__(self, env, *, workers=2, threads=4, name="web"):
        # Links in emails must point at this server: take the port from SITE_URL.
        self.port = urllib.parse.urlsplit(env["SITE_URL"]).port
        self.url = f"http://127.0.0.1:{self.port}"
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
            "--access-logformat",
            '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms pid=%(p)s',
        ]
        super().__init__(name, args, env)

    def ready(self):
        try:
            with urllib.request.urlopen(f"{self.url}/accounts/login/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False


def start_web(env, *, timeout=60, **options):
    """Start gunicorn serving Herald and wait until it answers."""
    web = WebServer(env, **options)
    web.wait_until(web.ready, timeout, "web server answering")
    return web
