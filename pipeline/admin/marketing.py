"""Admin for campaigns, lead forms, scoring, screening, follow-ups and lead imports."""

import base64

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from frontoffice.admin_actions import ReadOnlyAdminMixin, run_action_form
from frontoffice.errors import ApplicationError
from pipeline import scoring, screening
from pipeline.imports import (
    ENCODINGS,
    MAPPINGS,
    RUN_COUNTS,
    LeadImportOutcome,
    leads_import,
    max_file_bytes,
)
from pipeline.models import Campaign, LeadForm, LeadImport
from pipeline.models.scoring import (
    FollowUpTask,
    LeadScore,
    LeadScoreChange,
    ScoringRule,
    ScreeningPolicy,
)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "status",
        "starts_on",
        "ends_on",
        "cost",
        "currency",
        "owner",
        "touchpoint_count",
    ]
    list_filter = ["kind", "status", "starts_on"]
    search_fields = ["name"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    date_hierarchy = "starts_on"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(touchpoint_total=Count("touchpoints"))

    @admin.display(description="touchpoints", ordering="touchpoint_total")
    def touchpoint_count(self, obj: Campaign) -> int:
        return obj.touchpoint_total


@admin.register(LeadForm)
class LeadFormAdmin(admin.ModelAdmin):
    list_display = ["name", "campaign", "is_active", "created_at"]
    list_filter = ["is_active", "campaign__kind"]
    search_fields = ["name", "campaign__name"]
    list_select_related = ["campaign"]
    readonly_fields = ["key", "created_at"]
    autocomplete_fields = ["campaign"]


# --- Lead scoring and screening -----------------------------------------------------------------


class ScoringRuleAdminForm(forms.ModelForm):
    class Meta:
        model = ScoringRule
        fields = list(scoring.RULE_FIELDS)

    def clean(self):
        cleaned_data = super().clean()
        for name, errors in scoring.rule_errors(cleaned_data).items():
            self.add_error(name, errors)
        return cleaned_data


@admin.register(ScoringRule)
class ScoringRuleAdmin(admin.ModelAdmin):
    """Rules are the Admin's to change (model permissions); every save rescores everyone."""

    form = ScoringRuleAdminForm
    list_display = list(scoring.RULE_FIELDS)
    list_filter = ["kind", "is_active", "attribute", "touchpoint_kind", "channel"]
    search_fields = ["name", "value"]
    list_select_related = ["campaign"]
    autocomplete_fields = ["campaign"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "points", "is_active"]}),
        (_("Fit: who they are"), {"fields": ["attribute", "operator", "value"]}),
        (
            _("Behaviour: what they did"),
            {"fields": ["touchpoint_kind", "channel", "campaign", "half_life_days"]},
        ),
        (None, {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        scoring.scoring_rule_save(rule=obj)

    def delete_model(self, request, obj):
        scoring.scoring_rule_delete(rule=obj)

    def delete_queryset(self, request, queryset):
        scoring.scoring_rules_delete(rules=queryset)


@admin.register(ScreeningPolicy)
class ScreeningPolicyAdmin(admin.ModelAdmin):
    """The one policy row: changed, never added or deleted."""

    list_display = [
        "__str__",
        "sales_team",
        "follow_up_within_hours",
        "last_assignee",
        "updated_at",
    ]
    list_select_related = ["sales_team", "last_assignee"]
    fields = [
        "hot_threshold",
        "sales_team",
        "follow_up_within_hours",
        "last_assignee",
        "updated_at",
    ]
    readonly_fields = ["last_assignee", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "sales_team":
            kwargs["queryset"] = Team.objects.filter(kind=Team.Kind.SALES)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def changelist_view(self, request, extra_context=None):
        policy = screening.screening_policy()
        return redirect(reverse("admin:pipeline_screeningpolicy_change", args=[policy.pk]))

    def save_model(self, request, obj, form, change):
        stored = ScreeningPolicy.objects.get(pk=obj.pk)  # `obj` already holds the form's values
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        screening.screening_policy_update(policy=stored, **changes)


@admin.register(LeadScore)
class LeadScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["contact", "score", "segment", "contact_stage", "computed_at"]
    list_filter = ["segment", "contact__stage", "computed_at"]
    search_fields = ["contact__name", "contact__email"]
    list_select_related = ["contact"]
    ordering = ["-score", "contact"]
    fields = ["contact", "score", "segment", "explanation", "computed_at"]
    readonly_fields = fields

    @admin.display(description=_("journey stage"), ordering="contact__stage")
    def contact_stage(self, obj: LeadScore) -> str:
        return obj.contact.get_stage_display()

    @admin.display(description=_("breakdown"))
    def explanation(self, obj: LeadScore) -> str:
        if not obj.breakdown:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((entry["name"], entry["kind"], entry["points"]) for entry in obj.breakdown),
        )
        return format_html("<table><tbody>{}</tbody></table>", rows)


@admin.register(LeadScoreChange)
class LeadScoreChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "contact", "from_score", "to_score", "cause"]
    list_filter = ["cause", "created_at"]
    search_fields = ["contact__name", "contact__email"]
    list_select_related = ["contact"]
    date_hierarchy = "created_at"


class DisqualifyForm(forms.Form):
    reason = forms.CharField(max_length=500, label=_("Reason"), widget=forms.Textarea)


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Follow-ups come from screening and close when a rep qualifies or disqualifies the lead."""

    list_display = ["contact", "assignee", "status", "score", "due_at", "closed_at", "outcome"]
    list_filter = ["status", "assignee", "due_at"]
    search_fields = ["contact__name", "contact__email", "outcome"]
    list_select_related = ["contact", "assignee"]
    date_hierarchy = "due_at"
    actions = ["qualify_leads", "disqualify_leads"]

    def has_decide_permission(self, request) -> bool:
        return request.user.has_perms(screening.DECIDE_PERMISSIONS)

    def _decide(self, request, queryset, decide, **kwargs) -> int:
        done = 0
        for task in queryset.select_related("contact"):
            try:
                decide(contact=task.contact, actor=request.user, **kwargs)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{task.contact}: {exc.message}", messages.WARNING)
        return done

    @admin.action(description=_("Qualify the leads (→ prospect)"), permissions=["decide"])
    def qualify_leads(self, request, queryset):
        done = self._decide(request, queryset, screening.lead_qualify)
        self.message_user(request, _("Qualified %(count)d lead(s).") % {"count": done})

    @admin.action(
        description=_("Disqualify the leads (→ lost, with a reason)"), permissions=["decide"]
    )
    def disqualify_leads(self, request, queryset):
        form = DisqualifyForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return run_action_form(
                self,
                request,
                queryset,
                form,
                title=_("Disqualify leads"),
                action="disqualify_leads",
            )
        done = self._decide(
            request, queryset, screening.lead_disqualify, reason=form.cleaned_data["reason"]
        )
        self.message_user(request, _("Disqualified %(count)d lead(s).") % {"count": done})
        return None


# --- Lead imports -------------------------------------------------------------------------------
# (Imported here, not at the top, so this part of the module can be edited on its own.)


SHOWN_BAD_ROWS = 100


class LeadImportUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.exclude(status=Campaign.Status.CANCELLED),
        required=False,
        label=_("Campaign"),
        help_text=_("The exhibition or event the list comes from (optional for Olist files)."),
    )
    dry_run = forms.BooleanField(required=False, label=_("Dry run: check and count only"))
    partial = forms.BooleanField(
        required=False,
        label=_("Import the good rows"),
        help_text=_("Otherwise a file with any bad row is refused and nothing is written."),
    )
    encoding = forms.ChoiceField(choices=[(name, name) for name in ENCODINGS], initial="auto")
    mapping = forms.ChoiceField(
        choices=[(name, name) for name in MAPPINGS], initial="standard", label=_("Columns")
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_file_bytes():
            raise ValidationError(
                _("The file is larger than %(mb)d MB."),
                params={"mb": max_file_bytes() // (1024 * 1024)},
                code="too_large",
            )
        return upload


def _reject_file_link(outcome: LeadImportOutcome) -> str:
    """The bad rows as a data: URL, so the page can offer them without storing a file."""
    encoded = base64.b64encode(outcome.reject_file()).decode("ascii")
    return f"data:text/csv;charset={outcome.parsed.encoding};base64,{encoded}"


@admin.register(LeadImport)
class LeadImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The history of lead list imports, and the upload (for those who may add imports)."""

    list_display = [
        "created_at",
        "file_name",
        "campaign",
        "status",
        *RUN_COUNTS,
        "duration_ms",
        "created_by",
    ]
    list_filter = ["status", "campaign", "created_at"]
    search_fields = ["file_name", "campaign__name"]
    list_select_related = ["campaign", "created_by"]
    date_hierarchy = "created_at"
    exclude = ["errors"]
    readonly_fields = ["bad_rows"]

    def get_urls(self):
        upload = path(
            "import/",
            self.admin_site.admin_view(self.import_view),
            name="pipeline_leadimport_import",
        )
        return [upload, *super().get_urls()]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("pipeline.add_leadimport")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("bad rows (line: reason)"))
    def bad_rows(self, obj: LeadImport) -> str:
        return format_html_join(
            "", "<div>{}: {}</div>", ((e["line"], e["reason"]) for e in obj.errors)
        ) or _("none")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = LeadImportUploadForm(request.POST or None, request.FILES or None)
        outcome = None
        if request.method == "POST" and form.is_valid():
            outcome = self._run_import(request, form)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import leads"),
            "opts": self.model._meta,
            "form": form,
            "outcome": outcome,
        }
        if outcome is not None:
            rejected = outcome.parsed.rejected
            context["rejected"] = rejected[:SHOWN_BAD_ROWS]
            context["more_rejected"] = max(len(rejected) - SHOWN_BAD_ROWS, 0)
            if rejected and outcome.lead_import.status == LeadImport.Status.PARTIAL:
                context["reject_file_url"] = _reject_file_link(outcome)
                context["reject_file_name"] = f"rejected-{outcome.lead_import.file_name}"
        return TemplateResponse(request, "admin/pipeline/leadimport/import_form.html", context)

    def _run_import(self, request: HttpRequest, form: LeadImportUploadForm):
        data = form.cleaned_data
        try:
            outcome = leads_import(
                content=data["file"].read(),
                file_name=data["file"].name,
                campaign=data["campaign"],
                actor=request.user,
                dry_run=data["dry_run"],
                partial=data["partial"],
                encoding=data["encoding"],
                mapping=data["mapping"],
            )
        except ApplicationError as exc:
            for name in exc.errors or {None: [exc.message]}:
                form.add_error(name if name in form.fields else None, exc.message)
            return None
        run = outcome.lead_import
        level = {
            LeadImport.Status.IMPORTED: messages.SUCCESS,
            LeadImport.Status.DRY_RUN: messages.INFO,
            LeadImport.Status.PARTIAL: messages.WARNING,
            LeadImport.Status.REFUSED: messages.ERROR,
        }[run.status]
        self.message_user(
            request,
            _("Lead import #%(pk)s: %(status)s (%(rows)d rows, %(bad)d bad).")
            % {
                "pk": run.pk,
                "status": run.get_status_display(),
                "rows": run.total_rows,
                "bad": run.rejected_rows,
            },
            level,
        )
        return outcome
