"""``make run``: everything Herald needs on one machine, in one terminal.

Writes the checkout's ``.env``, migrates, starts redis-server (unless ``REDIS_URL`` is set), a worker, the
scheduler (housekeeping and scheduled tasks) and the web server, prints the URL, restarts any of them that
exits (and says so), and stops them all on Ctrl-C.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from config.dotenv import DOT_ENV, local_values
from config.localredis import LocalRedis, free_port

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"
# The scheduler (jobs/management/commands/scheduler.py): dramatiq-crontab's, which keeps its Redis lock
# through a Redis restart. The jobs app loads the schedules, and no worker runs a heartbeat actor.
SCHEDULER = ["scheduler"]


def local_defaults():
    """Settings a developer's machine needs that production must set itself, kept in the checkout's .env.

    The .env keeps its secret key from run to run (sessions and links
    survive a restart); hosts and site URL follow this run's ``PORT``. A
    variable exported in this shell wins over the file, as in the settings.
    """
    VAR_DIR.mkdir(exist_ok=True)
    port = os.environ.setdefault("PORT", "8000")
    values = local_values(DOT_ENV, ALLOWED_HOSTS="127.0.0.1,localhost", SITE_URL=f"http://127.0.0.1:{port}")
    for name, value in values.items():
        if name != "REDIS_URL":  # this run's own: exported, or set by start_redis()
            os.environ.setdefault(name, value)


def start_redis():
    port = 6379 if _port_free(6379) else free_port()
    server = LocalRedis(VAR_DIR / "redis", port=port).start()
    os.environ["REDIS_URL"] = server.url
    # manage.py commands run beside `make run` (createsuperuser, jobs stats) find this Redis.
    local_values(DOT_ENV, REDIS_URL=server.url)
    print(f"* redis-server (append-only, data in var/redis) on {server.url}", flush=True)
    return server


def _port_free(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


# Waits before restarting a child that keeps exiting soon after it started (a crash loop);
# one that ran longer than QUICK_EXIT_S is restarted after the first.
RESTART_DELAYS_S = (1, 2, 5, 10, 30)
QUICK_EXIT_S = 30


class Child:
    """One process ``make run`` keeps running: restarted, and announced, whenever it exits."""

    def __init__(self, name, args, *, cwd=BASE_DIR):
        self.name = name
        self.args = args
        self.cwd = cwd
        self.process = None
        self.started_at = 0.0
        self.restart_at = None
        self.quick_exits = 0

    def start(self):
        self.process = subprocess.Popen(self.args, cwd=self.cwd)
        self.started_at = time.monotonic()
        self.restart_at = None
        return self

    def check(self, now):
        """Notice an exit and schedule the restart; restart once its time has come."""
        if self.restart_at is None:
            code = self.process.poll()
            if code is None:
                return
            self.quick_exits = self.quick_exits + 1 if now - self.started_at < QUICK_EXIT_S else 0
            delay = RESTART_DELAYS_S[min(max(self.quick_exits - 1, 0), len(RESTART_DELAYS_S) - 1)]
            self.restart_at = now + delay
            print(f"* {self.name} exited with {code}; restarting it in {delay} s", flush=True)
        elif now >= self.restart_at:
            self.start()
            print(f"* {self.name} restarted (pid {self.process.pid})", flush=True)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout):
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()


def supervise(children, poll_s=0.5):
    """Start ``children`` and keep them running until Ctrl-C or SIGTERM; then stop them all.

    Why restart rather than stop everything: one child going away (the
    scheduler losing Redis, a worker killed for memory) took the web server
    down with it.
    """
    try:
        for child in children:
            child.start()
        signal.signal(signal.SIGTERM, _interrupt)
        while True:
            time.sleep(poll_s)
            now = time.monotonic()
            for child in children:
                child.check(now)
    except KeyboardInterrupt:
        print("\n* stopping", flush=True)
    finally:
        for child in children:
            child.stop()
        for child in children:
            child.wait(30)


def main():
    local_defaults()
    if os.environ.get("REDIS_URL"):
        redis_server = None
        local_values(DOT_ENV, REDIS_URL=None)  # the redis-server of an earlier run is not running
    else:
        redis_server = start_redis()
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    try:
        subprocess.run([*manage, "migrate", "--noinput"], check=True, cwd=BASE_DIR)
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], check=True, cwd=BASE_DIR)
        threads = os.environ.get("WORKER_THREADS", "8")
        bind = f"127.0.0.1:{os.environ['PORT']}"
        web = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", bind]
        web += ["--workers", "2", "--threads", "8", "--access-logfile", "-"]
        children = [
            Child("worker", [*manage, "rundramatiq", "--processes", "1", "--threads", threads]),
            Child("scheduler", [*manage, *SCHEDULER]),
            Child("web server", web),
        ]
        print(
            f"\n  Herald is running at {os.environ['SITE_URL']}/\n"
            f"  Sign up at {os.environ['SITE_URL']}/accounts/signup/ ; the admin is at /admin/\n"
            "  (create a staff account with: .venv/bin/python manage.py createsuperuser)\n"
            "  Emails are printed here by the worker unless EMAIL_URL is set. A process that exits is\n"
            "  restarted. Ctrl-C stops everything.\n",
            flush=True,
        )
        supervise(children)
    except KeyboardInterrupt:
        print("\n* stopping", flush=True)
    finally:
        if redis_server is not None:
            redis_server.stop()


if __name__ == "__main__":
    main()
