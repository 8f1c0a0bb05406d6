"""The SQLite backend's own tests (test_db_backend.py) are collected only when the suite runs on SQLite."""

from django.conf import settings

collect_ignore = [] if settings.DATABASES["default"]["ENGINE"] == "config.db" else ["test_db_backend.py"]
