"""The job list for millions of rows: paging, the date drill-down and the hourly chart."""

import calendar
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Page, Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.functional import cached_property


class LargeTablePaginator(Paginator):
    """A paginator for a table of millions of rows.

    - It counts at most ``count_limit + 1`` rows: past the limit the list
      says "more than 10,000" and offers the first pages; the filters, the
      search and the date drill-down narrow it down.
    - A page is read in two steps, the ids in list order and then their rows,
      so that ordering thousands of search matches sorts ids, not whole rows.
    """

    object_list: QuerySet[Any]
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
        return Page(rows.order_by(*self.object_list.query.order_by), number, self)


class JobChangeList(ChangeList):
    """The job changelist: a date drill-down that probes the index, sorting on indexed columns only."""

    sortable_by: Sequence[str]

    def get_filters(self, request):
        # Keep the drill-down's own date range apart: probing a day inside a
        # month filtered by that month's range makes SQLite walk the month.
        specs, has_filters, lookups, may_have_duplicates, has_active = super().get_filters(request)
        bounds = [f"{self.date_hierarchy}__gte", f"{self.date_hierarchy}__lt"] if self.date_hierarchy else []
        self.date_range = {key: lookups.pop(key)[-1] for key in bounds if key in lookups}  # type: ignore[index]
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
        month or day offered is one probe of the created_at index, all
        of a page's probes in one statement.
        Search results (a few rows by address or id) get no drill-down.
        """
        if self.query:
            return {"show": False}
        field = self.date_hierarchy
        year, month, day = (self.params.get(f"{field}__{part}") for part in ("year", "month", "day"))
        if not year:
            first, last = self._date_bounds()
            if first is None:
                return {"show": False}
            if first.year != last.year:
                return self._years(first.year, last.year)
            year, month = first.year, (first.month if first.month == last.month else None)
        if month and day:
            return self._one_day(int(year), int(month), int(day))
        if month:
            return self._days(int(year), int(month))
        return self._months(int(year))

    def _date_bounds(self):
        rows = self.undated_queryset.values_list(self.date_hierarchy, flat=True)
        first = rows.order_by(self.date_hierarchy).first()
        last = rows.order_by(f"-{self.date_hierarchy}").first()
        if first is None:
            return None, None
        return timezone.localtime(first), timezone.localtime(last)

    def _with_rows(self, periods):
        """Which of ``periods`` (``[(start, end)]``) hold a row: one statement, one probe per period.

        One round trip, not one per day of a month: on a loaded PostgreSQL
        each round trip waits for the server's turn at a core. Each probe
        reads the first row of its period in date order (a subquery, not
        EXISTS, from which PostgreSQL drops the order), so that PostgreSQL
        walks the index from ``start`` rather than scanning the table in the
        hope of an early match.
        """
        if not periods:
            return []
        field = self.date_hierarchy
        parts: list[str] = []
        params: list[Any] = []
        for start, end in periods:
            probe = self.undated_queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})
            sql, probe_params = probe.order_by(field).values(field)[:1].query.sql_with_params()
            parts.append(f"({sql}) IS NOT NULL")
            params.extend(probe_params)
        with connections[self.undated_queryset.db].cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(parts)}", params)
            return [bool(found) for found in cursor.fetchone()]

    def _link(self, year=None, month=None, day=None):
        parts = {"year": year, "month": month, "day": day}
        filters = {
            f"{self.date_hierarchy}__{part}": value for part, value in parts.items() if value is not None
        }
        return self.get_query_string(filters, [f"{self.date_hierarchy}__"])

    def _years(self, first, last):
        candidates = list(range(first, last + 1))
        found = self._with_rows([(_local(y), _local(y + 1)) for y in candidates])
        years = [y for y, has_rows in zip(candidates, found, strict=True) if has_rows]
        return {"show": True, "choices": [{"link": self._link(y), "title": str(y)} for y in years]}

    def _months(self, year):
        found = self._with_rows([(_local(year, m), _local(year + m // 12, m % 12 + 1)) for m in range(1, 13)])
        months = [m for m, has_rows in zip(range(1, 13), found, strict=True) if has_rows]
        return {
            "show": True,
            "back": {"link": self._link(), "title": "All dates"},
            "choices": [
                {
                    "link": self._link(year, m),
                    "title": formats.date_format(datetime(year, m, 1), "YEAR_MONTH_FORMAT"),
                }
                for m in months
            ],
        }

    def _days(self, year, month):
        last_day = calendar.monthrange(year, month)[1]
        candidates = range(1, last_day + 1)
        found = self._with_rows([(_local(year, month, d), _local(year, month, d + 1)) for d in candidates])
        days = [d for d, has_rows in zip(candidates, found, strict=True) if has_rows]
        return {
            "show": True,
            "back": {"link": self._link(year), "title": str(year)},
            "choices": [
                {
                    "link": self._link(year, month, d),
                    "title": formats.date_format(datetime(year, month, d), "MONTH_DAY_FORMAT"),
                }
                for d in days
            ],
        }

    def _one_day(self, year, month, day):
        shown = datetime(year, month, day)
        return {
            "show": True,
            "back": {
                "link": self._link(year, month),
                "title": formats.date_format(shown, "YEAR_MONTH_FORMAT"),
            },
            "choices": [{"title": formats.date_format(shown, "MONTH_DAY_FORMAT")}],
        }


def _local(year, month=1, day=1):
    """Midnight starting that day in the current time zone; ``day`` may be one past the month's end."""
    return timezone.make_aware(datetime(year, month, 1)) + timedelta(days=day - 1)


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
