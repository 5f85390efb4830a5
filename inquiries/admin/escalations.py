"""Admin for escalations (answered through actions that call the services), SLA policies and
breaches, and assignment rules."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from frontoffice.admin_actions import ReadOnlyAdminMixin, run_action_form
from frontoffice.errors import ApplicationError
from inquiries import escalations
from inquiries.models import AssignmentRule, Escalation, EscalationChange, SlaBreach, SlaPolicy


class EscalationChangeInline(admin.TabularInline):
    model = EscalationChange
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["created_at", "id"]
    fields = ["created_at", "from_status", "to_status", "actor", "note"]
    readonly_fields = fields


class EscalationAnswerForm(forms.Form):
    text = forms.CharField(
        label=_("Answer or comment"),
        widget=forms.Textarea,
        max_length=escalations.TEXT_MAX_LENGTH,
        required=False,
        help_text=_("Required to answer and to reject."),
    )


# Admin action → the service it calls and the keyword its text goes to.
ANSWERS = {
    "answer_selected": (escalations.escalation_answer, "text", _("Answer")),
    "approve_selected": (escalations.escalation_approve, "comment", _("Approve")),
    "reject_selected": (escalations.escalation_reject, "comment", _("Reject")),
}


def _answer(modeladmin, request, queryset, action: str):
    service, keyword, title = ANSWERS[action]
    form = EscalationAnswerForm(request.POST if "apply" in request.POST else None)
    if not form.is_valid():
        return run_action_form(modeladmin, request, queryset, form, title=title, action=action)
    done = 0
    for escalation in queryset.select_related("inquiry__team", "to_team"):
        try:
            service(
                escalation=escalation, actor=request.user, **{keyword: form.cleaned_data["text"]}
            )
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{escalation}: {exc.message}", messages.WARNING)
    modeladmin.message_user(request, _("%(count)d escalation(s) done.") % {"count": done})
    return None


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "inquiry",
        "kind",
        "status",
        "level",
        "owner",
        "to_team",
        "requested_by",
        "due_at",
        "created_at",
    ]
    list_filter = ["status", "kind", "level", "to_team"]
    search_fields = ["inquiry__subject", "reason", "answer"]
    list_select_related = ["inquiry", "owner", "to_team", "requested_by"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "inquiry",
        "kind",
        "status",
        "level",
        "parent",
        "requested_by",
        "owner",
        "to_team",
        "reason",
        "answer",
        "due_at",
        "created_at",
        "closed_at",
    ]
    inlines = [EscalationChangeInline]
    actions = ["answer_selected", "approve_selected", "reject_selected"]

    def has_answer_permission(self, request) -> bool:
        # Which escalation each user may answer is the service's check (owner, supervisor).
        return request.user.has_perm("inquiries.view_escalation")

    @admin.action(description=_("Answer (transfer, instructions)"), permissions=["answer"])
    def answer_selected(self, request, queryset):
        return _answer(self, request, queryset, "answer_selected")

    @admin.action(description=_("Approve (approval requests)"), permissions=["answer"])
    def approve_selected(self, request, queryset):
        return _answer(self, request, queryset, "approve_selected")

    @admin.action(description=_("Reject with a comment"), permissions=["answer"])
    def reject_selected(self, request, queryset):
        return _answer(self, request, queryset, "reject_selected")


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = [
            "name",
            "priority",
            "channel",
            "first_response_minutes",
            "resolution_minutes",
            "business_hours_only",
            "business_day_start",
            "business_day_end",
            "business_days",
            "is_active",
        ]

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            escalations.sla_policy_validate(self.instance)
        except ApplicationError as exc:
            for field, field_messages in exc.errors.items():
                self.add_error(field if field in self.fields else None, field_messages)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    form = SlaPolicyForm
    list_display = [
        "name",
        "priority",
        "channel",
        "first_response_minutes",
        "resolution_minutes",
        "business_hours_only",
        "is_active",
    ]
    list_filter = ["priority", "channel", "business_hours_only", "is_active"]
    search_fields = ["name"]


@admin.register(SlaBreach)
class SlaBreachAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["inquiry", "kind", "due_at", "detected_at", "notified"]
    list_filter = ["kind"]
    list_select_related = ["inquiry", "notified"]
    search_fields = ["inquiry__subject"]
    date_hierarchy = "detected_at"


class AssignmentRuleForm(forms.ModelForm):
    class Meta:
        model = AssignmentRule
        fields = ["name", "position", "team", "channel", "category", "strategy", "is_active"]

    def _post_clean(self):
        super()._post_clean()
        if self.errors:
            return
        try:
            escalations.assignment_rule_validate(self.instance)
        except ApplicationError as exc:
            for field, field_messages in exc.errors.items():
                self.add_error(field if field in self.fields else None, field_messages)


@admin.register(AssignmentRule)
class AssignmentRuleAdmin(admin.ModelAdmin):
    form = AssignmentRuleForm
    list_display = ["name", "position", "team", "channel", "category", "strategy", "is_active"]
    list_filter = ["strategy", "channel", "is_active", "team"]
    list_select_related = ["team"]
    search_fields = ["name", "category"]
    ordering = ["position", "id"]
