"""Admin for deals, their stage history, the stage settings and the sales policy.

The same rules as the API: the changelist shows what ``pipeline.selectors`` lets the user see
(a rep their own deals, a manager their teams'), a deal is changed only by those who may edit it,
writes go through ``pipeline.deals``, and the stage changes only with the "Move stage" action.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from frontoffice.admin_actions import ReadOnlyAdminMixin, export_csv_action, run_action_form
from frontoffice.audit.admin import AuditTrailAdminMixin
from frontoffice.errors import ApplicationError
from pipeline import deals
from pipeline.models import (
    Deal,
    DealStage,
    DealStageChange,
    DealStageSetting,
    DealStall,
    SalesPolicy,
)
from pipeline.selectors import (
    can_edit_deal,
    deal_owners_assignable_by,
    deals_editable_by,
    deals_visible_to,
)

# --- Inlines: the deal's history, read-only -----------------------------------------------------


class DealStageChangeInline(admin.TabularInline):
    model = DealStageChange
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    fields = ["created_at", "from_stage", "to_stage", "amount", "actor", "note"]
    readonly_fields = fields
    verbose_name_plural = _("stage history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class DealStallInline(admin.TabularInline):
    model = DealStall
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-started_at", "-id"]
    fields = ["started_at", "ended_at", "reason", "stage"]
    readonly_fields = fields
    verbose_name_plural = _("stalls")


# --- Deals --------------------------------------------------------------------------------------


class DealAdminForm(forms.ModelForm):
    class Meta:
        model = Deal
        fields = list(deals.DEAL_FIELDS)

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").strip().upper()

    def clean(self):
        cleaned_data = super().clean()
        probe = Deal(
            currency=cleaned_data.get("currency") or self.instance.currency,
            account=cleaned_data.get("account"),
            contact=cleaned_data.get("contact"),
        )
        closed = self.instance.pk is not None and self.instance.is_closed
        errors = deals.deal_errors(probe, changed=self.changed_data, closed=closed)
        for name, field_errors in errors.items():
            if name in self.fields and name not in self.errors:
                self.add_error(name, field_errors)
        return cleaned_data


class DealMoveForm(forms.Form):
    to_stage = forms.ChoiceField(choices=DealStage.choices, label=_("Move to stage"))
    note = forms.CharField(
        max_length=deals.REASON_MAX_LENGTH,
        required=False,
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Needed to move back, to lose a deal and to reopen a won or lost one "
            "(reopening is a manager's move)."
        ),
    )


@admin.register(Deal)
class DealAdmin(AuditTrailAdminMixin, admin.ModelAdmin):
    form = DealAdminForm
    audit_fields = deals.DEAL_AUDIT_FIELDS
    list_display = [
        "name",
        "account",
        "stage",
        "owner",
        "team",
        "amount",
        "currency",
        "probability",
        "expected_close_on",
        "is_stalled",
    ]
    list_filter = ["stage", "is_stalled", "team", "owner", "currency", "expected_close_on"]
    search_fields = ["name", "account__name", "contact__name", "contact__email"]
    list_select_related = ["account", "owner", "team"]
    autocomplete_fields = ["account", "contact", "campaign"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "stage",
        "lost_reason",
        "is_stalled",
        "stage_changed_at",
        "last_activity_at",
        "closed_at",
        "created_at",
        "updated_at",
        "external_id",
    ]
    fieldsets = [
        (None, {"fields": ["name", "account", "contact", "campaign"]}),
        (_("Sales"), {"fields": ["owner", "team", "amount", "currency", "expected_close_on"]}),
        (
            _("Stage (changed with the “Move stage” action)"),
            {"fields": ["stage", "probability", "lost_reason", "stage_changed_at", "closed_at"]},
        ),
        (
            _("Record"),
            {
                "fields": [
                    "is_stalled",
                    "last_activity_at",
                    "created_at",
                    "updated_at",
                    "external_id",
                ]
            },
        ),
    ]
    inlines = [DealStageChangeInline, DealStallInline]
    actions = ["move_stage", "export_csv"]
    export_csv = export_csv_action(
        file_prefix="deals",
        columns=[
            ("id", "id"),
            ("name", "name"),
            ("account", "account__name"),
            ("contact", "contact__name"),
            ("stage", "stage"),
            ("amount", "amount"),
            ("currency", "currency"),
            ("probability", "probability"),
            ("expected_close_on", "expected_close_on"),
            ("owner", "owner__username"),
            ("team", "team__name"),
            ("campaign", "campaign__name"),
            ("stalled", "is_stalled"),
            ("lost_reason", "lost_reason"),
            ("created_at", "created_at"),
            ("closed_at", "closed_at"),
        ],
    )

    def get_queryset(self, request):
        return deals_visible_to(request.user, super().get_queryset(request))

    def has_change_permission(self, request, obj=None) -> bool:
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None:
            return allowed
        return can_edit_deal(request.user, obj)

    def has_move_permission(self, request) -> bool:
        return request.user.has_perm("pipeline.move_deal")

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("owner", request.user.pk)
        initial.setdefault("probability", deals.stage_probability(DealStage.LIST))
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        owner_field = form.base_fields.get("owner")
        if owner_field is not None:
            # Whom the user may make the owner (as in the API), and the current owner.
            owners = deal_owners_assignable_by(request.user)
            if obj is not None:
                owners = get_user_model().objects.filter(
                    Q(pk__in=owners.values("pk")) | Q(pk=obj.owner_id)
                )
            owner_field.queryset = owners
        return form

    def save_model(self, request, obj, form, change):
        if change:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            deals.deal_update(deal=obj, actor=request.user, **changes)
            return
        values = {name: form.cleaned_data[name] for name in deals.DEAL_FIELDS}
        created = deals.deal_create(**values, actor=request.user)
        obj.pk, obj._state.adding = created.pk, False

    @admin.action(description=_("Move stage"), permissions=["move"])
    def move_stage(self, request, queryset):
        form = DealMoveForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return run_action_form(
                self, request, queryset, form, title=_("Move deal stage"), action="move_stage"
            )
        editable = set(deals_editable_by(request.user, queryset).values_list("pk", flat=True))
        moved = 0
        for deal in queryset.select_related("account", "contact"):
            if deal.pk not in editable:
                self.message_user(
                    request, f"{deal}: {_('you may not change this deal.')}", messages.WARNING
                )
                continue
            try:
                deals.deal_move(deal=deal, actor=request.user, **form.cleaned_data)
                moved += 1
            except ApplicationError as exc:
                detail = "; ".join(message for errors in exc.errors.values() for message in errors)
                self.message_user(request, f"{deal}: {detail or exc.message}", messages.WARNING)
        self.message_user(request, _("Moved %(count)d deal(s).") % {"count": moved})
        return None


@admin.register(DealStageChange)
class DealStageChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The stage history of the deals the user may see; written only by the move service."""

    list_display = ["created_at", "deal", "from_stage", "to_stage", "amount", "actor", "note"]
    list_filter = ["to_stage", "from_stage", "created_at"]
    search_fields = ["deal__name", "note"]
    list_select_related = ["deal", "actor"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        visible = deals_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(deal__in=visible)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Settings -----------------------------------------------------------------------------------


@admin.register(DealStageSetting)
class DealStageSettingAdmin(admin.ModelAdmin):
    """One row per stage (made by the migration): changed, never deleted. A new probability
    applies to deals entering the stage from then on."""

    list_display = ["stage", "probability", "stall_after_days"]
    list_editable = ["probability", "stall_after_days"]
    ordering = ["probability", "stage"]

    def get_readonly_fields(self, request, obj=None):
        return ["stage"] if obj is not None else []

    def has_add_permission(self, request) -> bool:
        missing = set(DealStage.values) - set(
            DealStageSetting.objects.values_list("stage", flat=True)
        )
        return bool(missing) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


ISO_WEEKDAYS = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]


class SalesPolicyForm(forms.ModelForm):
    working_days = forms.TypedMultipleChoiceField(
        choices=ISO_WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("working days"),
        help_text=_("Days on which reps are expected to submit a daily report."),
    )

    class Meta:
        model = SalesPolicy
        fields = ["idle_after_days", "report_due_time", "summary_time", "working_days"]

    def clean_working_days(self) -> list[int]:
        return sorted(set(self.cleaned_data.get("working_days") or []))


@admin.register(SalesPolicy)
class SalesPolicyAdmin(admin.ModelAdmin):
    """The one sales policy (row 1): added once if missing, changed, never deleted."""

    form = SalesPolicyForm
    list_display = ["__str__", "report_due_time", "summary_time", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not SalesPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        if SalesPolicy.objects.filter(pk=1).exists():
            return redirect(reverse("admin:pipeline_salespolicy_change", args=[1]))
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        obj.pk = 1  # the singleton
        super().save_model(request, obj, form, change)
