"""Cancel in the job admin: the job page's button and the "Cancel selected jobs" action."""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from jobs.models import Job
from jobs.services import cancel_jobs, cancel_message, cancel_refusal

# A bulk cancel of more jobs than this is refused (one request must end before the web server's timeout).
MAX_BULK_CANCEL = 1000
# Per-row messages after a bulk cancel; the rest are summed up in one line.
MAX_ROW_MESSAGES = 20


class CancelAdmin(admin.ModelAdmin):
    """The cancel part of ``JobAdmin`` (its base): the permission, URL, view and action.

    Both controls call ``jobs.services.cancel_jobs``, as ``manage.py jobs
    cancel`` does. Cancelling needs ``jobs.cancel_job``: staff without it see
    neither control, and a POST from them is refused with 403. The button posts
    (with the CSRF token) to a URL wrapped in ``admin_site.admin_view``; nothing
    cancels on a GET.
    """

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.cancel_{self.opts.model_name}")

    def cancelled_by(self, request: HttpRequest) -> str:
        return f"{request.user.get_username()} (admin)"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        cancel_view = self.admin_site.admin_view(require_POST(self.cancel_view))
        return [
            path("<path:object_id>/cancel/", cancel_view, name="{}_{}_cancel".format(*info)),
            *super().get_urls(),
        ]

    def cancel_context(self, request: HttpRequest, job: Job) -> dict[str, Any]:
        """What the job page needs for its cancel button."""
        return {"can_cancel": self.has_cancel_permission(request), "cancel_refusal": cancel_refusal(job)}

    def job_or_missing(self, request: HttpRequest, object_id: str) -> Job | HttpResponseRedirect:
        """The job ``object_id`` names, or a redirect to the job list saying it is gone."""
        job = self.get_object(request, unquote(object_id))
        if job is not None:
            return job
        self.message_user(
            request, f"Job with ID “{object_id}” doesn’t exist. Perhaps it was pruned?", messages.WARNING
        )
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponseRedirect:
        """POST: cancel one job; back to its page, saying what happened."""
        if not (self.has_view_permission(request) and self.has_cancel_permission(request)):
            raise PermissionDenied
        job = self.job_or_missing(request, object_id)
        if not isinstance(job, Job):
            return job
        self.report_cancels(request, *cancel_jobs([job.pk], by=self.cancelled_by(request)))
        return HttpResponseRedirect(
            reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[job.pk])
        )

    @admin.action(description="Cancel selected jobs", permissions=["cancel"])
    def cancel_selected_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        selected = list(queryset.order_by("pk").values_list("pk", flat=True)[: MAX_BULK_CANCEL + 1])
        if len(selected) > MAX_BULK_CANCEL:
            self.message_user(
                request, f"Nothing cancelled: select at most {MAX_BULK_CANCEL} jobs.", messages.ERROR
            )
            return None
        self.report_cancels(request, *cancel_jobs(selected, by=self.cancelled_by(request)))
        return None

    def report_cancels(
        self, request: HttpRequest, cancelled: list[Job], refused: list[tuple[object, str]]
    ) -> None:
        """One message per cancelled or refused job (up to a limit), then a total."""
        for job in cancelled[:MAX_ROW_MESSAGES]:
            self.message_user(request, cancel_message(job), messages.SUCCESS)
        for _, reason in refused[:MAX_ROW_MESSAGES]:
            self.message_user(request, f"Not cancelled: {reason}", messages.WARNING)
        hidden = max(len(cancelled) - MAX_ROW_MESSAGES, 0) + max(len(refused) - MAX_ROW_MESSAGES, 0)
        if hidden:
            level = messages.SUCCESS if cancelled else messages.WARNING
            self.message_user(
                request, f"{len(cancelled)} job(s) cancelled, {len(refused)} refused in all.", level
            )
