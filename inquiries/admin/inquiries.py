"""Admin for inquiries, their thread and history, saved replies and inbound channels.

The inquiry list is scoped by the same selectors as the API; writes (open, edit, move, assign,
take, log a call) go through the same services, so the same rules and history rows apply.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from frontoffice.admin_actions import ReadOnlyAdminMixin, export_csv_action, run_action_form
from frontoffice.audit.admin import AuditTrailAdminMixin
from frontoffice.errors import ApplicationError
from inquiries import channels, services
from inquiries.api.inquiries import sla_state_of
from inquiries.models import (
    InboundChannel,
    Inquiry,
    InquiryAssignment,
    InquiryStatus,
    InquiryStatusChange,
    Message,
    PhoneCall,
    SavedReply,
)
from inquiries.selectors import inquiries_visible_to, inquiries_workable_by


def _error_text(exc: ApplicationError) -> str:
    detail = "; ".join(message for errors in exc.errors.values() for message in errors)
    return detail or exc.message


# --- Inlines ------------------------------------------------------------------------------------


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(_ReadOnlyInline):
    model = Message
    fields = ["created_at", "direction", "channel", "author_user", "author_contact", "body"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    verbose_name_plural = _("thread (messages)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author_user", "author_contact")


class StatusChangeInline(_ReadOnlyInline):
    model = InquiryStatusChange
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name_plural = _("status history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class AssignmentInline(_ReadOnlyInline):
    model = InquiryAssignment
    fields = ["created_at", "from_assignee", "to_assignee", "team", "actor", "rule", "note"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name_plural = _("assignments")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("from_assignee", "to_assignee", "team", "actor", "rule")
        )


# --- Action forms -------------------------------------------------------------------------------


class InquiryMoveForm(forms.Form):
    to_status = forms.ChoiceField(
        choices=[(v, label) for v, label in InquiryStatus.choices if v != InquiryStatus.ESCALATED],
        label=_("Move to status"),
    )
    note = forms.CharField(
        max_length=services.NOTE_MAX_LENGTH,
        required=False,
        label=_("Reason"),
        help_text=_("Needed to close an unresolved inquiry and to reopen a resolved one."),
    )


class InquiryAssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=None, required=False, label=_("Assignee"), help_text=_("Empty: unassign.")
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(),
        required=False,
        label=_("Team"),
        help_text=_("Empty: keep the inquiry's team."),
    )
    note = forms.CharField(max_length=500, required=False, label=_("Note"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = channels.agents().order_by("username")


class PhoneCallForm(forms.Form):
    direction = forms.ChoiceField(choices=PhoneCall.Direction.choices)
    duration_seconds = forms.IntegerField(min_value=0, max_value=24 * 3600)
    outcome = forms.ChoiceField(choices=PhoneCall.Outcome.choices)
    notes = forms.CharField(widget=forms.Textarea, required=False)


class InquiryAdminForm(forms.ModelForm):
    body = forms.CharField(
        widget=forms.Textarea,
        required=False,
        label=_("What the customer asked"),
        help_text=_("On a new inquiry: the customer's first message."),
    )

    class Meta:
        model = Inquiry
        fields = ["contact", "channel", "subject", "category", "priority", "team", "deal"]


# --- Inquiries ----------------------------------------------------------------------------------


@admin.register(Inquiry)
class InquiryAdmin(AuditTrailAdminMixin, admin.ModelAdmin):
    form = InquiryAdminForm
    audit_fields = services.AUDIT_FIELDS
    list_display = [
        "__str__",
        "status",
        "channel",
        "priority",
        "contact",
        "assignee",
        "team",
        "first_response_due",
        "resolution_due",
        "created_at",
    ]
    list_filter = [
        "status",
        "channel",
        "priority",
        "team",
        ("assignee", admin.EmptyFieldListFilter),
        "created_at",
    ]
    search_fields = ["subject", "contact__name", "contact__email", "account__name"]
    list_select_related = ["contact", "assignee", "team"]
    autocomplete_fields = ["contact", "deal"]
    date_hierarchy = "created_at"
    inlines = [MessageInline, StatusChangeInline, AssignmentInline]
    actions = ["assign_to_me", "assign", "move_status", "log_call", "export_csv"]
    export_csv = export_csv_action(
        file_prefix="inquiries",
        columns=[
            ("id", "id"),
            ("subject", "subject"),
            ("status", "status"),
            ("channel", "channel"),
            ("priority", "priority"),
            ("category", "category"),
            ("contact", "contact__name"),
            ("contact_email", "contact__email"),
            ("account", "account__name"),
            ("team", "team__name"),
            ("assignee", "assignee__username"),
            ("created_at", "created_at"),
            ("first_responded_at", "first_responded_at"),
            ("resolved_at", "resolved_at"),
            ("closed_at", "closed_at"),
        ],
    )

    def get_queryset(self, request):
        return inquiries_visible_to(request.user, super().get_queryset(request))

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["contact", "channel", "subject", "body", "category", "priority", "team", "deal"]
        return [
            "subject",
            "category",
            "priority",
            "team",
            "deal",
            "contact",
            "account",
            "channel",
            "status",
            "assignee",
            "source_rep",
            "first_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "created_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "contact",
            "account",
            "channel",
            "status",
            "assignee",
            "source_rep",
            "first_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "created_at",
        ]

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None:
            return allowed
        return inquiries_workable_by(request.user).filter(pk=obj.pk).exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_assign_permission(self, request) -> bool:
        return request.user.has_perm("inquiries.assign_inquiry")

    def has_answer_permission(self, request) -> bool:
        return request.user.has_perm("inquiries.answer_inquiry")

    def has_log_call_permission(self, request) -> bool:
        return request.user.has_perms(["inquiries.answer_inquiry", "inquiries.add_phonecall"])

    def _due(self, inquiry: Inquiry, due) -> str:
        if due is None:
            return "—"
        text = timezone.localtime(due).strftime("%Y-%m-%d %H:%M")
        if sla_state_of(inquiry, timezone.now()) == "breached" and due < timezone.now():
            return format_html('<strong style="color:#ba2121">{} ⚠</strong>', text)
        return text

    @admin.display(description=_("first response due"), ordering="first_response_due_at")
    def first_response_due(self, obj: Inquiry) -> str:
        return self._due(obj, obj.first_response_due_at if obj.first_responded_at is None else None)

    @admin.display(description=_("resolution due"), ordering="resolution_due_at")
    def resolution_due(self, obj: Inquiry) -> str:
        return self._due(obj, obj.resolution_due_at if obj.resolved_at is None else None)

    def save_model(self, request, obj, form, change):
        if change:
            changes = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in services.UPDATABLE_FIELDS
            }
            services.inquiry_update(inquiry=obj, actor=request.user, **changes)
            return
        data = form.cleaned_data
        created = channels.inquiry_log(
            actor=request.user,
            channel=data["channel"],
            customer=services.Customer(contact=data["contact"]),
            subject=data["subject"],
            body=data["body"],
            category=data["category"],
            priority=data["priority"],
            team=data["team"],
            deal=data["deal"],
        )
        obj.pk, obj._state.adding = created.pk, False

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def _workable(self, request, queryset: QuerySet) -> QuerySet:
        return inquiries_workable_by(request.user, queryset).select_related("contact")

    def _apply(self, request, queryset, work, done_message) -> None:
        workable = self._workable(request, queryset)
        refused = queryset.exclude(pk__in=workable.values("pk")).count()
        if refused:
            self.message_user(
                request,
                _("%(count)d inquiry(ies) skipped: you may not work on them.") % {"count": refused},
                messages.WARNING,
            )
        done = 0
        for inquiry in workable:
            try:
                work(inquiry)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{inquiry}: {_error_text(exc)}", messages.WARNING)
        self.message_user(request, done_message % {"count": done})

    @admin.action(description=_("Assign to me"), permissions=["assign"])
    def assign_to_me(self, request, queryset):
        self._apply(
            request,
            queryset,
            lambda inquiry: channels.inquiry_take(inquiry=inquiry, actor=request.user),
            _("Took %(count)d inquiry(ies)."),
        )

    @admin.action(description=_("Assign…"), permissions=["assign"])
    def assign(self, request, queryset) -> HttpResponse | None:
        form = InquiryAssignForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return run_action_form(
                self, request, queryset, form, title=_("Assign inquiries"), action="assign"
            )
        data = form.cleaned_data
        extra = {"team": data["team"]} if data["team"] is not None else {}

        def work(inquiry):
            services.inquiry_assign(
                inquiry=inquiry,
                assignee=data["assignee"],
                actor=request.user,
                note=data["note"],
                **extra,
            )

        self._apply(request, queryset, work, _("Assigned %(count)d inquiry(ies)."))
        return None

    @admin.action(description=_("Move status…"), permissions=["answer"])
    def move_status(self, request: HttpRequest, queryset) -> HttpResponse | None:
        form = InquiryMoveForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return run_action_form(
                self, request, queryset, form, title=_("Move inquiry status"), action="move_status"
            )

        def work(inquiry):
            services.inquiry_move(inquiry=inquiry, actor=request.user, **form.cleaned_data)

        self._apply(request, queryset, work, _("Moved %(count)d inquiry(ies)."))
        return None

    @admin.action(description=_("Log a phone call…"), permissions=["log_call"])
    def log_call(self, request, queryset) -> HttpResponse | None:
        form = PhoneCallForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return run_action_form(
                self, request, queryset, form, title=_("Log a phone call"), action="log_call"
            )

        def work(inquiry):
            channels.phone_call_log(inquiry=inquiry, actor=request.user, **form.cleaned_data)

        self._apply(request, queryset, work, _("Logged a call on %(count)d inquiry(ies)."))
        return None


# --- Thread -------------------------------------------------------------------------------------


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Written by the channels and the agents' actions; visible as the inquiries are."""

    list_display = [
        "created_at",
        "inquiry",
        "direction",
        "channel",
        "author_user",
        "author_contact",
    ]
    list_filter = ["direction", "channel", "created_at"]
    search_fields = ["subject", "body", "author_contact__email"]
    list_select_related = ["inquiry", "author_user", "author_contact"]
    raw_id_fields = ["inquiry", "author_user", "author_contact", "touchpoint"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        visible = inquiries_visible_to(request.user)
        return super().get_queryset(request).filter(inquiry__in=visible.values("pk"))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PhoneCall)
class PhoneCallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Calls agents logged (the "Log a phone call" action on inquiries, or the API)."""

    list_display = ["message", "direction", "duration_seconds", "outcome"]
    list_filter = ["direction", "outcome"]
    list_select_related = ["message"]
    raw_id_fields = ["message"]

    def get_queryset(self, request):
        visible = inquiries_visible_to(request.user)
        return super().get_queryset(request).filter(message__inquiry__in=visible.values("pk"))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Saved replies and inbound channels ---------------------------------------------------------


@admin.register(SavedReply)
class SavedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "category", "usage_count", "updated_at"]
    list_filter = ["team", "category"]
    search_fields = ["title", "body"]
    list_select_related = ["team"]
    readonly_fields = ["usage_count", "created_by", "created_at", "updated_at"]
    fields = ["title", "body", "category", "team", *readonly_fields]

    def get_queryset(self, request):
        return channels.saved_replies_usable_by(request.user, super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        values = {name: form.cleaned_data[name] for name in channels.SAVED_REPLY_FIELDS}
        if change:
            channels.saved_reply_update(saved_reply=obj, **values)
            return
        created = channels.saved_reply_create(actor=request.user, **values)
        obj.pk, obj._state.adding = created.pk, False


@admin.register(InboundChannel)
class InboundChannelAdmin(admin.ModelAdmin):
    """Chat widgets/providers and public web forms; the key goes in their `X-Channel-Key`."""

    list_display = ["name", "kind", "team", "category", "is_active", "key"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    list_select_related = ["team"]
    readonly_fields = ["key", "created_at"]
    actions = ["rotate_key"]

    @admin.action(
        description=_("Rotate the key (the old one stops working)"), permissions=["change"]
    )
    def rotate_key(self, request, queryset):
        for inbound_channel in queryset:
            channels.inbound_channel_rotate_key(inbound_channel=inbound_channel)
        self.message_user(request, _("Rotated %(count)d key(s).") % {"count": len(queryset)})
