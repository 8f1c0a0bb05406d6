"""The tiny benchmarks (test_bench_run.py, test_bench_tasks.py) bring their own SQLite database.

Collected on the SQLite run only.
"""

from django.conf import settings

OWN_DATABASE = ["test_bench_run.py", "test_bench_tasks.py"]
collect_ignore = [] if settings.DATABASES["default"]["ENGINE"] == "config.db" else OWN_DATABASE
