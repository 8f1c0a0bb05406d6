"""Herald's settings plus the benchmark's own app: the bare actor and the synchronous signup.

Used only by the processes ``make bench`` starts; the product never loads it.
"""

from config.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
ROOT_URLCONF = "bench.urls"
