"""The tiny benchmarks (test_bench_run.py, test_bench_tasks.py, test_bench_admin.py) bring their own databases.

Collected on the SQLite run only.
"""

from django.conf import settings

OWN_DATABASE = ["test_bench_run.py", "test_bench_tasks.py", "test_bench_admin.py"]
collect_ignore = [] if settings.DATABASES["default"]["ENGINE"] == "config.db" else OWN_DATABASE
