"""The product catalogue and quotes: drafts with their lines in one request, then send, accept or
reject as actions. Who sees and edits which quote: ``pipeline.selectors``."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import django_filters
from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from frontoffice.api.filters import BooleanFilter, DayRangeFilter, IdFilter, TextSearchFilter
from frontoffice.api.serializers import IdField, StrictModelSerializer, StrictSerializer
from frontoffice.api.viewsets import ServiceModelViewSet
from pipeline import quotes, selectors
from pipeline.models import Deal, Product, Quote, QuoteLine, QuoteStatus, QuoteStatusChange

MONEY_LIMIT = 10**14


def _display_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- Products -----------------------------------------------------------------------------------


class ProductSerializer(StrictModelSerializer):
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)

    class Meta:
        model = Product
        fields = [
            "id",
            "code",
            "name",
            "series",
            "unit_price",
            "currency",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate_unit_price(self, value):
        if value < 0:
            raise serializers.ValidationError("A price cannot be negative.")
        return value


class ProductFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("code", "name", "series"))
    series = django_filters.CharFilter(field_name="series", max_length=100)
    is_active = BooleanFilter()
    currency = django_filters.CharFilter(field_name="currency", lookup_expr="iexact", max_length=3)

    class Meta:
        model = Product
        fields = ["q", "series", "is_active", "currency"]


class ProductViewSet(ServiceModelViewSet):
    """The catalogue quotes offer from. Everyone in sales reads it; the Admin edits it. A product
    on a quote cannot be deleted (409): deactivate it instead."""

    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    ordering_fields = ["code", "name", "series", "unit_price", "created_at", "id"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return Product.objects.all()

    def create_object(self, data):
        return quotes.product_create(**data)

    def update_object(self, instance, data):
        return quotes.product_update(product=instance, **data)


# --- Quotes: output -----------------------------------------------------------------------------


class QuoteLineSerializer(serializers.ModelSerializer):
    product_code = serializers.CharField(source="product.code", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = QuoteLine
        fields = [
            "position",
            "product",
            "product_code",
            "product_name",
            "description",
            "quantity",
            "unit_price",
            "discount_percent",
            "line_total",
        ]
        read_only_fields = fields


class QuoteSerializer(serializers.ModelSerializer):
    deal_name = serializers.CharField(source="deal.name", read_only=True)
    account = serializers.IntegerField(source="deal.account_id", read_only=True, allow_null=True)
    account_name = serializers.CharField(
        source="deal.account.name", read_only=True, allow_null=True, default=None
    )
    contact = serializers.IntegerField(source="deal.contact_id", read_only=True, allow_null=True)
    contact_name = serializers.CharField(
        source="deal.contact.name", read_only=True, allow_null=True, default=None
    )
    created_by_name = serializers.SerializerMethodField()
    lines = QuoteLineSerializer(many=True, read_only=True)
    print_url = serializers.SerializerMethodField()

    class Meta:
        model = Quote
        fields = [
            "id",
            "number",
            "deal",
            "deal_name",
            "account",
            "account_name",
            "contact",
            "contact_name",
            "status",
            "currency",
            "tax_rate",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "valid_until",
            "notes",
            "lines",
            "created_by",
            "created_by_name",
            "created_at",
            "updated_at",
            "sent_at",
            "decided_at",
            "print_url",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_created_by_name(self, obj: Quote) -> str | None:
        return _display_name(obj.created_by)

    def get_print_url(self, obj: Quote) -> str:
        return reverse("pipeline:quote_print", args=[obj.pk])


class QuoteStatusChangeSerializer(serializers.ModelSerializer):
    # Declared: a read-only model field loses `allow_blank`, and the first row's from is "".
    from_status = serializers.ChoiceField(
        choices=QuoteStatus.choices, allow_blank=True, read_only=True
    )
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = QuoteStatusChange
        fields = ["id", "from_status", "to_status", "created_at", "actor", "actor_name", "note"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, obj: QuoteStatusChange) -> str | None:
        return _display_name(obj.actor)


# --- Quotes: input ------------------------------------------------------------------------------


class QuoteLineInputSerializer(serializers.Serializer):
    product = IdField(queryset=Product.objects.all())
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    unit_price = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal(0),
        required=False,
        help_text="Default: the product's list price.",
    )
    discount_percent = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=Decimal(100),
        required=False,
    )
    description = serializers.CharField(max_length=300, allow_blank=True, required=False)

    def to_internal_value(self, data):
        # Nested items have no `initial_data` of their own, so StrictSerializer cannot see them.
        if isinstance(data, Mapping):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field."] for key in sorted(unknown)}
                )
        return super().to_internal_value(data)


class QuoteWriteFields(StrictSerializer):
    tax_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(1),
        required=False,
        help_text="0.1 = 10%.",
    )
    valid_until = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(max_length=5000, allow_blank=True, required=False)
    lines = QuoteLineInputSerializer(many=True, required=False, max_length=200)


class QuoteCreateSerializer(QuoteWriteFields):
    deal = IdField(queryset=Deal.objects.none(), help_text="A deal you may edit.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["deal"].queryset = selectors.deals_editable_by(request.user)


class QuoteUpdateSerializer(QuoteWriteFields):
    """A draft's changes; `lines`, when given, replace all its lines."""


class QuoteRejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500, help_text="Why the customer declined.")


# --- Quotes: views ------------------------------------------------------------------------------


class QuoteFilter(django_filters.FilterSet):
    deal = IdFilter(field_name="deal_id")
    account = IdFilter(field_name="deal__account_id")
    status = django_filters.MultipleChoiceFilter(choices=QuoteStatus.choices)
    number = django_filters.CharFilter(field_name="number", lookup_expr="icontains", max_length=30)
    created_at = DayRangeFilter()
    total_min = django_filters.NumberFilter(
        field_name="total", lookup_expr="gte", min_value=0, max_value=MONEY_LIMIT
    )
    total_max = django_filters.NumberFilter(
        field_name="total", lookup_expr="lte", min_value=0, max_value=MONEY_LIMIT
    )

    class Meta:
        model = Quote
        fields = ["deal", "account", "status", "number", "created_at", "total_min", "total_max"]


@extend_schema_view(
    create=extend_schema(
        request=QuoteCreateSerializer,
        responses={201: QuoteSerializer, 409: OpenApiResponse(description="The deal is closed.")},
    ),
    partial_update=extend_schema(
        request=QuoteUpdateSerializer, responses={200: QuoteSerializer, 409: None}
    ),
)
class QuoteViewSet(ServiceModelViewSet):
    """Quotes on deals, newest first. Drafts are edited (PATCH replaces the lines), then sent,
    then accepted (the deal is won) or rejected; sent quotes past their validity expire."""

    serializer_class = QuoteSerializer
    create_serializer_class = QuoteCreateSerializer
    filterset_class = QuoteFilter
    ordering_fields = ["created_at", "number", "total", "valid_until", "sent_at", "status", "id"]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        lines = QuoteLine.objects.select_related("product").order_by("position")
        queryset = Quote.objects.select_related(
            "deal__account", "deal__contact", "created_by"
        ).prefetch_related(Prefetch("lines", queryset=lines))
        return selectors.quotes_visible_to(self.request.user, queryset)

    def get_serializer_class(self):
        if self.action == "partial_update":
            return QuoteUpdateSerializer
        return super().get_serializer_class()

    def get_object(self):
        if self.action in ("partial_update", "send", "accept", "reject"):
            return self._checked_object()
        return super().get_object()

    def _checked_object(self) -> Quote:
        quote = super().get_object()
        if not selectors.quotes_editable_by(
            self.request.user, Quote.objects.filter(pk=quote.pk)
        ).exists():
            raise exceptions.PermissionDenied("You may read this quote but not change it.")
        return quote

    def create_object(self, data):
        return quotes.quote_create(**data, actor=self.request.user)

    def update_object(self, instance, data):
        return quotes.quote_update(quote=instance, actor=self.request.user, **data)

    @extend_schema(
        request=None, responses={200: QuoteSerializer, 400: None, 409: None}, filters=False
    )
    @action(detail=True, methods=["post"], required_permissions=["pipeline.send_quote"])
    def send(self, request, pk=None):
        """Send the draft to the customer: on the customer's timeline, and the deal moves to
        `quote` if it was before it. Refused (409) on a closed deal or a quote already sent."""
        quote = self.get_object()
        quotes.quote_send(quote=quote, actor=request.user)
        return Response(self._read_back(quote))

    @extend_schema(request=None, responses={200: QuoteSerializer, 409: None}, filters=False)
    @action(detail=True, methods=["post"], required_permissions=["pipeline.decide_quote"])
    def accept(self, request, pk=None):
        """The customer accepted the sent quote: the deal's amount becomes its total and the deal
        is won. Other sent quotes on the deal stay sent until they expire or are rejected."""
        quote = self.get_object()
        quotes.quote_accept(quote=quote, actor=request.user)
        return Response(self._read_back(quote))

    @extend_schema(
        request=QuoteRejectSerializer, responses={200: QuoteSerializer, 409: None}, filters=False
    )
    @action(detail=True, methods=["post"], required_permissions=["pipeline.decide_quote"])
    def reject(self, request, pk=None):
        """The customer declined the sent quote (`reason` needed)."""
        quote = self.get_object()
        serializer = QuoteRejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quotes.quote_reject(
            quote=quote, actor=request.user, reason=serializer.validated_data["reason"]
        )
        return Response(self._read_back(quote))

    @extend_schema(responses=QuoteStatusChangeSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=None)
    def history(self, request, pk=None):
        """Every status change with who, when and why, newest first."""
        visible = selectors.quotes_visible_to(request.user, Quote.objects.only("pk"))
        quote = get_object_or_404(visible, pk=pk)
        changes = QuoteStatusChange.objects.filter(quote=quote).select_related("actor")
        page = self.paginate_queryset(changes.order_by("-created_at", "-id"))
        return self.get_paginated_response(QuoteStatusChangeSerializer(page, many=True).data)


def register(router: DefaultRouter) -> None:
    router.register("products", ProductViewSet, basename="product")
    router.register("quotes", QuoteViewSet, basename="quote")
