"""Admin for reps' daily reports: managers read their teams' reports and approve or return them.
Reports are written by the reps through the API (one request a day), so here they are read-only;
the same visibility rules as the API apply (``pipeline.selectors``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from frontoffice.admin_actions import ReadOnlyAdminMixin, run_action_form
from frontoffice.errors import ApplicationError
from pipeline import reports
from pipeline.models import Activity, DailyReport, DailyReportStatusChange
from pipeline.selectors import reports_visible_to


class ActivityInline(admin.TabularInline):
    model = Activity
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["occurred_at", "id"]
    fields = ["occurred_at", "kind", "minutes", "outcome", "deal", "contact", "touchpoint"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("deal", "contact", "touchpoint")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StatusChangeInline(admin.TabularInline):
    model = DailyReportStatusChange
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["created_at", "id"]
    fields = ["created_at", "from_status", "to_status", "actor", "comment"]
    readonly_fields = fields
    verbose_name_plural = _("history")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReviewForm(forms.Form):
    comment = forms.CharField(
        max_length=reports.COMMENT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea,
        label=_("Comment for the rep"),
    )


class ReturnForm(ReviewForm):
    comment = forms.CharField(
        max_length=reports.COMMENT_MAX_LENGTH,
        widget=forms.Textarea,
        label=_("What should the rep change?"),
    )


@admin.register(DailyReport)
class DailyReportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "day",
        "rep",
        "status",
        "activity_count",
        "total_minutes",
        "submitted_at",
        "reviewed_by",
        "reviewed_at",
    ]
    list_filter = ["status", "day", "rep", "rep__teams"]
    search_fields = ["rep__username", "rep__first_name", "rep__last_name", "notes"]
    list_select_related = ["rep", "reviewed_by"]
    date_hierarchy = "day"
    ordering = ["-day", "rep__username"]
    fields = [
        "rep",
        "day",
        "status",
        "notes",
        "tomorrow_plan",
        "submitted_at",
        "manager_comment",
        "reviewed_by",
        "reviewed_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [ActivityInline, StatusChangeInline]
    actions = ["approve_selected", "return_selected"]

    def get_queryset(self, request):
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                activity_total=Count("activities"),
                minutes_total=Coalesce(Sum("activities__minutes"), 0),
            )
        )
        return reports_visible_to(request.user, queryset)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("activities"), ordering="activity_total")
    def activity_count(self, obj: DailyReport) -> int:
        return obj.activity_total

    @admin.display(description=_("minutes"), ordering="minutes_total")
    def total_minutes(self, obj: DailyReport) -> int:
        return obj.minutes_total

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("pipeline.review_dailyreport")

    def _review_selected(self, request, queryset, *, form_class, service, title, action, done):
        form = form_class(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return run_action_form(self, request, queryset, form, title=title, action=action)
        count = 0
        for report in queryset.select_related("rep"):
            try:
                service(report=report, actor=request.user, **form.cleaned_data)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{report}: {exc.message}", messages.WARNING)
        self.message_user(request, done % {"count": count}, messages.SUCCESS)
        return None

    @admin.action(description=_("Approve selected reports"), permissions=["review"])
    def approve_selected(self, request, queryset):
        return self._review_selected(
            request,
            queryset,
            form_class=ReviewForm,
            service=reports.daily_report_approve,
            title=_("Approve daily reports"),
            action="approve_selected",
            done=_("Approved %(count)d report(s)."),
        )

    @admin.action(description=_("Return selected reports to the rep"), permissions=["review"])
    def return_selected(self, request, queryset):
        return self._review_selected(
            request,
            queryset,
            form_class=ReturnForm,
            service=reports.daily_report_return,
            title=_("Return daily reports"),
            action="return_selected",
            done=_("Returned %(count)d report(s)."),
        )


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["occurred_at", "kind", "minutes", "report", "deal", "contact", "outcome"]
    list_filter = ["kind", "occurred_at"]
    search_fields = ["outcome", "deal__name", "contact__name", "report__rep__username"]
    list_select_related = ["report", "deal", "contact"]
    date_hierarchy = "occurred_at"
    raw_id_fields = ["report", "deal", "contact", "touchpoint"]

    def get_queryset(self, request):
        visible = reports_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(report__in=visible)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
