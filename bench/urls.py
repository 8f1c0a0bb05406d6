"""Herald's URLs plus the synchronous signup baseline."""

from django.urls import path

from bench.views import signup_sending_inline
from config.urls import urlpatterns as herald_urlpatterns

urlpatterns = [
    *herald_urlpatterns,
    path("bench/signup-inline/", signup_sending_inline, name="bench_signup_inline"),
]
