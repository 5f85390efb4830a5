"""Admin for the email quarantine: unreadable inbound mail, kept raw, reprocessed or discarded by
a person (permission `reprocess_quarantinedemail`) through the services in ``email_in``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from frontoffice.admin_actions import ReadOnlyAdminMixin
from frontoffice.errors import ApplicationError
from inquiries import email_in
from inquiries.models import QuarantinedEmail

RAW_SHOWN_BYTES = 200_000


@admin.register(QuarantinedEmail)
class QuarantinedEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "source", "status", "short_error", "message_link"]
    list_filter = ["status", "source"]
    search_fields = ["error"]
    date_hierarchy = "received_at"
    ordering = ["-received_at", "-id"]
    list_select_related = ["message"]
    fields = [
        "received_at",
        "source",
        "status",
        "error",
        "reprocessed_at",
        "reprocessed_by",
        "message_link",
        "raw_text",
    ]
    readonly_fields = fields
    actions = ["reprocess_selected", "discard_selected"]

    def get_queryset(self, request):
        # The raw bytes (up to the size cap each) are read when shown, not for every list row.
        return (
            super().get_queryset(request).select_related("reprocessed_by", "message").defer("raw")
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # never lost: a discarded email stays, marked discarded

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("inquiries.reprocess_quarantinedemail")

    @admin.display(description=_("error"))
    def short_error(self, item: QuarantinedEmail) -> str:
        return item.error if len(item.error) <= 120 else f"{item.error[:119]}…"

    @admin.display(description=_("resulting message"))
    def message_link(self, item: QuarantinedEmail) -> str:
        if item.message_id is None:
            return "-"
        label = f"[#{item.message.inquiry_id}] message {item.message_id}"
        try:
            url = reverse("admin:inquiries_inquiry_change", args=[item.message.inquiry_id])
        except NoReverseMatch:  # the inquiry admin is not installed
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description=_("raw message"))
    def raw_text(self, item: QuarantinedEmail) -> str:
        raw = bytes(item.raw)
        shown = raw[:RAW_SHOWN_BYTES].decode("utf-8", errors="replace")
        more = f"\n… {len(raw) - RAW_SHOWN_BYTES} more bytes" if len(raw) > RAW_SHOWN_BYTES else ""
        return format_html(
            '<pre style="white-space: pre-wrap; max-height: 40em; overflow: auto">{}{}</pre>',
            shown,
            more,
        )

    @admin.action(description=_("Reprocess selected emails"), permissions=["reprocess"])
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = still_failing = 0
        for item in queryset.filter(status=QuarantinedEmail.Status.PENDING):
            try:
                result = email_in.quarantine_reprocess(item=item, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{item}: {exc.message}", messages.ERROR)
                continue
            if result.status == QuarantinedEmail.Status.REPROCESSED:
                done += 1
            else:
                still_failing += 1
                self.message_user(request, f"{item}: {result.error}", messages.WARNING)
        self.message_user(
            request,
            _("%(done)d reprocessed, %(failing)d still failing.")
            % {"done": done, "failing": still_failing},
            messages.SUCCESS if not still_failing else messages.WARNING,
        )

    @admin.action(description=_("Discard selected emails"), permissions=["reprocess"])
    def discard_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for item in queryset.filter(status=QuarantinedEmail.Status.PENDING):
            try:
                email_in.quarantine_discard(item=item, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{item}: {exc.message}", messages.ERROR)
                continue
            done += 1
        self.message_user(request, _("%(done)d discarded.") % {"done": done}, messages.SUCCESS)
