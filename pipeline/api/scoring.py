"""Lead scoring and screening over the API: rules, the screening policy, scored leads with why
they score, follow-ups, and a rep's qualify/disqualify decision."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.models import JourneyStage, Team
from frontoffice.api.filters import BooleanFilter, IdFilter, TextSearchFilter
from frontoffice.api.serializers import IdField, StrictModelSerializer, StrictSerializer
from frontoffice.api.viewsets import ServiceModelViewSet
from pipeline import scoring, screening
from pipeline.models import (
    Campaign,
    FollowUpTask,
    LeadScore,
    LeadScoreChange,
    LeadSegment,
    ScoringRule,
    ScreeningPolicy,
)

# How many of a lead's latest score changes /leads/{id}/score/ shows.
SCORE_HISTORY_LENGTH = 100


def _display_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- Scoring rules ------------------------------------------------------------------------------


class ScoringRuleSerializer(StrictModelSerializer):
    campaign = IdField(queryset=Campaign.objects.all(), allow_null=True, required=False)
    points = serializers.IntegerField(
        min_value=-scoring.MAX_RULE_POINTS,
        max_value=scoring.MAX_RULE_POINTS,
        help_text="May be negative.",
    )

    class Meta:
        model = ScoringRule
        fields = ["id", *scoring.RULE_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        # The shape (fit vs behaviour fields) is checked by the service, with field messages.
        validators: list = []


class ScoringRuleFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("name", "value"))
    kind = django_filters.ChoiceFilter(choices=ScoringRule.Kind.choices)
    is_active = BooleanFilter()
    attribute = django_filters.ChoiceFilter(choices=ScoringRule.Attribute.choices)
    touchpoint_kind = django_filters.ChoiceFilter(
        choices=ScoringRule._meta.get_field("touchpoint_kind").choices
    )
    channel = django_filters.ChoiceFilter(choices=ScoringRule._meta.get_field("channel").choices)
    campaign = IdFilter(field_name="campaign_id")

    class Meta:
        model = ScoringRule
        fields = ["q", "kind", "is_active", "attribute", "touchpoint_kind", "channel", "campaign"]


class ScoringRuleViewSet(ServiceModelViewSet):
    """The rules of the lead score (Admin only may write). Every change rescores everyone."""

    serializer_class = ScoringRuleSerializer
    filterset_class = ScoringRuleFilter
    ordering_fields = ["name", "kind", "points", "half_life_days", "created_at", "id"]
    ordering = ["kind", "name", "id"]

    def get_queryset(self):
        return ScoringRule.objects.all()

    def create_object(self, data):
        return scoring.scoring_rule_save(rule=ScoringRule(), **data)

    def update_object(self, instance, data):
        return scoring.scoring_rule_save(rule=instance, **data)

    def perform_destroy(self, instance):
        scoring.scoring_rule_delete(rule=instance)


# --- Screening policy ---------------------------------------------------------------------------


class ScreeningPolicySerializer(StrictModelSerializer):
    sales_team = IdField(queryset=Team.objects.all(), allow_null=True, required=False)
    sales_team_name = serializers.CharField(
        source="sales_team.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = ScreeningPolicy
        fields = [
            "hot_threshold",
            "sales_team",
            "sales_team_name",
            "follow_up_within_hours",
            "last_assignee",
            "updated_at",
        ]
        read_only_fields = ["last_assignee", "updated_at"]


class ScreeningPolicyView(generics.GenericAPIView):
    """The one screening policy: the hot threshold and the sales team that gets hot leads."""

    serializer_class = ScreeningPolicySerializer
    queryset = ScreeningPolicy.objects.all()  # for the role permission (model permissions)
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> ScreeningPolicy:
        return screening.screening_policy()

    @extend_schema(responses=ScreeningPolicySerializer)
    def get(self, request):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=ScreeningPolicySerializer, responses=ScreeningPolicySerializer)
    def patch(self, request):
        """Change the policy; a new threshold re-screens everyone in the background."""
        policy = self.get_object()
        serializer = self.get_serializer(policy, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        screening.screening_policy_update(policy=policy, **serializer.validated_data)
        return Response(self.get_serializer(screening.screening_policy()).data)


# --- Leads --------------------------------------------------------------------------------------


class BreakdownEntrySerializer(serializers.Serializer):
    rule = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ScoringRule.Kind.choices)
    points = serializers.FloatField()


class LeadSerializer(serializers.ModelSerializer):
    contact = serializers.IntegerField(source="contact_id", read_only=True)
    name = serializers.CharField(source="contact.name", read_only=True)
    email = serializers.CharField(source="contact.email", read_only=True)
    title = serializers.CharField(source="contact.title", read_only=True)
    account = serializers.IntegerField(source="contact.account_id", read_only=True, allow_null=True)
    account_name = serializers.CharField(
        source="contact.account.name", default=None, read_only=True, allow_null=True
    )
    stage = serializers.ChoiceField(
        source="contact.stage", choices=JourneyStage.choices, read_only=True
    )
    owner = serializers.IntegerField(source="contact.owner_id", read_only=True, allow_null=True)
    owner_name = serializers.SerializerMethodField()
    breakdown = BreakdownEntrySerializer(many=True, read_only=True)

    class Meta:
        model = LeadScore
        fields = [
            "contact",
            "name",
            "email",
            "title",
            "account",
            "account_name",
            "stage",
            "owner",
            "owner_name",
            "score",
            "segment",
            "breakdown",
            "computed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_owner_name(self, obj: LeadScore) -> str | None:
        return _display_name(obj.contact.owner)


class LeadScoreChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadScoreChange
        fields = ["from_score", "to_score", "cause", "created_at"]


class LeadScoreDetailSerializer(serializers.ModelSerializer):
    contact = serializers.IntegerField(source="contact_id", read_only=True)
    breakdown = BreakdownEntrySerializer(many=True, read_only=True)
    history = LeadScoreChangeSerializer(many=True, read_only=True)

    class Meta:
        model = LeadScore
        fields = ["contact", "score", "segment", "breakdown", "computed_at", "history"]
        read_only_fields = fields


class DisqualifySerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, help_text="Why this is not a lead.")


class LeadFilter(django_filters.FilterSet):
    q = TextSearchFilter(
        search_fields=(
            "contact__name",
            "contact__email",
            "contact__title",
            "contact__department",
            "contact__account__name",
        )
    )
    segment = django_filters.MultipleChoiceFilter(choices=LeadSegment.choices)
    min_score = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", min_value=-(10**8), max_value=10**8
    )
    stage = django_filters.MultipleChoiceFilter(
        field_name="contact__stage", choices=JourneyStage.choices
    )
    owner = IdFilter(field_name="contact__owner_id")
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), field_name="contact__owner__teams", distinct=True
    )

    class Meta:
        model = LeadScore
        fields = ["q", "segment", "min_score", "stage", "owner", "team"]


class LeadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Scored contacts, hottest first, with the breakdown that explains each score.

    The id is the contact's. Reps qualify (→ prospect) or disqualify (→ lost, with a reason).
    """

    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    ordering_fields = ["score", "computed_at", "contact"]
    ordering = ["-score", "contact"]
    # Digits only: `leads/capture/` is the public capture endpoint, not a lead.
    lookup_value_regex = r"[0-9]+"
    # Set per @action: the permissions that action needs instead of the model permission.
    required_permissions: list[str] | None = None

    def get_queryset(self):
        return LeadScore.objects.select_related("contact__account", "contact__owner")

    def get_object(self):
        # The id is a contact's, looked up through the score's foreign key: Django keeps an
        # out-of-range number away from the database only for a model's own integer fields,
        # and SQLite fails (a 500) on one past 2**63 - 1. No contact has such an id.
        if int(self.kwargs[self.lookup_url_kwarg or self.lookup_field]) > 2**63 - 1:
            raise NotFound()
        return super().get_object()

    def _lead_response(self, lead: LeadScore) -> Response:
        fresh = self.get_queryset().get(pk=lead.pk)
        return Response(LeadSerializer(fresh, context=self.get_serializer_context()).data)

    @extend_schema(responses=LeadScoreDetailSerializer, filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=None)
    def score(self, request, pk=None):
        """The score, its breakdown and its latest changes (newest first)."""
        lead = self.get_object()
        lead.history = list(
            LeadScoreChange.objects.filter(contact_id=lead.contact_id).order_by(
                "-created_at", "-id"
            )[:SCORE_HISTORY_LENGTH]
        )
        return Response(LeadScoreDetailSerializer(lead).data)

    @extend_schema(request=None, responses={200: LeadSerializer, 409: None})
    @action(detail=True, methods=["post"], required_permissions=screening.DECIDE_PERMISSIONS)
    def qualify(self, request, pk=None):
        """The lead is real: the journey moves to `prospect` and its follow-up is done."""
        lead = self.get_object()
        screening.lead_qualify(contact=lead.contact, actor=request.user)
        return self._lead_response(lead)

    @extend_schema(request=DisqualifySerializer, responses={200: LeadSerializer, 409: None})
    @action(detail=True, methods=["post"], required_permissions=screening.DECIDE_PERMISSIONS)
    def disqualify(self, request, pk=None):
        """The lead is not one: the journey moves to `lost` with the reason and its follow-up
        is cancelled."""
        lead = self.get_object()
        serializer = DisqualifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        screening.lead_disqualify(
            contact=lead.contact, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return self._lead_response(lead)


# --- Follow-ups ---------------------------------------------------------------------------------


class FollowUpTaskSerializer(serializers.ModelSerializer):
    contact_name = serializers.CharField(source="contact.name", read_only=True)
    assignee_name = serializers.SerializerMethodField()

    class Meta:
        model = FollowUpTask
        fields = [
            "id",
            "contact",
            "contact_name",
            "assignee",
            "assignee_name",
            "status",
            "score",
            "due_at",
            "outcome",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_assignee_name(self, obj: FollowUpTask) -> str | None:
        return _display_name(obj.assignee)


class FollowUpTaskFilter(django_filters.FilterSet):
    mine = BooleanFilter(method="filter_mine", label="Only the follow-ups assigned to me")
    status = django_filters.MultipleChoiceFilter(choices=FollowUpTask.Status.choices)
    assignee = IdFilter(field_name="assignee_id")
    contact = IdFilter(field_name="contact_id")

    class Meta:
        model = FollowUpTask
        fields = ["mine", "status", "assignee", "contact"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(assignee=self.request.user) if value else queryset


class FollowUpTaskViewSet(viewsets.ReadOnlyModelViewSet):
    """Hot leads to call, soonest due first; `?mine=true&status=open` is a rep's inbox.
    They are closed by qualifying or disqualifying the lead."""

    serializer_class = FollowUpTaskSerializer
    filterset_class = FollowUpTaskFilter
    ordering_fields = ["due_at", "created_at", "score", "id"]
    ordering = ["due_at", "id"]

    def get_queryset(self):
        return FollowUpTask.objects.select_related("contact", "assignee")
