"""Escalations over the API, and the routing and SLA settings.

- ``GET /escalations/``: escalations addressed to the caller (owned by them or to a team they
  supervise; superusers: all), or with ``?requested_by=me`` those the caller asked for; filters
  for status, kind, inquiry and ``overdue``. ``GET /escalations/{id}/`` with the history, for
  anyone who may see the inquiry, the owner and the requester.
- Actions: ``answer`` (text), ``approve`` (comment), ``reject`` (comment required), ``cancel``
  (the requester), ``escalate`` (one level up). Who may act is checked by the service (403).
- ``POST /inquiries/{id}/escalate/`` through ``EscalateActionMixin`` on the inquiry ViewSet.
- ``sla-policies/`` and ``assignment-rules/``: everyone with the view permission reads them;
  supervisors (Manager role) and admins create and change them. No DELETE: deactivate instead
  (inquiries keep pointing at the policy they were measured by).
"""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from accounts.models import Team
from frontoffice.api.filters import BooleanFilter, IdFilter
from frontoffice.api.serializers import (
    BoundedDateTimeField,
    IdField,
    StrictModelSerializer,
    StrictSerializer,
)
from frontoffice.api.viewsets import ServiceModelViewSet
from inquiries import escalations
from inquiries.models import (
    AssignmentRule,
    Escalation,
    EscalationChange,
    EscalationKind,
    EscalationStatus,
    InquiryChannel,
    InquiryPriority,
    SlaPolicy,
)
from inquiries.selectors import (
    escalations_addressed_to,
    inquiries_visible_to,
    inquiries_workable_by,
)

User = get_user_model()

MAX_TARGET_MINUTES = escalations.MAX_TARGET_MINUTES
MAX_POSITION = 1_000_000

urlpatterns: list = []


def _display_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- Serializers --------------------------------------------------------------------------------


class EscalationChangeSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = EscalationChange
        fields = ["id", "from_status", "to_status", "created_at", "actor", "actor_name", "note"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, obj: EscalationChange) -> str | None:
        return _display_name(obj.actor)


class EscalationSerializer(serializers.ModelSerializer):
    inquiry_subject = serializers.CharField(source="inquiry.subject", read_only=True)
    requested_by_name = serializers.SerializerMethodField()
    owner_name = serializers.SerializerMethodField()
    to_team_name = serializers.CharField(
        source="to_team.name", read_only=True, allow_null=True, default=None
    )
    is_overdue = serializers.SerializerMethodField()

    class Meta:
        model = Escalation
        fields = [
            "id",
            "inquiry",
            "inquiry_subject",
            "kind",
            "status",
            "level",
            "parent",
            "requested_by",
            "requested_by_name",
            "owner",
            "owner_name",
            "to_team",
            "to_team_name",
            "reason",
            "answer",
            "due_at",
            "is_overdue",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_requested_by_name(self, obj: Escalation) -> str | None:
        return _display_name(obj.requested_by)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_owner_name(self, obj: Escalation) -> str | None:
        return _display_name(obj.owner)

    @extend_schema_field(serializers.BooleanField())
    def get_is_overdue(self, obj: Escalation) -> bool:
        return obj.status == EscalationStatus.OPEN and obj.due_at < timezone.now()


class EscalationDetailSerializer(EscalationSerializer):
    changes = EscalationChangeSerializer(many=True, read_only=True)

    class Meta(EscalationSerializer.Meta):
        fields = [*EscalationSerializer.Meta.fields, "changes"]
        read_only_fields = fields


class EscalateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=EscalationKind.choices)
    reason = serializers.CharField(max_length=escalations.TEXT_MAX_LENGTH)
    to_team = IdField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The specialist department (transfer only).",
    )
    owner = IdField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="Instructions and approval: the supervisor or manager to ask "
        "(default: the supervisor of the inquiry's team).",
    )
    due_at = BoundedDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: per kind (transfer 8 h, instructions 2 h, approval 4 h).",
    )


class AnswerSerializer(StrictSerializer):
    text = serializers.CharField(max_length=escalations.TEXT_MAX_LENGTH)


class ApproveSerializer(StrictSerializer):
    comment = serializers.CharField(
        max_length=escalations.TEXT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


class RejectSerializer(StrictSerializer):
    comment = serializers.CharField(
        max_length=escalations.TEXT_MAX_LENGTH, help_text="Why: required."
    )


class CancelSerializer(StrictSerializer):
    reason = serializers.CharField(
        max_length=escalations.TEXT_MAX_LENGTH, required=False, allow_blank=True, default=""
    )


# --- Escalations --------------------------------------------------------------------------------


class EscalationFilter(django_filters.FilterSet):
    requested_by = django_filters.ChoiceFilter(
        choices=[("me", "me")],
        method="filter_requested_by",
        label="me: the escalations I asked for (instead of those addressed to me)",
    )
    status = django_filters.MultipleChoiceFilter(choices=EscalationStatus.choices)
    kind = django_filters.MultipleChoiceFilter(choices=EscalationKind.choices)
    inquiry = IdFilter(field_name="inquiry_id")
    level = django_filters.NumberFilter(min_value=1, max_value=100)
    overdue = BooleanFilter(method="filter_overdue", label="open and past its due time")

    class Meta:
        model = Escalation
        fields = ["requested_by", "status", "kind", "inquiry", "level", "overdue"]

    def filter_requested_by(self, queryset, name, value: str):
        return queryset  # the scope is chosen in the view's get_queryset

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = Q(status=EscalationStatus.OPEN, due_at__lt=timezone.now())
        return queryset.filter(overdue if value else ~overdue)


def _escalations():
    return Escalation.objects.select_related("inquiry__team", "requested_by", "owner", "to_team")


def _with_history(queryset):
    return queryset.prefetch_related(
        Prefetch(
            "changes",
            queryset=EscalationChange.objects.select_related("actor").order_by("created_at", "id"),
        )
    )


def escalation_read_back(escalation: Escalation, context: dict) -> dict:
    fresh = _with_history(_escalations()).get(pk=escalation.pk)
    return EscalationDetailSerializer(fresh, context=context).data


class EscalationViewSet(viewsets.ReadOnlyModelViewSet):
    """Escalations addressed to me (or, `?requested_by=me`, asked by me) and their answers."""

    serializer_class = EscalationSerializer
    filterset_class = EscalationFilter
    ordering_fields = ["due_at", "created_at", "level", "status", "kind", "id"]
    ordering = ["due_at", "id"]
    # Actions name their permissions; who may act on which escalation is the service's check.
    required_permissions: list[str] | None = None

    def get_serializer_class(self):
        if self.action == "retrieve":
            return EscalationDetailSerializer
        return super().get_serializer_class()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no user
            return Escalation.objects.none()
        user = self.request.user
        queryset = _escalations()
        if self.action == "list":
            if self.request.query_params.get("requested_by") == "me":
                return queryset.filter(requested_by=user)
            return escalations_addressed_to(user, queryset)
        if escalations.is_escalation_admin(user):
            return _with_history(queryset)
        return _with_history(
            queryset.filter(
                Q(requested_by=user)
                | Q(pk__in=escalations_addressed_to(user).values("pk"))
                | Q(inquiry__in=inquiries_visible_to(user).values("pk"))
            )
        )

    def _done(self, escalation: Escalation, code: int = status.HTTP_200_OK) -> Response:
        return Response(
            escalation_read_back(escalation, self.get_serializer_context()), status=code
        )

    @extend_schema(request=AnswerSerializer, responses=EscalationDetailSerializer)
    @action(detail=True, methods=["post"], required_permissions=["inquiries.view_escalation"])
    def answer(self, request, pk=None):
        """Answer a transfer or a request for instructions (owner, team supervisor, admin)."""
        escalation = self.get_object()
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalations.escalation_answer(
            escalation=escalation, actor=request.user, **serializer.validated_data
        )
        return self._done(escalation)

    @extend_schema(request=ApproveSerializer, responses=EscalationDetailSerializer)
    @action(detail=True, methods=["post"], required_permissions=["inquiries.view_escalation"])
    def approve(self, request, pk=None):
        """Approve an approval request, optionally with a comment."""
        escalation = self.get_object()
        serializer = ApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalations.escalation_approve(
            escalation=escalation, actor=request.user, **serializer.validated_data
        )
        return self._done(escalation)

    @extend_schema(request=RejectSerializer, responses=EscalationDetailSerializer)
    @action(detail=True, methods=["post"], required_permissions=["inquiries.view_escalation"])
    def reject(self, request, pk=None):
        """Reject an approval request with the reason why."""
        escalation = self.get_object()
        serializer = RejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalations.escalation_reject(
            escalation=escalation, actor=request.user, **serializer.validated_data
        )
        return self._done(escalation)

    @extend_schema(request=CancelSerializer, responses=EscalationDetailSerializer)
    @action(detail=True, methods=["post"], required_permissions=["inquiries.view_escalation"])
    def cancel(self, request, pk=None):
        """Withdraw one's own escalation."""
        escalation = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalations.escalation_cancel(
            escalation=escalation, actor=request.user, **serializer.validated_data
        )
        return self._done(escalation)

    @extend_schema(request=EscalateSerializer, responses={201: EscalationDetailSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="escalate",
        required_permissions=["inquiries.escalate_inquiry"],
    )
    def escalate_further(self, request, pk=None):
        """Escalate this open escalation one level up (e.g. to the supervisor's manager or
        another department); it stays open until its owner answers."""
        parent = self.get_object()
        serializer = EscalateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        child = escalations.escalate(
            inquiry=parent.inquiry, parent=parent, actor=request.user, **serializer.validated_data
        )
        return self._done(child, status.HTTP_201_CREATED)


class EscalateActionMixin:
    """Adds ``POST /inquiries/{id}/escalate/`` to the inquiry ViewSet."""

    @extend_schema(request=EscalateSerializer, responses={201: EscalationDetailSerializer})
    @action(detail=True, methods=["post"], required_permissions=["inquiries.escalate_inquiry"])
    def escalate(self, request, pk=None):
        """Escalate the inquiry: a transfer to a specialist department, a request for a
        supervisor's instructions, or an approval request. The owner is notified by email."""
        inquiry = self.get_object()
        if not inquiries_workable_by(request.user).filter(pk=inquiry.pk).exists():
            raise PermissionDenied("You may see this inquiry but not work on it.")
        serializer = EscalateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        escalation = escalations.escalate(
            inquiry=inquiry, actor=request.user, **serializer.validated_data
        )
        return Response(
            escalation_read_back(escalation, self.get_serializer_context()),
            status=status.HTTP_201_CREATED,
        )


# --- SLA policies and assignment rules ----------------------------------------------------------


class SlaPolicySerializer(StrictModelSerializer):
    first_response_minutes = serializers.IntegerField(min_value=1, max_value=MAX_TARGET_MINUTES)
    resolution_minutes = serializers.IntegerField(min_value=1, max_value=MAX_TARGET_MINUTES)
    business_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7),
        max_length=7,
        required=False,
        help_text="ISO weekdays: 1 = Monday ... 7 = Sunday.",
    )

    class Meta:
        model = SlaPolicy
        fields = [
            "id",
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
            "created_at",
        ]
        read_only_fields = ["created_at"]
        # The service checks the one-active-policy rule and names the field at fault.
        validators: list = []


class SlaPolicyFilter(django_filters.FilterSet):
    priority = django_filters.MultipleChoiceFilter(choices=InquiryPriority.choices)
    channel = django_filters.ChoiceFilter(
        choices=[("any", "Any channel"), *InquiryChannel.choices],
        method="filter_channel",
        label="a channel, or `any` for the policies of every channel",
    )
    is_active = BooleanFilter()

    class Meta:
        model = SlaPolicy
        fields = ["priority", "channel", "is_active"]

    def filter_channel(self, queryset, name, value):
        return queryset.filter(channel="" if value == "any" else value)


class SlaPolicyViewSet(ServiceModelViewSet):
    """SLA targets per priority (and optionally channel), with optional business hours."""

    serializer_class = SlaPolicySerializer
    filterset_class = SlaPolicyFilter
    ordering_fields = ["priority", "channel", "name", "created_at", "id"]
    ordering = ["priority", "channel", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return SlaPolicy.objects.all()

    def create_object(self, data):
        return escalations.sla_policy_create(**data)

    def update_object(self, instance, data):
        return escalations.sla_policy_update(policy=instance, **data)


class AssignmentRuleSerializer(StrictModelSerializer):
    team = IdField(queryset=Team.objects.all())
    team_name = serializers.CharField(source="team.name", read_only=True)
    position = serializers.IntegerField(min_value=0, max_value=MAX_POSITION, required=False)
    last_assignee_name = serializers.SerializerMethodField()

    class Meta:
        model = AssignmentRule
        fields = [
            "id",
            "name",
            "position",
            "team",
            "team_name",
            "channel",
            "category",
            "strategy",
            "is_active",
            "last_assignee",
            "last_assignee_name",
            "created_at",
        ]
        read_only_fields = ["last_assignee", "created_at"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_last_assignee_name(self, obj: AssignmentRule) -> str | None:
        return _display_name(obj.last_assignee)


class AssignmentRuleFilter(django_filters.FilterSet):
    team = IdFilter(field_name="team_id")
    channel = django_filters.MultipleChoiceFilter(choices=InquiryChannel.choices)
    strategy = django_filters.MultipleChoiceFilter(choices=AssignmentRule.Strategy.choices)
    is_active = BooleanFilter()

    class Meta:
        model = AssignmentRule
        fields = ["team", "channel", "strategy", "is_active"]


class AssignmentRuleViewSet(ServiceModelViewSet):
    """Which team (and agent, by round robin or least open work) gets new inquiries."""

    serializer_class = AssignmentRuleSerializer
    filterset_class = AssignmentRuleFilter
    ordering_fields = ["position", "name", "created_at", "id"]
    ordering = ["position", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return AssignmentRule.objects.select_related("team", "last_assignee")

    def create_object(self, data):
        return escalations.assignment_rule_create(**data)

    def update_object(self, instance, data):
        return escalations.assignment_rule_update(rule=instance, **data)


def register(router: DefaultRouter) -> None:
    router.register("escalations", EscalationViewSet, basename="escalation")
    router.register("sla-policies", SlaPolicyViewSet, basename="sla-policy")
    router.register("assignment-rules", AssignmentRuleViewSet, basename="assignment-rule")
