"""Admin for customers and staff. Writes go through the same services as the API, and the same
role permissions apply (Django model permissions plus `merge_*` and `move_journey_contact`)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.identity import normalize_domain, normalize_email
from accounts.models import (
    Account,
    Contact,
    CustomerMerge,
    JourneyStage,
    JourneyTransition,
    Notification,
    StaffPreference,
    Team,
    Touchpoint,
)
from frontoffice.admin_actions import ReadOnlyAdminMixin, export_csv_action, run_action_form
from frontoffice.audit.admin import AuditTrailAdminMixin
from frontoffice.errors import ApplicationError


def _as_validation_error(normalise, value: str) -> str:
    try:
        return normalise(value)
    except ApplicationError as exc:
        raise ValidationError(exc.message, code="invalid") from exc


# --- Inlines ------------------------------------------------------------------------------------


class TouchpointInline(admin.TabularInline):
    model = Touchpoint
    fk_name = "contact"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    ordering = ["-occurred_at", "-id"]
    fields = [
        "occurred_at",
        "kind",
        "channel",
        "campaign",
        "amount",
        "currency",
        "summary",
        "actor",
    ]
    readonly_fields = fields
    verbose_name_plural = _("timeline (touchpoints)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("campaign", "actor")


class AccountTouchpointInline(TouchpointInline):
    fk_name = "account"
    fields = ["occurred_at", "kind", "channel", "contact", "campaign", "amount", "summary", "actor"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contact")


class JourneyTransitionInline(admin.TabularInline):
    model = JourneyTransition
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at", "-id"]
    fields = ["created_at", "from_stage", "to_stage", "actor", "cause"]
    readonly_fields = fields
    verbose_name_plural = _("journey history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class AccountContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ["name", "email", "phone", "title", "stage"]
    readonly_fields = fields


# --- Accounts -----------------------------------------------------------------------------------


class AccountAdminForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ["name", "domain", "industry", "size", "region", "owner"]

    def clean_domain(self) -> str:
        domain = _as_validation_error(normalize_domain, self.cleaned_data.get("domain", ""))
        clash = Account.objects.filter(domain=domain).exclude(pk=self.instance.pk).first()
        if domain and clash is not None:
            raise ValidationError(
                _("An account with this domain already exists (#%(pk)s %(name)s)."),
                params={"pk": clash.pk, "name": clash.name},
                code="unique",
            )
        return domain


class MergeForm(forms.Form):
    survivor = forms.ModelChoiceField(queryset=None, label=_("Keep this record"))
    reason = forms.CharField(max_length=500, required=False, label=_("Reason"))

    def __init__(self, *args, queryset: QuerySet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survivor"].queryset = queryset


def _merge_selected(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, merge_function
) -> HttpResponse | None:
    if queryset.count() < 2:
        modeladmin.message_user(request, _("Select at least two records to merge."), messages.ERROR)
        return None
    form = MergeForm(
        request.POST if "apply" in request.POST else None, queryset=queryset.order_by("pk")
    )
    if form.is_valid():
        survivor = form.cleaned_data["survivor"]
        merged = 0
        for duplicate in queryset.exclude(pk=survivor.pk):
            try:
                merge_function(
                    survivor=survivor,
                    duplicate=duplicate,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
                merged += 1
            except ApplicationError as exc:
                modeladmin.message_user(request, f"{duplicate}: {exc.message}", messages.ERROR)
        modeladmin.message_user(
            request,
            _("Merged %(count)d record(s) into %(survivor)s.")
            % {"count": merged, "survivor": survivor},
            messages.SUCCESS,
        )
        return None
    return run_action_form(
        modeladmin, request, queryset, form, title=_("Merge duplicates"), action="merge_selected"
    )


@admin.register(Account)
class AccountAdmin(AuditTrailAdminMixin, admin.ModelAdmin):
    form = AccountAdminForm
    audit_fields = services.ACCOUNT_AUDIT_FIELDS
    list_display = ["name", "domain", "industry", "size", "region", "owner", "contact_count"]
    list_filter = ["size", "industry", "region", "owner"]
    search_fields = ["name", "domain"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [AccountContactInline, AccountTouchpointInline]
    actions = ["merge_selected", "export_csv"]
    export_csv = export_csv_action(
        file_prefix="accounts",
        columns=[
            ("id", "id"),
            ("name", "name"),
            ("domain", "domain"),
            ("industry", "industry"),
            ("size", "size"),
            ("region", "region"),
            ("owner", "owner__username"),
            ("customer_since", "customer_since"),
            ("created_at", "created_at"),
        ],
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(contact_total=Count("contacts"))

    @admin.display(description=_("contacts"), ordering="contact_total")
    def contact_count(self, obj: Account) -> int:
        return obj.contact_total

    def save_model(self, request, obj, form, change):
        if change:
            services.account_update(
                account=obj,
                actor=request.user,
                **{name: form.cleaned_data[name] for name in form.changed_data},
            )
        else:
            fields = AccountAdminForm.Meta.fields
            created = services.account_create(
                **{name: form.cleaned_data[name] for name in fields}, actor=request.user
            )
            obj.pk, obj._state.adding = created.pk, False

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm("accounts.merge_account")

    @admin.action(description=_("Merge selected accounts"), permissions=["merge"])
    def merge_selected(self, request, queryset):
        return _merge_selected(self, request, queryset, services.account_merge)


# --- Contacts -----------------------------------------------------------------------------------


class ContactAdminForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "title", "department", "account", "owner"]

    def clean_email(self) -> str:
        email = _as_validation_error(normalize_email, self.cleaned_data.get("email", ""))
        clash = Contact.objects.filter(email=email).exclude(pk=self.instance.pk).first()
        if email and clash is not None:
            raise ValidationError(
                _("A contact with this email already exists (#%(pk)s)."),
                params={"pk": clash.pk},
                code="unique",
            )
        return email


class JourneyMoveForm(forms.Form):
    to_stage = forms.ChoiceField(choices=JourneyStage.choices, label=_("Move to stage"))
    cause = forms.CharField(
        max_length=500,
        required=False,
        label=_("Reason"),
        help_text=_("Needed for backward moves and for lost/dormant."),
    )


@admin.register(Contact)
class ContactAdmin(AuditTrailAdminMixin, admin.ModelAdmin):
    form = ContactAdminForm
    audit_fields = services.CONTACT_AUDIT_FIELDS
    list_display = ["name", "email", "phone", "account", "stage", "stage_changed_at", "owner"]
    list_filter = ["stage", "owner", "account__industry", "created_at"]
    search_fields = ["name", "email", "phone", "account__name"]
    list_select_related = ["account", "owner"]
    autocomplete_fields = ["account", "owner"]
    readonly_fields = ["stage", "stage_changed_at", "created_at", "updated_at"]
    date_hierarchy = "created_at"
    inlines = [JourneyTransitionInline, TouchpointInline]
    actions = ["move_journey", "merge_selected", "export_csv"]
    export_csv = export_csv_action(
        file_prefix="contacts",
        columns=[
            ("id", "id"),
            ("name", "name"),
            ("email", "email"),
            ("phone", "phone"),
            ("company", "account__name"),
            ("title", "title"),
            ("department", "department"),
            ("stage", "stage"),
            ("stage_changed_at", "stage_changed_at"),
            ("owner", "owner__username"),
            ("created_at", "created_at"),
        ],
    )

    def save_model(self, request, obj, form, change):
        if change:
            services.contact_update(
                contact=obj,
                actor=request.user,
                **{name: form.cleaned_data[name] for name in form.changed_data},
            )
        else:
            services.contact_register(contact=obj, actor=request.user, cause="created in admin")

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm("accounts.merge_contact")

    def has_move_journey_permission(self, request) -> bool:
        return request.user.has_perm("accounts.move_journey_contact")

    @admin.action(description=_("Merge selected contacts"), permissions=["merge"])
    def merge_selected(self, request, queryset):
        return _merge_selected(self, request, queryset, services.contact_merge)

    @admin.action(description=_("Move journey stage"), permissions=["move_journey"])
    def move_journey(self, request, queryset):
        form = JourneyMoveForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return run_action_form(
                self, request, queryset, form, title=_("Move journey stage"), action="move_journey"
            )
        moved = 0
        for contact in queryset:
            try:
                services.journey_move(contact=contact, actor=request.user, **form.cleaned_data)
                moved += 1
            except ApplicationError as exc:
                self.message_user(request, f"{contact}: {exc.message}", messages.WARNING)
        self.message_user(request, _("Moved %(count)d contact(s).") % {"count": moved})
        return None


# --- Timeline and history -----------------------------------------------------------------------


@admin.register(Touchpoint)
class TouchpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "occurred_at",
        "kind",
        "channel",
        "contact",
        "account",
        "campaign",
        "amount",
        "actor",
    ]
    list_filter = ["kind", "channel", "campaign", "occurred_at"]
    search_fields = ["summary", "contact__name", "contact__email", "account__name"]
    list_select_related = ["contact", "account", "campaign", "actor"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["contact", "account", "campaign", "actor"]


@admin.register(JourneyTransition)
class JourneyTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "contact", "from_stage", "to_stage", "actor", "cause"]
    list_filter = ["to_stage", "from_stage", "created_at"]
    search_fields = ["contact__name", "contact__email", "cause"]
    list_select_related = ["contact", "actor"]
    date_hierarchy = "created_at"


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "kind",
        "survivor_contact",
        "survivor_account",
        "duplicate_id",
        "actor",
        "reason",
    ]
    list_filter = ["kind", "created_at"]
    search_fields = ["duplicate_email", "reason"]
    list_select_related = ["survivor_contact", "survivor_account", "actor"]


# --- Staff --------------------------------------------------------------------------------------


class TeamAdminForm(forms.ModelForm):
    # Set per request by TeamAdmin.get_form: whose sight the change must not widen.
    actor = None

    class Meta:
        model = Team
        fields = ["name", "kind", "supervisor", "members"]

    def clean(self):
        data = super().clean()
        try:
            services.team_change_check(
                actor=self.actor,
                team=self.instance,
                supervisor=data.get("supervisor"),
                members=data.get("members"),
            )
        except ApplicationError as exc:
            raise ValidationError(exc.message, code="permission") from exc
        return data


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    form = TeamAdminForm
    list_display = ["name", "kind", "supervisor", "member_count"]
    list_filter = ["kind"]
    search_fields = ["name"]
    list_select_related = ["supervisor"]
    filter_horizontal = ["members"]
    autocomplete_fields = ["supervisor"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_total=Count("members"))

    @admin.display(description=_("members"), ordering="member_total")
    def member_count(self, obj: Team) -> int:
        return obj.member_total

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user  # a class made for this request by modelform_factory
        return form

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # A team's supervisor is always one of its members (as team_save keeps it).
        if form.instance.supervisor_id:
            form.instance.members.add(form.instance.supervisor_id)


# --- Notifications ------------------------------------------------------------------------------


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Sent by services (stalled deals, reminders, summaries): a log to look things up in."""

    list_display = ["created_at", "recipient", "kind", "subject", "emailed_at", "read_at"]
    list_filter = [
        "kind",
        ("read_at", admin.EmptyFieldListFilter),
        ("emailed_at", admin.EmptyFieldListFilter),
        "created_at",
    ]
    search_fields = ["subject", "key", "recipient__username", "recipient__email"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    raw_id_fields = ["recipient"]


@admin.register(StaffPreference)
class StaffPreferenceAdmin(admin.ModelAdmin):
    """Each staff member's own settings (they change them in the workspace's top bar)."""

    list_display = ["user", "language", "updated_at"]
    list_filter = ["language"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
