"""``make run``: everything Herald needs on one machine, in one terminal.

Writes the checkout's ``.env``, migrates, starts redis-server (unless ``REDIS_URL`` is set), a worker, the
scheduler (housekeeping and scheduled tasks) and the web server, prints the URL, and stops them all on Ctrl-C.
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
# The scheduler: the jobs app loads the schedules (every app's tasks and maintenance modules),
# so dramatiq-crontab has no tasks modules to look for; no heartbeat (no worker runs its actor).
SCHEDULER = ["crontab", "--no-task-loading", "--no-heartbeat"]


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


def main():
    local_defaults()
    if os.environ.get("REDIS_URL"):
        redis_server = None
        local_values(DOT_ENV, REDIS_URL=None)  # the redis-server of an earlier run is not running
    else:
        redis_server = start_redis()
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    children = []
    try:
        subprocess.run([*manage, "migrate", "--noinput"], check=True, cwd=BASE_DIR)
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], check=True, cwd=BASE_DIR)
        threads = os.environ.get("WORKER_THREADS", "8")
        children.append(
            subprocess.Popen([*manage, "rundramatiq", "--processes", "1", "--threads", threads], cwd=BASE_DIR)
        )
        children.append(subprocess.Popen([*manage, *SCHEDULER], cwd=BASE_DIR))
        bind = f"127.0.0.1:{os.environ['PORT']}"
        children.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi",
                    "--bind",
                    bind,
                    "--workers",
                    "2",
                    "--threads",
                    "8",
                    "--access-logfile",
                    "-",
                ],
                cwd=BASE_DIR,
            )
        )
        print(
            f"\n  Herald is running at {os.environ['SITE_URL']}/\n"
            f"  Sign up at {os.environ['SITE_URL']}/accounts/signup/ ; the admin is at /admin/\n"
            "  (create a staff account with: .venv/bin/python manage.py createsuperuser)\n"
            "  Emails are printed here by the worker unless EMAIL_URL is set. Ctrl-C stops everything.\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, _interrupt)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("* a child process exited; stopping the rest", flush=True)
    except KeyboardInterrupt:
        print("\n* stopping", flush=True)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        if redis_server is not None:
            redis_server.stop()


if __name__ == "__main__":
    main()
