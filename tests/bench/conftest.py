"""The tiny benchmark (test_bench_run.py) brings its own SQLite database: collected on the SQLite run only."""

from django.conf import settings

collect_ignore = [] if settings.DATABASES["default"]["ENGINE"] == "config.db" else ["test_bench_run.py"]
