"""WSGI entry point (gunicorn config.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Everything loaded so far lives as long as the process: the URLconf (and the
# views and forms it imports) is loaded now rather than by the first request so
# that it is part of it. Moved out of the garbage collector's sight, it is not
# walked again by each full collection, which otherwise stops every request
# thread of the process for tens of milliseconds at a time.
_ = get_resolver().url_patterns
gc.freeze()
