"""docker-compose.yml as the tests read it, and the files the image leaves out (.dockerignore)."""

import fnmatch
from pathlib import Path

import yaml

from tests.support.processes import PROJECT_DIR

COMPOSE_TEXT = (PROJECT_DIR / "docker-compose.yml").read_text()


COMPOSE = yaml.safe_load(COMPOSE_TEXT)


SERVICES = COMPOSE["services"]


DJANGO_SERVICES = ("migrate", "web", "worker", "scheduler")


def dockerignore_patterns():
    lines = (PROJECT_DIR / ".dockerignore").read_text().splitlines()
    return [line.strip().strip("/") for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative_path, patterns):
    """Whether .dockerignore leaves ``relative_path`` out: it, or a directory above it, matches a pattern.

    ``**/`` matches any number of directories, none included. Exceptions
    (``!pattern``) are not used, so not handled.
    """
    parts = Path(relative_path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        assert not pattern.startswith("!"), "exceptions in .dockerignore are not handled here"
        for candidate in (pattern, pattern.removeprefix("**/")):
            if any(fnmatch.fnmatchcase(prefix, candidate) for prefix in prefixes):
                return True
    return False
