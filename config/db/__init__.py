"""Herald's SQLite database backend (``ENGINE = "config.db"``): Django's, with writers queued for the write lock."""

from pathlib import Path


def database_settings(database):
    """``database`` (a ``DATABASES`` entry, as django-environ parsed it) as Herald runs it.

    A connection is kept open across jobs and requests: opening one (and
    re-preparing every statement on it) costs a worker more than the job's own
    queries. SQLite gets this backend and the options that let several worker
    threads write job rows: WAL lets readers run beside the writer, IMMEDIATE
    takes the write lock at BEGIN (no deadlocking upgrade from a read lock),
    and the busy timeout queues writers instead of failing them with
    "database is locked".
    """
    if database["ENGINE"] != "django.db.backends.sqlite3":
        database.setdefault("CONN_MAX_AGE", 60)
        database.setdefault("CONN_HEALTH_CHECKS", True)
        return database
    # SQLite creates the file but not its directory (var/ is not in git: a fresh checkout has none).
    Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    database["ENGINE"] = "config.db"
    database["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    database["CONN_MAX_AGE"] = 60
    return database
