"""A throwaway PostgreSQL server on 127.0.0.1 for the test suite.

``LocalPostgres(...).start()`` initialises a cluster in a temporary directory
(``initdb``), starts it with ``pg_ctl`` on a free port, and creates a role that
may create databases plus a database of its own; ``url`` is its
``DATABASE_URL``. PostgreSQL refuses to run as root, so when the tests run as
root the server runs as the ``postgres`` system user (Debian's package creates
it) and the data directory belongs to that user.

Durability is traded for speed (``fsync=off``): the cluster is deleted when
the tests end.
"""

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from config.localredis import free_port

SERVER_USER = "postgres"
ROLE = "herald"
DATABASE = "herald"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (or no user to run them as)."""


def server_bin_dir():
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    ``initdb`` on PATH wins; otherwise the newest Debian install under
    /usr/lib/postgresql (Debian's package keeps the server binaries off PATH).
    """
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL is not installed: no initdb on PATH or under /usr/lib/postgresql/*/bin "
            "(make test installs Debian's postgresql package)."
        )
    newest = max(candidates, key=lambda path: int(Path(path).parts[-3]))
    return Path(newest).parent


class LocalPostgres:
    """One PostgreSQL cluster with its data, socket and log in a temporary directory."""

    def __init__(self, port=None):
        self.bin_dir = server_bin_dir()
        self.port = port or free_port()
        self.password = secrets.token_hex(16)
        self.run_as = _server_user()
        self.base_dir = None

    @property
    def url(self):
        return f"postgres://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data_dir(self):
        return self.base_dir / "data"

    @property
    def log_path(self):
        return self.base_dir / "postgres.log"

    def start(self, timeout=60):
        self.base_dir = Path(tempfile.mkdtemp(prefix="herald-postgres-"))
        superuser_password = secrets.token_hex(16)
        password_file = self.base_dir / "superuser-password"
        password_file.write_text(superuser_password + "\n")
        if self.run_as is not None:
            shutil.chown(self.base_dir, user=self.run_as.pw_uid, group=self.run_as.pw_gid)
            shutil.chown(password_file, user=self.run_as.pw_uid, group=self.run_as.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "--pwfile",
            str(password_file),
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        password_file.unlink()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.base_dir}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-o",
            options,
            "-w",
            "-t",
            str(timeout),
            "start",
        )
        self._create_role_and_database(superuser_password)
        return self

    def stop(self):
        """Stop the server at once (rolling back what is open) and delete its files."""
        if self.base_dir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def _create_role_and_database(self, superuser_password):
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            password=superuser_password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN CREATEDB PASSWORD '{self.password}'")
            conn.execute(f"CREATE DATABASE {DATABASE} OWNER {ROLE}")

    def _run(self, program, *args, check=True):
        command = [str(self.bin_dir / program), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as.pw_name, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, cwd=self.base_dir)
        if check and result.returncode != 0:
            log = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise RuntimeError(
                f"{program} exited with {result.returncode}:\n{result.stdout}{result.stderr}{log}"
            )
        return result

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _server_user():
    """The system user the server runs as: ``postgres`` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"PostgreSQL refuses to run as root and there is no '{SERVER_USER}' user to run it as "
            "(Debian's postgresql package creates it)."
        ) from None
