from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from jobs.views.health import healthz
from jobs.views.metrics import metrics

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="accounts:signup", permanent=False)),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("healthz/", healthz, name="healthz"),
    path("metrics/", metrics, name="metrics"),
]
