"""The job admin: every job of every task, a live summary, why one failed, resend and cancel (see docs/admin.md)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jobs import selectors
from jobs.admin.cancel import CancelAdmin
from jobs.admin.changelist import JobChangeList, LargeTablePaginator, hourly_chart
from jobs.admin.schedules import schedule_list_view
from jobs.models import Job
from jobs.services import (
    ResendRefused,
    check_resendable,
    resend_failed_jobs,
    resend_job,
    resend_jobs,
    resendable_failed_jobs,
)

# A bulk resend of more jobs than this is refused: "Resend all failed" is the tool for that.
MAX_BULK_RESEND = 1000
# Per-row messages after a bulk resend; the rest are summed up in one line.
MAX_ROW_MESSAGES = 20


class TaskFilter(admin.SimpleListFilter):
    """Jobs of one task; the tasks listed are read from the (task, status) index."""

    title = "task"
    parameter_name = "task"

    def lookups(self, request, model_admin):
        return [(path, path.rpartition(".")[2]) for path in selectors.task_paths()]

    def queryset(self, request, queryset):
        return queryset.filter(task_path=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(CancelAdmin):
    """Jobs, read-only, with resend and cancel (``CancelAdmin``, needing ``jobs.cancel_job``).

    Every resend control (the page's button, the bulk action, "Resend all failed") calls
    ``jobs.services.resend_job`` or ``resend_failed_jobs``. Resending needs ``jobs.resend_job``:
    staff without it see no resend control, and a POST from them is refused with 403.
    The list never counts the whole table (``LargeTablePaginator``, no full result count, no
    facets) and searches and sorts on indexes only (``jobs.admin.changelist``).
    """

    list_display = [
        "id",
        "task_name",
        "label",
        "status_badge",
        "attempt_count",
        "short_error",
        "created_at",
        "last_attempt_at",
        "finished_at",
    ]
    list_display_links = ["id", "task_name"]
    list_filter = ["status", TaskFilter, "created_at"]
    list_per_page = 50
    search_fields = ["label", "message_id"]
    search_help_text = (
        "The beginning of a job's first text argument (for an email, the address), a Dramatiq message id, "
        "a job id or a result id."
    )
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    # Only indexed columns: sorting a million rows by anything else is a full sort.
    sortable_by = ["id", "created_at"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = LargeTablePaginator
    actions = ["resend_selected_failed_jobs", "cancel_selected_jobs"]
    change_list_template = "admin/jobs/job/change_list.html"
    change_form_template = "admin/jobs/job/change_form.html"

    # Jobs are a record: nobody adds or edits one, and ``jobs prune`` deletes them.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.resend_{self.opts.model_name}")

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Job | None:
        """The job at ``object_id``: its row number (the admin's URLs use it) or its result id."""
        if from_field is None and not object_id.isdigit() and (job := selectors.job_by_id(object_id)):
            object_id = str(job.pk)
        return super().get_object(request, object_id, from_field)

    def get_changelist(self, request, **kwargs):
        return JobChangeList

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(selectors.job_search_q(search_term)), False

    # Columns ---------------------------------------------------------------

    def action_checkbox(self, job):
        """Django's row checkbox, written out: the form widget renders a template per row."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            job.pk,
            _("Select this object for an action - {}").format(job),
        )

    @admin.display(description="task")
    def task_name(self, job):
        return format_html('<span title="{}">{}</span>', job.task_path, job.task_name)

    @admin.display(description="status")
    def status_badge(self, job):
        return format_html(
            '<span class="job-status job-status-{}">{}</span>', job.status, job.get_status_display()
        )

    @admin.display(description="last error")
    def short_error(self, job):
        if not job.last_error:
            return ""
        return format_html('<span title="{}">{}</span>', job.last_error, Truncator(job.last_error).chars(70))

    # Pages -----------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "resend-failed/",
                self.admin_site.admin_view(self.resend_failed_view),
                name="{}_{}_resend_failed".format(*info),
            ),
            path(
                "<path:object_id>/resend/",
                self.admin_site.admin_view(require_POST(self.resend_view)),
                name="{}_{}_resend".format(*info),
            ),
            path(
                "schedules/",
                self.admin_site.admin_view(schedule_list_view(self)),
                name=f"{info[0]}_schedules",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        context = dict(extra_context or {})
        if self.has_view_or_change_permission(request):  # else Django answers 403 without reading a thing
            task = request.GET.get(TaskFilter.parameter_name) or None  # the summary follows the task filter
            context.update(
                summary=selectors.stats(task=task, count_limit=LargeTablePaginator.count_limit),
                count_limit=LargeTablePaginator.count_limit,
                summary_task=task,
                chart=hourly_chart(selectors.hourly_outcomes(task=task)),
                can_resend=self.has_resend_permission(request),
            )
        return super().changelist_view(request, extra_context=context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, unquote(object_id))
        context = dict(extra_context or {})
        if job is not None:
            context.update(self.detail_context(request, job))
        return super().change_view(request, object_id, form_url, extra_context=context)

    def detail_context(self, request, job):
        return {
            "job": job,
            "attempts": job.attempts.order_by("number"),
            "resends": job.resends.order_by("id"),
            "can_resend": self.has_resend_permission(request),
            "resend_refusal": refusal(job),
            **self.cancel_context(request, job),
        }

    def resend_view(self, request, object_id):
        """POST: resend one failed job; show the new job, or why not."""
        if not (self.has_view_permission(request) and self.has_resend_permission(request)):
            raise PermissionDenied
        job = self.job_or_missing(request, object_id)
        if not isinstance(job, Job):
            return job
        try:
            new_job = resend_job(job)
        except ResendRefused as exc:
            self.message_user(request, f"Not resent: {exc}", messages.ERROR)
            return HttpResponseRedirect(self.job_url(job))
        self.message_user(request, self.resent_message(job, new_job), messages.SUCCESS)
        return HttpResponseRedirect(self.job_url(new_job))

    def resend_failed_view(self, request):
        """GET: how many failed jobs a resend would send again; POST: resend them all."""
        if not (self.has_view_permission(request) and self.has_resend_permission(request)):
            raise PermissionDenied
        changelist_url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        if request.method == "POST":
            # Bounded per request, so that a long backlog cannot outlast the web server's timeout.
            resent, refused = resend_failed_jobs(limit=MAX_BULK_RESEND)
            self.report_resends(request, resent, refused)
            remaining = resendable_failed_jobs().count()
            if remaining:
                self.message_user(
                    request,
                    f"{remaining} more failed job(s) remain: use “Resend all failed” again to send the next "
                    f"{MAX_BULK_RESEND}.",
                    messages.WARNING,
                )
            return HttpResponseRedirect(changelist_url)
        resendable = resendable_failed_jobs().count()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Resend all failed jobs",
            "resendable": resendable,
            "skipped": Job.objects.filter(status=Job.Status.FAILED).count() - resendable,
            "changelist_url": changelist_url,
        }
        return TemplateResponse(request, "admin/jobs/job/resend_failed_confirmation.html", context)

    @admin.action(description="Resend selected failed jobs", permissions=["resend"])
    def resend_selected_failed_jobs(self, request, queryset):
        selected = list(queryset.order_by("pk").values_list("pk", flat=True)[: MAX_BULK_RESEND + 1])
        if len(selected) > MAX_BULK_RESEND:
            self.message_user(
                request,
                f"Nothing resent: select at most {MAX_BULK_RESEND} jobs, or use “Resend all failed”.",
                messages.ERROR,
            )
            return None
        resent, refused = resend_jobs(Job.objects.filter(pk__in=selected).order_by("pk"))
        self.report_resends(request, resent, refused)
        return None

    def report_resends(self, request, resent, refused):
        """One message per resent or refused job (up to a limit), then a total."""
        for job, new_job in resent[:MAX_ROW_MESSAGES]:
            self.message_user(request, self.resent_message(job, new_job), messages.SUCCESS)
        for job, reason in refused[:MAX_ROW_MESSAGES]:
            self.message_user(request, f"Job {job.pk} not resent: {reason}", messages.WARNING)
        hidden = max(len(resent) - MAX_ROW_MESSAGES, 0) + max(len(refused) - MAX_ROW_MESSAGES, 0)
        if hidden or not (resent or refused):
            level = messages.SUCCESS if resent else messages.WARNING
            self.message_user(request, f"{len(resent)} job(s) resent, {len(refused)} refused in all.", level)

    def resent_message(self, job, new_job):
        return format_html(
            'Job {} ({} {}) resent as <a href="{}">job {}</a>.',
            job.pk,
            job.task_name,
            job.label,
            self.job_url(new_job),
            new_job.pk,
        )

    def job_url(self, job):
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[job.pk])


def refusal(job):
    """Why ``job`` may not be resent, or None if it may."""
    try:
        check_resendable(job)
    except ResendRefused as exc:
        return str(exc)
    return None


def _unregister_django_dramatiq_admin():
    """django-dramatiq's task admin renders message data with mark_safe (stored XSS); hide it."""
    from django_dramatiq.models import Task

    if admin.site.is_registered(Task):
        admin.site.unregister(Task)


_unregister_django_dramatiq_admin()
