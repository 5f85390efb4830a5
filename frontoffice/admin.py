"""Admin for KPI snapshots (the figures as tables) and the runs that compute them.

Both are history, written only by the runs; the "recompute" action queues a new run for each
selected period and scope (``frontoffice.compute_kpis``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.db.models.fields.json import KT
from django.http import HttpRequest
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from frontoffice.admin_actions import ReadOnlyAdminMixin
from frontoffice.audit import admin as audit_admin  # noqa: F401 (registers the audit log)
from frontoffice.errors import ApplicationError
from frontoffice.kpis import engine, snapshots
from frontoffice.models import KpiRun, KpiSnapshot

# --- The figures as tables ----------------------------------------------------------------------


def _cell(value: Any) -> SafeString:
    """A value in a table cell: small dicts inline (`USD: 1200.00, EUR: 300.00`)."""
    if value is None:
        return mark_safe("&mdash;")
    if isinstance(value, dict):
        return format_html_join(", ", "{}: {}", ((key, _cell(value[key])) for key in sorted(value)))
    if isinstance(value, list):
        return format_html_join(", ", "{}", ((_cell(item),) for item in value))
    return conditional_escape(value)


# Columns that name a row come first; the rest alphabetically (PostgreSQL's jsonb does not keep
# the order the keys were written in, and both databases must show the same table).
LEADING_COLUMNS = ("stage", "from", "to", "kind", "rep", "campaign", "name")


def _column_order(key: str) -> tuple[int, str]:
    return (LEADING_COLUMNS.index(key) if key in LEADING_COLUMNS else len(LEADING_COLUMNS), key)


def _rows_table(rows: list[dict]) -> SafeString:
    columns = sorted({key for row in rows for key in row}, key=_column_order)
    head = format_html_join("", "<th>{}</th>", ((column,) for column in columns))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        (
            (format_html_join("", "<td>{}</td>", ((_cell(row.get(c)),) for c in columns)),)
            for row in rows
        ),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def _pairs_table(pairs: dict) -> SafeString:
    body = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td></tr>",
        ((key, _cell(pairs[key])) for key in sorted(pairs, key=_column_order)),
    )
    return format_html("<table><tbody>{}</tbody></table>", body)


def figures_html(values: dict) -> SafeString:
    """Each family as a heading, its single figures as one table and each list as a table."""
    parts: list[SafeString] = []
    for family in [*engine.FAMILIES, *(name for name in values if name not in engine.FAMILIES)]:
        if family == "bottleneck" or family not in values:
            continue
        figures = values[family]
        parts.append(format_html("<h3>{}</h3>", family))
        if not isinstance(figures, dict) or not figures:
            parts.append(format_html("<p>{}</p>", _("Nothing measured.")))
            continue
        singles = {k: v for k, v in figures.items() if not isinstance(v, list)}
        if singles:
            parts.append(_pairs_table(singles))
        for key, items in figures.items():
            if not isinstance(items, list):
                continue
            parts.append(format_html("<h4>{}</h4>", key))
            if items and all(isinstance(item, dict) for item in items):
                parts.append(_rows_table(items))
            else:
                parts.append(format_html("<p>{}</p>", _cell(items) if items else _("None.")))
    return format_html_join("", "{}", ((part,) for part in parts))


# --- Recompute ----------------------------------------------------------------------------------


def _recompute(modeladmin: admin.ModelAdmin, request: HttpRequest, records: QuerySet[Any]) -> None:
    queued = 0
    for record in records:
        try:
            snapshots.kpi_run_queue(
                period=snapshots.period_of(record),
                scope=snapshots.scope_of(record),
                actor=request.user,
            )
            queued += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{record}: {exc.message}", messages.ERROR)
    modeladmin.message_user(
        request, _("Queued %(count)d KPI run(s).") % {"count": queued}, messages.SUCCESS
    )


class _RecomputeMixin:
    def has_compute_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("frontoffice.compute_kpis")

    @admin.action(
        description=_("Recompute the selected periods and scopes"), permissions=["compute"]
    )
    def recompute(self, request, queryset):
        _recompute(self, request, queryset)


# --- Snapshots ----------------------------------------------------------------------------------


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(_RecomputeMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "period",
        "period_kind",
        "scope",
        "computed_at",
        "duration_ms",
        "definition_version",
        "bottleneck",
    ]
    list_filter = ["period_kind", "scope_kind", "definition_version"]
    search_fields = ["scope_key"]
    date_hierarchy = "period_start"
    actions = ["recompute"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "period",
                    "period_kind",
                    "period_start",
                    "period_end",
                    "scope",
                    "definition_version",
                    "computed_at",
                    "duration_ms",
                ]
            },
        ),
        (_("Bottleneck"), {"fields": ["bottleneck_details"]}),
        (_("Figures"), {"fields": ["figures"]}),
        (_("Raw values (JSON)"), {"fields": ["values"], "classes": ["collapse"]}),
    ]
    readonly_fields = [
        "period",
        "period_kind",
        "period_start",
        "period_end",
        "scope",
        "definition_version",
        "computed_at",
        "duration_ms",
        "bottleneck_details",
        "figures",
        "values",
    ]

    def get_queryset(self, request):
        # The list shows one sentence of the values: read it in SQL, not the whole document.
        return (
            super()
            .get_queryset(request)
            .annotate(bottleneck_text=KT("values__bottleneck__text"))
            .defer("values")
        )

    @admin.display(description=_("period"), ordering="period_start")
    def period(self, obj: KpiSnapshot) -> str:
        return snapshots.period_of(obj).label

    @admin.display(description=_("scope"), ordering="scope_kind")
    def scope(self, obj: KpiSnapshot) -> str:
        return f"{obj.scope_kind} {obj.scope_key}".strip()

    @admin.display(description=_("bottleneck"))
    def bottleneck(self, obj: KpiSnapshot) -> str:
        return obj.bottleneck_text or "—"

    @admin.display(description=_("bottleneck"))
    def bottleneck_details(self, obj: KpiSnapshot) -> SafeString:
        found = obj.values.get("bottleneck")
        if not found:
            return format_html("<p>{}</p>", _("None: nothing is worse than its baseline."))
        figures = {key: value for key, value in found.items() if key != "text"}
        return format_html("<p><strong>{}</strong></p>{}", found.get("text"), _pairs_table(figures))

    @admin.display(description=_("figures"))
    def figures(self, obj: KpiSnapshot) -> SafeString:
        return figures_html(obj.values)


# --- Runs ---------------------------------------------------------------------------------------


@admin.register(KpiRun)
class KpiRunAdmin(_RecomputeMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "period",
        "scope",
        "status",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "snapshot",
    ]
    list_filter = ["status", "period_kind", "scope_kind", "created_at"]
    search_fields = ["scope_key", "error"]
    list_select_related = ["requested_by", "snapshot"]
    date_hierarchy = "created_at"
    actions = ["recompute"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("snapshot__values")

    @admin.display(description=_("period"), ordering="period_start")
    def period(self, obj: KpiRun) -> str:
        return snapshots.period_of(obj).label

    @admin.display(description=_("scope"), ordering="scope_kind")
    def scope(self, obj: KpiRun) -> str:
        return f"{obj.scope_kind} {obj.scope_key}".strip()
