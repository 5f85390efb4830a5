"""Daily reports over the API: a rep writes the day's report in one request
(``PUT /daily-reports/today/``), managers list their teams' reports and approve, return or
comment on them."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from frontoffice.api.filters import DayRangeFilter, IdFilter
from frontoffice.api.serializers import BoundedDateTimeField, StrictSerializer
from frontoffice.errors import ApplicationError
from pipeline import reports
from pipeline.models import Activity, ActivityKind, DailyReport
from pipeline.selectors import reports_visible_to

ID_MAX = 2**63 - 1


def _display_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- Reading ------------------------------------------------------------------------------------


class DailyReportActivitySerializer(serializers.ModelSerializer):
    deal_name = serializers.CharField(
        source="deal.name", read_only=True, allow_null=True, default=None
    )
    contact_name = serializers.CharField(
        source="contact.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "occurred_at",
            "minutes",
            "outcome",
            "deal",
            "deal_name",
            "contact",
            "contact_name",
            "touchpoint",
        ]
        read_only_fields = fields


class DailyReportSerializer(serializers.ModelSerializer):
    rep_name = serializers.SerializerMethodField()
    reviewed_by_name = serializers.SerializerMethodField()
    activity_count = serializers.SerializerMethodField()
    total_minutes = serializers.SerializerMethodField()
    activities = DailyReportActivitySerializer(many=True, read_only=True)

    class Meta:
        model = DailyReport
        fields = [
            "id",
            "rep",
            "rep_name",
            "day",
            "status",
            "notes",
            "tomorrow_plan",
            "submitted_at",
            "manager_comment",
            "reviewed_by",
            "reviewed_by_name",
            "reviewed_at",
            "activity_count",
            "total_minutes",
            "activities",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_rep_name(self, obj: DailyReport) -> str:
        return _display_name(obj.rep)

    def get_reviewed_by_name(self, obj: DailyReport) -> str | None:
        return _display_name(obj.reviewed_by)

    # Both read the prefetched activities: no query per report.
    def get_activity_count(self, obj: DailyReport) -> int:
        return len(obj.activities.all())

    def get_total_minutes(self, obj: DailyReport) -> int:
        return sum(activity.minutes for activity in obj.activities.all())


# --- Writing ------------------------------------------------------------------------------------


class DailyReportActivityInputSerializer(StrictSerializer):
    id = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=ID_MAX,
        help_text="An activity of this report to keep (and update); omit for a new one.",
    )
    kind = serializers.ChoiceField(choices=ActivityKind.choices)
    occurred_at = BoundedDateTimeField(help_text="When, on the report's day (local time).")
    minutes = serializers.IntegerField(min_value=0, max_value=24 * 60, help_text="Time spent.")
    outcome = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    deal = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX, default=None
    )
    contact = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=ID_MAX, default=None
    )

    def to_internal_value(self, data):
        # As a list item this serializer has no initial_data, so StrictSerializer's check of
        # unknown keys is done here.
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field."] for key in sorted(unknown)}
                )
        return super().to_internal_value(data)

    def validate(self, attrs):
        if attrs.get("deal") is None and attrs.get("contact") is None:
            message = "An activity needs a deal or a contact (or both)."
            raise serializers.ValidationError({"deal": [message], "contact": [message]})
        return attrs


class DailyReportWriteSerializer(StrictSerializer):
    notes = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=reports.TEXT_MAX_LENGTH
    )
    tomorrow_plan = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=reports.TEXT_MAX_LENGTH
    )
    activities = serializers.ListField(
        child=DailyReportActivityInputSerializer(),
        required=False,
        default=list,
        max_length=reports.MAX_ACTIVITIES,
        help_text="The day's activities: the report's list is replaced by this one.",
    )
    submit = serializers.BooleanField(
        required=False, default=False, help_text="Submit the report to the manager as well."
    )


class DailyReportApproveSerializer(StrictSerializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=reports.COMMENT_MAX_LENGTH
    )


class DailyReportCommentSerializer(StrictSerializer):
    comment = serializers.CharField(max_length=reports.COMMENT_MAX_LENGTH)


# --- Listing ------------------------------------------------------------------------------------


class DailyReportFilter(django_filters.FilterSet):
    rep = IdFilter(field_name="rep_id")
    team = IdFilter(field_name="rep__teams__id", label="Reports of this team's members")
    day = DayRangeFilter()
    status = django_filters.MultipleChoiceFilter(choices=DailyReport.Status.choices)

    class Meta:
        model = DailyReport
        fields = ["rep", "team", "day", "status"]


DAY_PARAMETER = OpenApiParameter(
    "day", OpenApiTypes.DATE, OpenApiParameter.PATH, description="The report's day (YYYY-MM-DD)."
)
WRITE_RESPONSES = {
    200: DailyReportSerializer,
    201: DailyReportSerializer,
    400: OpenApiResponse(description="Invalid report or activities; nothing was written."),
    409: OpenApiResponse(description="The report is submitted or approved."),
}


class DailyReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reps' daily reports: a rep's own, a manager's teams' (everyone's with view_all_deals).

    A rep writes a day's report and its activities with one PUT on `today/` or `day/{day}/`;
    the status then moves only through `submit`, `approve` and `return` (`comment` keeps it).
    """

    serializer_class = DailyReportSerializer
    filterset_class = DailyReportFilter
    ordering_fields = ["day", "rep", "status", "submitted_at", "reviewed_at", "updated_at", "id"]
    ordering = ["-day", "rep", "id"]
    # Set per @action: the permissions that action needs instead of the model permission.
    required_permissions: list[str] | None = None

    def get_queryset(self):
        activities = Activity.objects.select_related("deal", "contact").order_by(
            "occurred_at", "id"
        )
        queryset = DailyReport.objects.select_related("rep", "reviewed_by").prefetch_related(
            Prefetch("activities", queryset=activities)
        )
        return reports_visible_to(self.request.user, queryset)

    def _read_back(self, report: DailyReport) -> dict:
        fresh = self.get_queryset().get(pk=report.pk)
        return self.get_serializer(fresh).data

    # --- The rep's own day

    def _own_day(self, request, day: dt.date) -> Response:
        if request.method == "GET":
            report = self.get_queryset().filter(rep=request.user, day=day).first()
            if report is None:
                raise NotFound(f"No report for {day.isoformat()} yet.")
            return Response(self.get_serializer(report).data)
        serializer = DailyReportWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report, created = reports.daily_report_save(
            rep=request.user,
            day=day,
            notes=data["notes"],
            tomorrow_plan=data["tomorrow_plan"],
            activities=[
                reports.ActivityInput(
                    id=item.get("id"),
                    kind=item["kind"],
                    occurred_at=item["occurred_at"],
                    minutes=item["minutes"],
                    outcome=item["outcome"],
                    deal_id=item["deal"],
                    contact_id=item["contact"],
                )
                for item in data["activities"]
            ],
            submit=data["submit"],
        )
        return Response(
            self._read_back(report),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        methods=["GET"],
        responses={200: DailyReportSerializer, 404: OpenApiResponse(description="No report yet.")},
        filters=False,
    )
    @extend_schema(
        methods=["PUT"],
        request=DailyReportWriteSerializer,
        responses=WRITE_RESPONSES,
        filters=False,
    )
    @action(
        detail=False,
        methods=["get", "put"],
        required_permissions=["pipeline.add_dailyreport", "pipeline.change_dailyreport"],
        filterset_class=None,
        pagination_class=None,
    )
    def today(self, request):
        """Your report of today (local time). PUT creates or replaces it and its activities in
        one go (errors name the activity's index; nothing is written then)."""
        return self._own_day(request, reports.local_today())

    @extend_schema(
        methods=["GET"], parameters=[DAY_PARAMETER], responses=DailyReportSerializer, filters=False
    )
    @extend_schema(
        methods=["PUT"],
        parameters=[DAY_PARAMETER],
        request=DailyReportWriteSerializer,
        responses=WRITE_RESPONSES,
        filters=False,
    )
    @action(
        detail=False,
        methods=["get", "put"],
        url_path=r"day/(?P<day>\d{4}-\d{2}-\d{2})",
        url_name="day",
        required_permissions=["pipeline.add_dailyreport", "pipeline.change_dailyreport"],
        filterset_class=None,
        pagination_class=None,
    )
    def day(self, request, day: str):
        """Your report of a recent past day (not a future one); PUT as for `today/`."""
        try:
            parsed = dt.date.fromisoformat(day)
        except ValueError as exc:
            message = f"{day!r} is not a date."
            raise ApplicationError(message, errors={"day": [message]}) from exc
        return self._own_day(request, parsed)

    # --- Status changes

    @extend_schema(request=None, responses=DailyReportSerializer)
    @action(detail=True, methods=["post"], required_permissions=["pipeline.change_dailyreport"])
    def submit(self, request, pk=None):
        """Hand the report in to the manager (the rep, while it is a draft or returned)."""
        report = reports.daily_report_submit(report=self.get_object(), actor=request.user)
        return Response(self._read_back(report))

    @extend_schema(request=DailyReportApproveSerializer, responses=DailyReportSerializer)
    @action(detail=True, methods=["post"], required_permissions=["pipeline.review_dailyreport"])
    def approve(self, request, pk=None):
        """Approve a submitted report (a reviewer: the rep's manager)."""
        report = self.get_object()
        serializer = DailyReportApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reports.daily_report_approve(report=report, actor=request.user, **serializer.validated_data)
        return Response(self._read_back(report))

    @extend_schema(request=DailyReportCommentSerializer, responses=DailyReportSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="return",
        url_name="return",
        required_permissions=["pipeline.review_dailyreport"],
    )
    def return_for_changes(self, request, pk=None):
        """Send a submitted report back to the rep with a comment (required)."""
        report = self.get_object()
        serializer = DailyReportCommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reports.daily_report_return(report=report, actor=request.user, **serializer.validated_data)
        return Response(self._read_back(report))

    @extend_schema(request=DailyReportCommentSerializer, responses=DailyReportSerializer)
    @action(detail=True, methods=["post"], required_permissions=["pipeline.review_dailyreport"])
    def comment(self, request, pk=None):
        """Comment on a handed-in report without changing its status; the rep is told."""
        report = self.get_object()
        serializer = DailyReportCommentSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reports.daily_report_comment(report=report, actor=request.user, **serializer.validated_data)
        return Response(self._read_back(report))


def register(router: DefaultRouter) -> None:
    router.register("daily-reports", DailyReportViewSet, basename="dailyreport")
