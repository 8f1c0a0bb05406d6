"""The admin's schedule list: each declared schedule, its next run and its last run's job (see docs/admin.md)."""

from collections.abc import Callable

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from jobs import selectors


def schedule_list_view(model_admin: ModelAdmin) -> Callable[[HttpRequest], HttpResponse]:
    """The view for ``model_admin`` (the job admin): the schedule list, for those who may view jobs.

    Read-only (GET only); the job admin serves it through ``admin_site.admin_view``
    (staff only). It formats what ``jobs.selectors.schedule_list`` reads.
    """

    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        context = {
            **model_admin.admin_site.each_context(request),
            "title": "Schedules",
            "opts": model_admin.opts,
            "schedules": selectors.schedule_list(),
        }
        return TemplateResponse(request, "admin/jobs/schedules.html", context)

    return view
