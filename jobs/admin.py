"""The email job admin: every job, a live summary, why one failed, and resend.

Every resend control (the detail page's button, the bulk action and "Resend
all failed") calls ``jobs.services.resend_job`` or ``resend_failed_jobs``,
the path signup's emails take. Resending needs ``jobs.resend_emailjob``; staff
without it see no resend control, and a POST from them is refused with 403.

Built for millions of rows: the list never COUNTs the whole table (a capped
count, no full result count, no facets), search is an indexed prefix or
exact match instead of ``icontains``, sorting is offered only on indexed
columns, and the date drill-down probes the created_at index instead of
listing the distinct dates of every row.
"""

import calendar
from datetime import datetime, timedelta

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from jobs import selectors
from jobs.models import EmailJob
from jobs.services import ResendRefused, check_resendable, resend_failed_jobs, resend_job, resendable_failed_jobs

Status = EmailJob.Status

# A bulk resend of more jobs than this is refused: "Resend all failed" is the tool for that.
MAX_BULK_RESEND = 1000
# Per-row messages after a bulk resend; the rest are summed up in one line.
MAX_ROW_MESSAGES = 20


class LargeTablePaginator(Paginator):
    """A paginator for a table of millions of rows.

    - It counts at most ``count_limit + 1`` rows: past the limit the list
      says "more than 10,000" and offers the first pages; the filters, the
      search and the date drill-down narrow it down.
    - A page is read in two steps, the ids in list order and then their rows,
      so that ordering thousands of search matches sorts ids, not whole rows.
    """

    count_limit = 10_000

    @cached_property
    def count(self):
        # Without ORDER BY the capped subquery walks the filter's own index.
        return self.object_list.order_by()[: self.count_limit + 1].count()

    @property
    def count_is_capped(self):
        return self.count > self.count_limit

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        ids = list(self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        rows = self.object_list.model._default_manager.filter(pk__in=ids)
        rows.query.select_related = self.object_list.query.select_related
        return self._get_page(rows.order_by(*self.object_list.query.order_by), number, self)


class EmailJobChangeList(ChangeList):
    """The changelist, with a date drill-down that probes the index."""

    def get_filters(self, request):
        # Keep the drill-down's own date range apart: probing a day inside a
        # month filtered by that month's range makes SQLite walk the month.
        specs, has_filters, lookups, may_have_duplicates, has_active = super().get_filters(request)
        bounds = [f"{self.date_hierarchy}__gte", f"{self.date_hierarchy}__lt"] if self.date_hierarchy else []
        self.date_range = {key: lookups.pop(key)[-1] for key in bounds if key in lookups}
        return specs, has_filters, lookups, may_have_duplicates, has_active

    def get_queryset(self, request, exclude_parameters=None):
        undated = super().get_queryset(request, exclude_parameters)
        self.undated_queryset = undated
        return undated.filter(**self.date_range)

    def get_ordering_field(self, field_name):
        # A column outside sortable_by is not sorted, even by a hand-written ?o=.
        if field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)

    @cached_property
    def date_drilldown(self):
        """The context of ``admin/date_hierarchy.html``, as Django's own tag builds it.

        Django's tag lists the distinct dates of every matching row (a full
        scan); here the bounds come from two index look-ups and each year,
        month or day offered is one EXISTS probe on the created_at index.
        Search results (a few rows by address or id) get no drill-down.
        """
        if self.query:
            return {"show": False}
        field = self.date_hierarchy
        year, month, day = (self.params.get(f"{field}__{part}") for part in ("year", "month", "day"))
        rows = self.undated_queryset.order_by()

        def link(filters):
            return self.get_query_string(filters, [f"{field}__"])

        def has_rows(start, end):
            return rows.filter(**{f"{field}__gte": start, f"{field}__lt": end}).exists()

        if not year:
            first = rows.order_by(field).values_list(field, flat=True).first()
            last = rows.order_by(f"-{field}").values_list(field, flat=True).first()
            if first is None:
                return {"show": False}
            first, last = timezone.localtime(first), timezone.localtime(last)
            if first.year != last.year:
                years = [y for y in range(first.year, last.year + 1) if has_rows(_local(y), _local(y + 1))]
                return {
                    "show": True,
                    "choices": [{"link": link({f"{field}__year": y}), "title": str(y)} for y in years],
                }
            year = first.year
            if first.month == last.month:
                month = first.month
        year = int(year)
        if month and day:
            shown = datetime(year, int(month), int(day))
            return {
                "show": True,
                "back": {
                    "link": link({f"{field}__year": year, f"{field}__month": month}),
                    "title": formats.date_format(shown, "YEAR_MONTH_FORMAT"),
                },
                "choices": [{"title": formats.date_format(shown, "MONTH_DAY_FORMAT")}],
            }
        if month:
            month = int(month)
            days = range(1, calendar.monthrange(year, month)[1] + 1)
            return {
                "show": True,
                "back": {"link": link({f"{field}__year": year}), "title": str(year)},
                "choices": [
                    {
                        "link": link({f"{field}__year": year, f"{field}__month": month, f"{field}__day": d}),
                        "title": formats.date_format(datetime(year, month, d), "MONTH_DAY_FORMAT"),
                    }
                    for d in days
                    if has_rows(_local(year, month, d), _local(year, month, d) + timedelta(days=1))
                ],
            }
        return {
            "show": True,
            "back": {"link": link({}), "title": "All dates"},
            "choices": [
                {
                    "link": link({f"{field}__year": year, f"{field}__month": m}),
                    "title": formats.date_format(datetime(year, m, 1), "YEAR_MONTH_FORMAT"),
                }
                for m in range(1, 13)
                if has_rows(_local(year, m), _local(year + m // 12, m % 12 + 1))
            ],
        }


def _local(year, month=1, day=1):
    return timezone.make_aware(datetime(year, month, day))


@admin.register(EmailJob)
class EmailJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "recipient",
        "user_link",
        "status_badge",
        "attempts",
        "short_error",
        "created_at",
        "last_attempt_at",
        "finished_at",
    ]
    list_display_links = ["id", "recipient"]
    list_filter = ["status", "created_at"]
    list_select_related = ["user"]
    list_per_page = 100
    search_fields = ["recipient", "message_id"]
    search_help_text = "An email address or its beginning, a Dramatiq message id, or a job id."
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    # Only indexed columns: sorting a million rows by anything else is a full sort.
    sortable_by = ["id", "created_at"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = LargeTablePaginator
    actions = ["resend_selected_failed_jobs"]
    change_list_template = "admin/jobs/emailjob/change_list.html"
    change_form_template = "admin/jobs/emailjob/change_form.html"

    # Jobs are a record: nobody adds or edits one, and ``jobs prune`` deletes them.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resend_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.resend_{self.opts.model_name}")

    def get_changelist(self, request, **kwargs):
        return EmailJobChangeList

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(selectors.job_search_q(search_term)), False

    # Columns ---------------------------------------------------------------

    @admin.display(description="user")
    def user_link(self, job):
        if job.user_id is None:
            return "–"
        url = reverse("admin:accounts_user_change", args=[job.user_id])
        state = "active" if job.user.is_active else "not activated"
        return format_html('<a href="{}" title="{}">#{} {}</a>', url, job.user.email, job.user_id, state)

    @admin.display(description="status")
    def status_badge(self, job):
        return format_html('<span class="job-status job-status-{}">{}</span>', job.status, job.get_status_display())

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
                name="%s_%s_resend_failed" % info,
            ),
            path(
                "<path:object_id>/resend/",
                self.admin_site.admin_view(require_POST(self.resend_view)),
                name="%s_%s_resend" % info,
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        context = {
            "summary": selectors.stats(),
            "chart": hourly_chart(selectors.hourly_outcomes()),
            "can_resend": self.has_resend_permission(request),
            **(extra_context or {}),
        }
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
            "attempts": job.attempt_set.order_by("number"),
            "resends": job.resends.order_by("id"),
            "stored_result": selectors.stored_result(job),
            "can_resend": self.has_resend_permission(request),
            "resend_refusal": refusal(job),
        }

    def resend_view(self, request, object_id):
        """POST: resend one failed job; show the new job, or why not."""
        if not (self.has_view_permission(request) and self.has_resend_permission(request)):
            raise PermissionDenied
        job = self.get_object(request, unquote(object_id))
        if job is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
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
            resent, refused = resend_failed_jobs()
            self.report_resends(request, resent, refused)
            return HttpResponseRedirect(changelist_url)
        resendable = resendable_failed_jobs().count()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Resend all failed email jobs",
            "resendable": resendable,
            "skipped": EmailJob.objects.filter(status=Status.FAILED).count() - resendable,
            "changelist_url": changelist_url,
        }
        return TemplateResponse(request, "admin/jobs/emailjob/resend_failed_confirmation.html", context)

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
        resent, refused = [], []
        for job in EmailJob.objects.filter(pk__in=selected).order_by("pk"):
            try:
                resent.append((job, resend_job(job)))
            except ResendRefused as exc:
                refused.append((job, str(exc)))
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
            'Job {} to {} resent as <a href="{}">job {}</a>.', job.pk, job.recipient, self.job_url(new_job), new_job.pk
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


def hourly_chart(hours, *, width=720, height=120):
    """Geometry of the sent/failed-per-hour bar chart, drawn as inline SVG by the template.

    Each hour is one bar: sent (bottom) stacked under failed (top), scaled to
    the busiest hour.
    """
    peak = max((hour["sent"] + hour["failed"] for hour in hours), default=0) or 1
    slot = width / max(len(hours), 1)
    bars = []
    for n, hour in enumerate(hours):
        sent_h = hour["sent"] / peak * height
        failed_h = hour["failed"] / peak * height
        bars.append(
            {
                "x": round(n * slot + 1, 1),
                "width": round(slot - 2, 1),
                "sent_y": round(height - sent_h, 1),
                "sent_h": round(sent_h, 1),
                "failed_y": round(height - sent_h - failed_h, 1),
                "failed_h": round(failed_h, 1),
                "label": timezone.localtime(hour["start"]).strftime("%H:00"),
                "sent": hour["sent"],
                "failed": hour["failed"],
                "tick": n % 3 == 0,
                "tick_x": round(n * slot + slot / 2, 1),
            }
        )
    return {
        "bars": bars,
        "width": width,
        "height": height,
        "peak": peak if any(hour["sent"] or hour["failed"] for hour in hours) else 0,
        "sent": sum(hour["sent"] for hour in hours),
        "failed": sum(hour["failed"] for hour in hours),
    }


def _unregister_django_dramatiq_admin():
    """django-dramatiq's task admin renders message data with mark_safe (stored XSS); hide it."""
    from django_dramatiq.models import Task

    if admin.site.is_registered(Task):
        admin.site.unregister(Task)


_unregister_django_dramatiq_admin()
