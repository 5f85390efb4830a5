"""Deals over the API: the list (scoped to what the caller may see), create and edit through the
services, stage moves, the stage history, a kanban summary, and the stage settings (read-only).

Visibility is ``pipeline.selectors``: a deal the caller may not see is a 404; one they may see
but not change (an agent's served customer's deal, a marketer's) is a 403 on PATCH and move.
DELETE needs ``pipeline.delete_deal``, which only the Admin role has (403 for everyone else):
deals are history, and deleting one erases its stage changes with it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Case, Count, IntegerField, Sum, Value, When
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from accounts.models import Account, Contact, Team
from frontoffice.api.filters import BooleanFilter, DayRangeFilter, IdFilter, TextSearchFilter
from frontoffice.api.serializers import IdField, StrictModelSerializer, StrictSerializer
from frontoffice.api.viewsets import ServiceModelViewSet
from frontoffice.errors import PermissionDeniedError
from pipeline import deal_stages, deals
from pipeline.models import Campaign, Deal, DealStage, DealStageChange, DealStageSetting
from pipeline.selectors import can_edit_deal, deal_owners_assignable_by, deals_visible_to

User = get_user_model()

# The board's columns, in pipeline order.
STAGE_ORDER: tuple[str, ...] = (*deal_stages.OPEN, *deal_stages.CLOSED)
MOVE_ONLY = "The stage changes only through POST /api/v1/deals/{id}/move/."
CURRENCY_MESSAGE = "A currency is a three-letter code such as JPY or USD."
# Decimal places of amounts (Deal.amount); sums may have more digits than one amount.
AMOUNT_PLACES = 2


def _display_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- Serializers --------------------------------------------------------------------------------


class DealMoveOptionSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=DealStage.choices)
    needs_reason = serializers.BooleanField()


class DealSerializer(StrictModelSerializer):
    """A deal as read, and the fields a PATCH may change (never the stage)."""

    account = IdField(queryset=Account.objects.all(), allow_null=True, required=False)
    contact = IdField(queryset=Contact.objects.all(), allow_null=True, required=False)
    owner = IdField(queryset=User.objects.filter(is_active=True), required=False)
    team = IdField(queryset=Team.objects.all(), allow_null=True, required=False)
    campaign = IdField(queryset=Campaign.objects.all(), allow_null=True, required=False)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=AMOUNT_PLACES, min_value=Decimal("0"), required=False
    )
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$",
        required=False,
        error_messages={"invalid": CURRENCY_MESSAGE},
        help_text="ISO 4217 code, e.g. JPY (stored upper-case).",
    )
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    account_name = serializers.CharField(
        source="account.name", read_only=True, allow_null=True, default=None
    )
    contact_name = serializers.CharField(
        source="contact.name", read_only=True, allow_null=True, default=None
    )
    owner_name = serializers.SerializerMethodField()
    team_name = serializers.CharField(
        source="team.name", read_only=True, allow_null=True, default=None
    )
    campaign_name = serializers.CharField(
        source="campaign.name", read_only=True, allow_null=True, default=None
    )
    next_moves = serializers.SerializerMethodField()

    class Meta:
        model = Deal
        fields = [
            "id",
            "name",
            "account",
            "account_name",
            "contact",
            "contact_name",
            "owner",
            "owner_name",
            "team",
            "team_name",
            "amount",
            "currency",
            "stage",
            "probability",
            "expected_close_on",
            "campaign",
            "campaign_name",
            "lost_reason",
            "is_stalled",
            "stage_changed_at",
            "last_activity_at",
            "created_at",
            "updated_at",
            "closed_at",
            "external_id",
            "next_moves",
        ]
        read_only_fields = [
            "stage",
            "lost_reason",
            "is_stalled",
            "stage_changed_at",
            "last_activity_at",
            "created_at",
            "updated_at",
            "closed_at",
            "external_id",
        ]

    def validate(self, attrs):
        if "stage" in (getattr(self, "initial_data", None) or {}) and self.instance is not None:
            raise serializers.ValidationError({"stage": [MOVE_ONLY]})
        return super().validate(attrs)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_owner_name(self, obj: Deal) -> str | None:
        return _display_name(obj.owner)

    @extend_schema_field(DealMoveOptionSerializer(many=True))
    def get_next_moves(self, obj: Deal) -> list[dict[str, Any]]:
        """The stages the caller's role may move this deal to, and which need a reason."""
        return [dict(option) for option in self._moves_by_stage().get(obj.stage, [])]

    def _moves_by_stage(self) -> dict[str, list[dict[str, Any]]]:
        # Once per response, not per row: the caller's permissions and each stage's options.
        if getattr(self, "_moves_cache", None) is None:
            request = self.context.get("request")
            user = getattr(request, "user", None)
            may_move = user is not None and user.has_perm("pipeline.move_deal")
            may_reopen = may_move and user.has_perm("pipeline.reopen_deal")
            self._moves_cache = {
                stage: _move_options(stage, may_reopen=may_reopen) if may_move else []
                for stage in DealStage.values
            }
        return self._moves_cache


def _move_options(from_stage: str, *, may_reopen: bool) -> list[dict[str, Any]]:
    options = []
    for stage in deal_stages.allowed_moves(from_stage):
        move = deal_stages.classify_move(from_stage, stage)
        if move == deal_stages.Move.REOPEN and not may_reopen:
            continue
        options.append({"to_stage": stage, "needs_reason": move in deal_stages.REASON_REQUIRED})
    return options


class DealCreateSerializer(DealSerializer):
    """On create only: the starting stage (an open one; default `list`). The owner defaults to
    the caller."""

    stage = serializers.ChoiceField(
        choices=[(value, label) for value, label in DealStage.choices if value in deal_stages.OPEN],
        required=False,
        default=DealStage.LIST,
    )

    class Meta(DealSerializer.Meta):
        read_only_fields = [
            name for name in DealSerializer.Meta.read_only_fields if name != "stage"
        ]


class DealMoveSerializer(StrictSerializer):
    to_stage = serializers.ChoiceField(choices=DealStage.choices)
    note = serializers.CharField(
        max_length=deals.REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="The reason: needed to move back, to lose a deal and to reopen one.",
    )
    expected_stage = serializers.ChoiceField(
        choices=DealStage.choices,
        required=False,
        help_text="The stage the caller's board shows; a deal elsewhere now is a 409.",
    )


class DealStageChangeSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = DealStageChange
        fields = [
            "id",
            "from_stage",
            "to_stage",
            "amount",
            "created_at",
            "actor",
            "actor_name",
            "note",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, obj: DealStageChange) -> str | None:
        return _display_name(obj.actor)


class _AmountsField(serializers.DictField):
    child = serializers.DecimalField(max_digits=None, decimal_places=AMOUNT_PLACES)


class DealStageSummarySerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=DealStage.choices)
    count = serializers.IntegerField()
    amounts = _AmountsField(help_text="The summed amount per currency (ISO code → amount).")


class DealTotalSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    amounts = _AmountsField(help_text="The summed amount per currency (ISO code → amount).")


class DealSummarySerializer(serializers.Serializer):
    currencies = serializers.ListField(child=serializers.CharField())
    stages = DealStageSummarySerializer(many=True)
    total = DealTotalSerializer()


class DealStageSettingSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="get_stage_display", read_only=True)

    class Meta:
        model = DealStageSetting
        fields = ["stage", "label", "probability", "stall_after_days"]
        read_only_fields = fields


# --- Filters ------------------------------------------------------------------------------------


def _amount_filter(lookup: str) -> django_filters.NumberFilter:
    # Bounded like the column, so `?amount_min=1e400` is a 400 and not an overflow (500).
    return django_filters.NumberFilter(
        field_name="amount",
        lookup_expr=lookup,
        max_digits=14,
        decimal_places=AMOUNT_PLACES,
        min_value=Decimal("0"),
    )


class DealFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("name", "account__name"))
    # A column of the deal itself: no duplicates to remove (the default DISTINCT made every
    # filtered list and its count sort the whole scope).
    stage = django_filters.MultipleChoiceFilter(choices=DealStage.choices, distinct=False)
    owner = IdFilter(field_name="owner_id")
    team = IdFilter(field_name="team_id")
    account = IdFilter(field_name="account_id")
    contact = IdFilter(field_name="contact_id")
    campaign = IdFilter(field_name="campaign_id")
    amount_min = _amount_filter("gte")
    amount_max = _amount_filter("lte")
    currency = django_filters.CharFilter(lookup_expr="iexact", max_length=3)
    expected_close_on = DayRangeFilter()
    created_at = DayRangeFilter()
    closed_at = DayRangeFilter()
    stalled = BooleanFilter(field_name="is_stalled")

    class Meta:
        model = Deal
        fields = [
            "q",
            "stage",
            "owner",
            "team",
            "account",
            "contact",
            "campaign",
            "amount_min",
            "amount_max",
            "currency",
            "expected_close_on",
            "created_at",
            "closed_at",
            "stalled",
        ]


# --- Views --------------------------------------------------------------------------------------

# What a page of the list reads: the deal and the names of its related rows (DealSerializer).
DEAL_LIST_COLUMNS = (
    *(field.name for field in Deal._meta.concrete_fields),
    "account__name",
    "contact__name",
    *(f"owner__{name}" for name in ("username", "first_name", "last_name")),
    "team__name",
    "campaign__name",
)

# Actions that change the deal: the caller must be allowed to edit it, not only to see it.
WRITE_ACTIONS = frozenset({"update", "partial_update", "destroy", "move"})


class DealViewSet(ServiceModelViewSet):
    """Sales deals, moving list → proposal → opportunity → quote → won/lost. A rep sees their
    own, a manager their teams', an agent those of the customers they served, a marketer and the
    admin every deal. The stage changes only through `move`. DELETE is the Admin's alone (403)."""

    permission_model = Deal  # see RolePermission._queryset
    serializer_class = DealSerializer
    create_serializer_class = DealCreateSerializer
    filterset_class = DealFilter
    ordering_fields = [
        "name",
        "amount",
        "stage",
        "probability",
        "expected_close_on",
        "stage_changed_at",
        "last_activity_at",
        "created_at",
        "updated_at",
        "closed_at",
        "id",
    ]
    ordering = ["-created_at", "-id"]
    # No PUT: a deal is changed field by field (PATCH).
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        queryset = Deal.objects.select_related("account", "contact", "owner", "team", "campaign")
        if self.action == "list":
            # A page shows only the names of the related rows: load those columns alone.
            queryset = queryset.only(*DEAL_LIST_COLUMNS)
        return deals_visible_to(self.request.user, queryset)

    def get_object(self) -> Deal:
        deal = super().get_object()  # 404 when the caller may not see it
        if self.action in WRITE_ACTIONS and not can_edit_deal(self.request.user, deal):
            raise PermissionDenied("You may read this deal but not change it.")
        return deal

    def _check_owner(self, owner) -> None:
        user = self.request.user
        if not deal_owners_assignable_by(user).filter(pk=owner.pk).exists():
            message = (
                "You may only make yourself or a member of your teams the owner."
                if user.has_perm("pipeline.view_team_deals")
                else "You may only own your deals yourself."
            )
            raise PermissionDeniedError(message, errors={"owner": [message]})

    def create_object(self, data: dict[str, Any]) -> Deal:
        data = {**data, "owner": data.get("owner") or self.request.user}
        self._check_owner(data["owner"])
        return deals.deal_create(**data, actor=self.request.user)

    def update_object(self, instance: Deal, data: dict[str, Any]) -> Deal:
        if "owner" in data and data["owner"].pk != instance.owner_id:
            self._check_owner(data["owner"])
        return deals.deal_update(deal=instance, actor=self.request.user, **data)

    def perform_destroy(self, instance: Deal) -> None:
        deals.deal_delete(deal=instance, actor=self.request.user)

    @extend_schema(
        request=DealMoveSerializer,
        responses={200: DealSerializer, 400: None, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["pipeline.move_deal"])
    def move(self, request, pk=None):
        """Move the deal to `to_stage`. Forward is free; back, lost and reopen (won/lost back to
        an open stage, a manager's move) need a `note`. 409 when the deal moved meanwhile or is
        not at `expected_stage`."""
        deal = self.get_object()
        serializer = DealMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deals.deal_move(deal=deal, actor=request.user, **serializer.validated_data)
        return Response(self._read_back(deal))

    @extend_schema(responses=DealStageChangeSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=None)
    def history(self, request, pk=None):
        """The deal's stage changes, newest first."""
        deal = self.get_object()
        changes = (
            DealStageChange.objects.filter(deal=deal)
            .select_related("actor")
            .order_by("-created_at", "-id")
        )
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(DealStageChangeSerializer(page, many=True).data)

    @extend_schema(responses=DealSummarySerializer, filters=True)
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request):
        """The board: count and amount (per currency) of the caller's deals per stage, every
        stage present, with the list's filters. One query."""
        deals_in_scope = self.filter_queryset(self.get_queryset())
        return Response(DealSummarySerializer(deal_summary(deals_in_scope)).data)


def deal_summary(queryset) -> dict[str, Any]:
    """Count and amounts per stage and currency of `queryset`, in one grouped query. The sums
    are exact on PostgreSQL (numeric); SQLite adds in floating point, exact to 15 digits."""
    rows = list(
        queryset.order_by()
        .values("stage", "currency")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by()
    )
    currencies = sorted({row["currency"] for row in rows})

    def empty(**extra: Any) -> dict[str, Any]:
        return {**extra, "count": 0, "amounts": dict.fromkeys(currencies, Decimal("0"))}

    stages = {stage: empty(stage=stage) for stage in STAGE_ORDER}
    total = empty()
    for row in rows:
        for bucket in (stages[row["stage"]], total):
            bucket["count"] += row["count"]
            bucket["amounts"][row["currency"]] += row["amount"] or Decimal("0")
    return {"currencies": currencies, "stages": list(stages.values()), "total": total}


class DealStageSettingViewSet(viewsets.ReadOnlyModelViewSet):
    """Per stage: the default win probability a deal takes on entering it, and after how many
    days in it a deal counts as stalled. Read-only here; the Admin changes them in the admin."""

    serializer_class = DealStageSettingSerializer
    lookup_field = "stage"
    filterset_class = None
    ordering_fields = ["probability", "stage"]
    ordering = ["position"]

    def get_queryset(self):
        position = Case(
            *(When(stage=stage, then=Value(index)) for index, stage in enumerate(STAGE_ORDER)),
            output_field=IntegerField(),
        )
        return DealStageSetting.objects.annotate(position=position)


def register(router: DefaultRouter) -> None:
    router.register("deals", DealViewSet, basename="deal")
    router.register("deal-stages", DealStageSettingViewSet, basename="dealstage")
