"""A throwaway RabbitMQ node on 127.0.0.1 for the tests and the benchmark.

``LocalRabbitmq().start()`` runs Debian's ``rabbitmq-server`` as a process of
our own: its own node name, AMQP and distribution ports, data (mnesia) and log
directories, ``HOME`` (for the Erlang cookie) and ``epmd`` on a port of its
own, all on 127.0.0.1. Never through systemd or ``service``: a node the tests
start is one the tests stop, by PID. ``restart()`` keeps the data directory,
so durable queues and persistent messages survive it as in production.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pika
import pika.exceptions

from config.localredis import free_port

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # Debian's; /usr/sbin's wrapper would switch user
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"


class RabbitmqUnavailable(RuntimeError):
    """No RabbitMQ server on this machine (``make test`` installs Debian's rabbitmq-server)."""


def server_binaries():
    """``(rabbitmq-server, rabbitmqctl, epmd)`` paths, or raise RabbitmqUnavailable."""
    epmd = shutil.which("epmd")
    if not (os.access(SERVER, os.X_OK) and os.access(CTL, os.X_OK) and epmd):
        raise RabbitmqUnavailable(
            f"RabbitMQ is not installed: no {SERVER}, {CTL} or epmd (make test installs Debian's rabbitmq-server)."
        )
    return SERVER, CTL, epmd


class LocalRabbitmq:
    """One RabbitMQ node with its data, logs and epmd of its own."""

    def __init__(self, base_dir=None):
        self.server, self.ctl, self.epmd_binary = server_binaries()
        self.base_dir = Path(base_dir or tempfile.mkdtemp(prefix="herald-rabbitmq-"))
        self.port = free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.node = f"herald{self.port}@localhost"
        self.process = None
        self.epmd = None

    @property
    def url(self):
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    @property
    def log_path(self):
        return self.base_dir / "server.log"

    def env(self):
        (self.base_dir / "home").mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "HOME": str(self.base_dir / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base_dir / "log"),
            "RABBITMQ_LOGS": "-",
            "RABBITMQ_CONFIG_FILE": str(self.base_dir / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base_dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.base_dir / "rabbitmq.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self, timeout=60):
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        (self.base_dir / "enabled_plugins").write_text("[].\n")
        env = self.env()
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = subprocess.Popen(
                [self.epmd_binary, "-port", str(self.epmd_port), "-address", "127.0.0.1"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [self.server], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout):
        """Wait until AMQP accepts a connection and ``rabbitmqctl -n NODE status`` says the node runs."""
        deadline = time.monotonic() + timeout
        while not self._amqp_answers():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"rabbitmq-server exited with {self.process.returncode}:\n{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"rabbitmq-server not ready after {timeout} s:\n{self._log_tail()}")
            time.sleep(0.1)
        while self.ctl_run("status", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"rabbitmqctl status failing after {timeout} s:\n{self._log_tail()}")
            time.sleep(0.2)

    def _amqp_answers(self):
        try:
            pika.BlockingConnection(pika.URLParameters(self.url + "?socket_timeout=1")).close()
        except pika.exceptions.AMQPError:
            return False
        return True

    def ctl_run(self, *args, check=True):
        """Run ``rabbitmqctl -n NODE ARGS`` against this node."""
        result = subprocess.run(
            [self.ctl, "-n", self.node, *args], env=self.env(), capture_output=True, text=True, timeout=60
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stdout}{result.stderr}")
        return result

    def close_client_connections(self):
        """Close every client connection from the server side, as a load balancer or an idle timeout would."""
        self.ctl_run("close_all_connections", "closed by the test")

    def stop(self, timeout=30):
        """Stop the node (its data stays for a restart); epmd stays up."""
        if self.process is None or self.process.poll() is not None:
            return
        self.ctl_run("stop", check=False)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def restart(self):
        self.stop()
        return self.start()

    def shutdown(self):
        """Stop the node and its epmd, and delete its files."""
        self.stop()
        if self.epmd is not None and self.epmd.poll() is None:
            self.epmd.terminate()
            self.epmd.wait(10)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def _log_tail(self):
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.shutdown()
