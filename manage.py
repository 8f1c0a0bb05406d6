#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

In a checkout it reads the git-ignored ``.env`` (creating it, with a fresh
secret key, when missing), so every command works with nothing exported.
``DJANGO_READ_DOT_ENV=false`` (set in the Docker image) turns that off.
"""

import os
import sys

import environ

from config.dotenv import ensure_local_env


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_READ_DOT_ENV", "true")
    if environ.Env().bool("DJANGO_READ_DOT_ENV"):
        ensure_local_env()
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A missing or wrong setting: say which, without a traceback.
        sys.exit(f"Configuration error: {exc}")


if __name__ == "__main__":
    main()
