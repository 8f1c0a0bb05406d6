"""The admin's schedule list: every declared schedule, when it runs next, and its last run's job.

Read-only, one GET page beside the job list (``/admin/jobs/job/schedules/``),
served through ``admin_site.admin_view`` (staff only) and shown to whoever
may view jobs. Schedules are declared in code (``jobs.schedules``); the page
formats what ``jobs.selectors.schedule_list`` reads.
"""

from collections.abc import Callable

from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET

from jobs import selectors


def schedule_list_view(model_admin: ModelAdmin) -> Callable[[HttpRequest], HttpResponse]:
    """The view for ``model_admin`` (the job admin): the schedule list, for those who may view jobs."""

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
