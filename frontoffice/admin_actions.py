"""Admin pieces every app shares: read-only history tables, actions with a form step, and
CSV exports."""

from __future__ import annotations

from collections.abc import Sequence

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontoffice.csv_safety import csv_download


class ReadOnlyAdminMixin:
    """History tables: visible to those who may view them, written only by services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def run_action_form(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    form: forms.Form,
    *,
    title: str,
    action: str,
) -> HttpResponse:
    """The intermediate page of an admin action that asks for more input (a form) first."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "action": action,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/action_form.html", context)


def export_csv_action(*, file_prefix: str, columns: Sequence[tuple[str, str]]):
    """An admin action that downloads the selected rows as CSV: `columns` are (header, field
    path) pairs read with one `values_list` query. The rows are the ones the admin's own
    `get_queryset` lets the user see; cells go through `frontoffice.csv_safety`, so text that
    would start a spreadsheet formula is escaped."""
    headers = [header for header, _path in columns]
    paths = [path for _header, path in columns]

    @admin.action(description=_("Export selected as CSV"), permissions=["view"])
    def export_csv(modeladmin, request, queryset):
        rows = queryset.order_by("pk").values_list(*paths).iterator(chunk_size=2000)
        file_name = f"{file_prefix}-{timezone.localdate():%Y-%m-%d}.csv"
        return csv_download(file_name=file_name, header=headers, rows=rows)

    return export_csv
