"""The git-ignored ``.env`` of a checkout: the local settings ``make run`` and ``manage.py`` share.

Pure standard library, so that ``manage.py`` and the runner can use it before Django is set up.
"""

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOT_ENV = BASE_DIR / ".env"
# Where `make run` kept its key before the .env existed; taken over so sessions survive the move.
OLD_KEY_FILE = BASE_DIR / "var" / "secret_key"

# What a checkout needs besides a secret key, for manage.py run on its own (make run writes its own).
LOCAL_DEFAULTS = {"ALLOWED_HOSTS": "127.0.0.1,localhost", "SITE_URL": "http://127.0.0.1:8000"}

HEADER = "# Local settings for this checkout (make run, manage.py). Git-ignored; never used in production.\n"


def read_values(path):
    """The ``NAME=value`` lines of ``path`` as a dict (empty when there is no file)."""
    values = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not name.lstrip().startswith("#"):
            values[name.strip()] = value.strip()
    return values


def local_values(path, **updates):
    """Write ``updates`` into ``path`` and return every value in it.

    Created with owner-only permissions when missing. A secret key already
    in the file is kept; without one, a fresh random key is added (or the
    one ``make run`` used to keep in var/secret_key). Other lines, a
    developer's own included, are kept as they are; a value of None removes
    its name.
    """
    values = read_values(path)
    if not values.get("SECRET_KEY"):
        old_key = OLD_KEY_FILE.read_text().strip() if path == DOT_ENV and OLD_KEY_FILE.exists() else ""
        updates.setdefault("SECRET_KEY", old_key or secrets.token_urlsafe(50))
    if path.exists() and all(values.get(name) == value for name, value in updates.items()):
        return values
    lines = path.read_text().splitlines() if path.exists() else [HEADER.rstrip("\n")]
    kept = [line for line in lines if line.partition("=")[0].strip() not in updates]
    added = [f"{name}={value}" for name, value in updates.items() if value is not None]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write("\n".join(kept + added) + "\n")
    return read_values(path)


def ensure_local_env(path=DOT_ENV):
    """Create ``path`` with a fresh secret key and ``LOCAL_DEFAULTS`` when it is missing; a file there is left alone."""
    if not path.exists():
        local_values(path, **LOCAL_DEFAULTS)
