"""KPI snapshots over the API: read them (latest, one family, history for trends) and queue runs.

``GET /kpis/`` and ``GET /kpis/{id}/`` need ``frontoffice.view_kpisnapshot``;
``POST /kpis/compute/`` needs ``frontoffice.compute_kpis``; ``GET /kpis/runs/`` and
``/kpis/runs/{id}/`` need ``frontoffice.view_kpirun``.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from frontoffice.api.filters import BooleanFilter, DayRangeFilter
from frontoffice.api.serializers import StrictSerializer
from frontoffice.kpis import engine, snapshots
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import KpiRun, KpiSnapshot, PeriodKind, ScopeKind

# The families, and the bottleneck stored beside them.
FAMILY_CHOICES = [(name, name) for name in [*engine.FAMILIES, "bottleneck"]]
FIGURE_PATTERN = r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"


def _family_values(values: dict, family: str | None) -> Any:
    return values if not family else {family: values.get(family)}


def _figure(values: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(values, dict):
            return None
        values = values.get(key)
    return values


# --- Snapshots ----------------------------------------------------------------------------------


class KpiSnapshotSerializer(serializers.ModelSerializer):
    period = serializers.SerializerMethodField(help_text="2026-11, 2026-W47, 2026-11-22 or a..b.")
    scope = serializers.CharField(source="scope_kind", read_only=True)
    values = serializers.SerializerMethodField(
        help_text="Every family's figures and the bottleneck (shapes: frontoffice/kpis/engine.py);"
        " only the requested one with ?family=."
    )

    class Meta:
        model = KpiSnapshot
        fields = [
            "id",
            "period",
            "period_kind",
            "period_start",
            "period_end",
            "scope",
            "scope_key",
            "definition_version",
            "computed_at",
            "duration_ms",
            "values",
        ]
        read_only_fields = fields
        extra_kwargs = {"period_end": {"help_text": "The day after the period (not included)."}}

    def get_period(self, obj: KpiSnapshot) -> str:
        return snapshots.period_of(obj).label

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_values(self, obj: KpiSnapshot) -> dict:
        return _family_values(obj.values, self.context.get("family"))


class KpiSnapshotFilter(django_filters.FilterSet):
    period_kind = django_filters.MultipleChoiceFilter(choices=PeriodKind.choices)
    period_start = DayRangeFilter()
    scope = django_filters.MultipleChoiceFilter(field_name="scope_kind", choices=ScopeKind.choices)
    scope_key = django_filters.CharFilter(max_length=100)
    latest = BooleanFilter(
        method="filter_latest",
        label="Only the newest period of each period kind and scope.",
    )
    family = django_filters.ChoiceFilter(
        choices=FAMILY_CHOICES, method="filter_family", label="Return only this family's values."
    )

    class Meta:
        model = KpiSnapshot
        fields = ["period_kind", "period_start", "scope", "scope_key", "latest", "family"]

    def filter_latest(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        newer = KpiSnapshot.objects.filter(
            period_kind=OuterRef("period_kind"),
            scope_kind=OuterRef("scope_kind"),
            scope_key=OuterRef("scope_key"),
            period_start__gt=OuterRef("period_start"),
        )
        return queryset.filter(~Exists(newer) if value else Exists(newer))

    def filter_family(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Not a filter: it picks what the serializer returns (validated here, a 400 if unknown).
        return queryset


class KpiComputeSerializer(StrictSerializer):
    period = serializers.CharField(
        max_length=30, help_text="2026-11 (month), 2026-W47 (ISO week), 2026-11-22 (day) or a..b."
    )
    scope = serializers.ChoiceField(choices=ScopeKind.choices, default=ScopeKind.ALL)
    scope_key = serializers.CharField(
        max_length=100,
        required=False,
        default="",
        allow_blank=True,
        help_text="The team, rep or campaign id, the channel or the segment; empty for all.",
    )


class KpiRunQueuedSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    status = serializers.ChoiceField(choices=KpiRun.Status.choices)
    message = serializers.CharField()


class KpiHistoryQuerySerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=ScopeKind.choices, default=ScopeKind.ALL)
    scope_key = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    period_kind = serializers.ChoiceField(choices=PeriodKind.choices, default=PeriodKind.MONTH)
    family = serializers.ChoiceField(choices=FAMILY_CHOICES, required=False)
    figure = serializers.RegexField(
        FIGURE_PATTERN,
        max_length=200,
        required=False,
        help_text="A figure of the family, dotted for nested ones: win_rate, "
        "sales_cycle_days.median.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=120, default=24)

    def validate(self, attrs):
        if attrs.get("figure") and not attrs.get("family"):
            raise serializers.ValidationError({"figure": ["Give the family of the figure."]})
        attrs["scope"] = Scope(attrs["scope"], attrs["scope_key"])
        return attrs


class KpiHistoryPointSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    snapshot = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    value = serializers.JSONField(
        help_text="All values, the family's, or the figure (null where not measured)."
    )


class KpiHistorySerializer(serializers.Serializer):
    scope = serializers.CharField()
    scope_key = serializers.CharField()
    period_kind = serializers.CharField()
    family = serializers.CharField(allow_null=True)
    figure = serializers.CharField(allow_null=True)
    points = KpiHistoryPointSerializer(many=True)


class KpiSnapshotViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """KPI snapshots: one per period and scope, newest period first. Written only by runs."""

    required_permissions: list[str] | None = None
    queryset = KpiSnapshot.objects.all()
    serializer_class = KpiSnapshotSerializer
    filterset_class = KpiSnapshotFilter
    ordering_fields = ["period_start", "period_end", "computed_at", "duration_ms", "id"]
    ordering = ["-period_start", "scope_kind", "scope_key"]
    lookup_value_regex = r"\d+"

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["family"] = self.request.query_params.get("family") or None
        return context

    @extend_schema(
        request=KpiComputeSerializer,
        responses={202: KpiRunQueuedSerializer},
        filters=False,
    )
    @action(
        detail=False,
        methods=["post"],
        required_permissions=["frontoffice.compute_kpis"],
        filterset_class=None,
    )
    def compute(self, request):
        """Queue a run computing the snapshot of a period and scope. 202 with the run's id and
        status (`done` already when no broker is configured; `queued` with a message when the
        broker is unreachable); follow it at `/kpis/runs/{id}/`."""
        data = KpiComputeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        period = Period.parse(data.validated_data["period"])
        scope = Scope(data.validated_data["scope"], data.validated_data["scope_key"])
        run = snapshots.kpi_run_queue(period=period, scope=scope, actor=request.user)
        run.refresh_from_db()
        if run.status == KpiRun.Status.QUEUED and run.error:
            message = run.error
        elif run.status == KpiRun.Status.QUEUED:
            message = f"Queued: follow it at /api/v1/kpis/runs/{run.pk}/."
        elif run.status == KpiRun.Status.FAILED:
            message = f"Failed: {run.error}"
        elif run.status == KpiRun.Status.DONE:
            message = f"Computed: snapshot {run.snapshot_id}."
        else:
            message = "Running."
        body = {"run": run.pk, "status": run.status, "message": message}
        return Response(KpiRunQueuedSerializer(body).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[KpiHistoryQuerySerializer],
        responses=KpiHistorySerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def history(self, request):
        """One scope's snapshots of one period kind, oldest period first (the last `limit`):
        all values, one family's (`family`), or one figure (`family` and `figure`)."""
        query = KpiHistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        scope: Scope = query.validated_data["scope"]
        family = query.validated_data.get("family")
        figure = query.validated_data.get("figure")
        newest = KpiSnapshot.objects.filter(
            scope_kind=scope.kind,
            scope_key=scope.key,
            period_kind=query.validated_data["period_kind"],
        ).order_by("-period_start")[: query.validated_data["limit"]]
        points = []
        for snapshot in reversed(newest):
            value = _family_values(snapshot.values, family)
            if figure:
                value = _figure(snapshot.values.get(family), figure)
            points.append(
                {
                    "period": snapshots.period_of(snapshot).label,
                    "period_start": snapshot.period_start,
                    "period_end": snapshot.period_end,
                    "snapshot": snapshot.pk,
                    "computed_at": snapshot.computed_at,
                    "value": value,
                }
            )
        body = {
            "scope": scope.kind,
            "scope_key": scope.key,
            "period_kind": query.validated_data["period_kind"],
            "family": family,
            "figure": figure,
            "points": points,
        }
        return Response(KpiHistorySerializer(body).data)


# --- Runs ---------------------------------------------------------------------------------------


class KpiRunSerializer(serializers.ModelSerializer):
    period = serializers.SerializerMethodField()
    scope = serializers.CharField(source="scope_kind", read_only=True)
    status = serializers.ChoiceField(choices=KpiRun.Status.choices, read_only=True)
    requested_by_name = serializers.SerializerMethodField()

    class Meta:
        model = KpiRun
        fields = [
            "id",
            "period",
            "period_kind",
            "period_start",
            "period_end",
            "scope",
            "scope_key",
            "status",
            "snapshot",
            "error",
            "requested_by",
            "requested_by_name",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_period(self, obj: KpiRun) -> str:
        return snapshots.period_of(obj).label

    def get_requested_by_name(self, obj: KpiRun) -> str | None:
        user = obj.requested_by
        return (user.get_full_name() or user.get_username()) if user is not None else None


class KpiRunFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=KpiRun.Status.choices)
    period_kind = django_filters.MultipleChoiceFilter(choices=PeriodKind.choices)
    scope = django_filters.MultipleChoiceFilter(field_name="scope_kind", choices=ScopeKind.choices)
    scope_key = django_filters.CharFilter(max_length=100)
    created_at = DayRangeFilter()

    class Meta:
        model = KpiRun
        fields = ["status", "period_kind", "scope", "scope_key", "created_at"]


class KpiRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Requests to compute a snapshot (from the API, the admin, the command or the nightly beat)."""

    queryset = KpiRun.objects.select_related("requested_by")
    serializer_class = KpiRunSerializer
    filterset_class = KpiRunFilter
    ordering_fields = ["created_at", "finished_at", "id"]
    ordering = ["-created_at", "-id"]
    lookup_value_regex = r"\d+"


def register(router: DefaultRouter) -> None:
    # Runs first: `kpis/{id}/` would otherwise try "runs" as an id.
    router.register("kpis/runs", KpiRunViewSet, basename="kpirun")
    router.register("kpis", KpiSnapshotViewSet, basename="kpisnapshot")
