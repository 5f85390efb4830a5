"""The audit log in the admin: read-only, for the Admin role; and the mixin that gives the
customer, deal and inquiry admins their audit trail ("History") and audited deletes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from frontoffice.audit.models import AuditEntry
from frontoffice.audit.services import audit_delete

CHANGES_SHOWN = 120
VIEW_PERMISSION = "frontoffice.view_auditentry"


def audit_log_url(model: type, pk: Any) -> str:
    """The audit log filtered to one record."""
    content_type = ContentType.objects.get_for_model(model)
    query = urlencode({"target_type__id__exact": content_type.pk, "target_id": pk})
    return f"{reverse('admin:frontoffice_auditentry_changelist')}?{query}"


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Who changed what on customers, deals and inquiries. Written by the services only."""

    list_display = ["at", "actor_label", "action", "target_type", "target", "changes_summary"]
    list_filter = [
        ("target_type", admin.RelatedOnlyFieldListFilter),
        "action",
        ("actor", admin.RelatedOnlyFieldListFilter),
        "at",
    ]
    # `target_id__exact`: the record's id exactly (compared as text, so words are no error).
    search_fields = ["target_repr", "target_id__exact", "actor_label", "request_id"]
    date_hierarchy = "at"
    list_select_related = ["actor", "target_type"]
    fields = [
        "at",
        "actor",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "target_repr",
        "changes",
        "request_id",
        "ip_address",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("record"), ordering="target_repr")
    def target(self, entry: AuditEntry) -> str:
        content_type = entry.target_type  # joined: no query per row
        if content_type is None or entry.target_id is None:
            return entry.target_repr
        try:
            url = reverse(
                f"admin:{content_type.app_label}_{content_type.model}_change",
                args=[entry.target_id],
            )
        except NoReverseMatch:
            return entry.target_repr
        return format_html('<a href="{}">{}</a>', url, entry.target_repr)

    @admin.display(description=_("changes"))
    def changes_summary(self, entry: AuditEntry) -> str:
        parts = []
        for name, values in (entry.changes or {}).items():
            if isinstance(values, list) and len(values) == 2:
                parts.append(f"{name}: {values[0]} → {values[1]}")
            else:
                parts.append(f"{name}: {values}")
        return Truncator("; ".join(parts)).chars(CHANGES_SHOWN)


class AuditTrailAdminMixin:
    """For the admins of audited models: deletes are recorded (`audit_fields`: what the entry
    keeps of the deleted record), and "History" opens the record's audit trail for those who may
    read the log (the admin's own change history for everyone else)."""

    audit_fields: tuple[str, ...] = ()

    def delete_model(self, request: HttpRequest, obj) -> None:
        audit_delete(instance=obj, fields=self.audit_fields, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        # One entry per record: the bulk "delete selected" action says what each one held.
        for obj in queryset:
            self.delete_model(request, obj)

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context=None
    ) -> HttpResponse:
        if not request.user.has_perm(VIEW_PERMISSION):
            return super().history_view(request, object_id, extra_context)
        obj = self.get_object(request, unquote(object_id))  # the admin's visibility scope
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        return HttpResponseRedirect(audit_log_url(self.model, obj.pk))
