"""Campaigns and their lead forms."""

from __future__ import annotations

import django_filters
from django.db.models import Count
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from frontoffice.api.filters import BooleanFilter, TextSearchFilter
from frontoffice.api.serializers import IdField, StrictModelSerializer
from frontoffice.api.viewsets import ServiceModelViewSet
from pipeline import services
from pipeline.models import Campaign, LeadForm


class CampaignSerializer(StrictModelSerializer):
    owner = IdField(
        queryset=Campaign._meta.get_field("owner").related_model.objects.filter(is_active=True),
        allow_null=True,
        required=False,
    )
    touchpoint_count = serializers.IntegerField(read_only=True, default=0)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "kind",
            "status",
            "starts_on",
            "ends_on",
            "cost",
            "currency",
            "owner",
            "touchpoint_count",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate_cost(self, value):
        if value < 0:
            raise serializers.ValidationError("The cost cannot be negative.")
        return value


class CampaignFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("name",))
    kind = django_filters.MultipleChoiceFilter(choices=Campaign.Kind.choices)
    status = django_filters.MultipleChoiceFilter(choices=Campaign.Status.choices)
    owner = django_filters.NumberFilter(field_name="owner_id", min_value=1, max_value=2**63 - 1)
    starts_on = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Campaign
        fields = ["q", "kind", "status", "owner", "starts_on"]


class CampaignViewSet(ServiceModelViewSet):
    """Marketing campaigns (exhibitions, webinars, web, email, advertising, content, referral)."""

    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    ordering_fields = ["name", "starts_on", "ends_on", "cost", "created_at", "id"]
    ordering = ["-starts_on", "name"]

    def get_queryset(self):
        return Campaign.objects.select_related("owner").annotate(
            touchpoint_count=Count("touchpoints")
        )

    def create_object(self, data):
        return services.campaign_create(**data)

    def update_object(self, instance, data):
        return services.campaign_update(campaign=instance, **data)


class LeadFormSerializer(StrictModelSerializer):
    campaign = IdField(queryset=Campaign.objects.all())
    campaign_name = serializers.CharField(source="campaign.name", read_only=True)

    class Meta:
        model = LeadForm
        fields = ["id", "name", "campaign", "campaign_name", "key", "is_active", "created_at"]
        read_only_fields = ["key", "created_at"]


class LeadFormFilter(django_filters.FilterSet):
    campaign = django_filters.NumberFilter(
        field_name="campaign_id", min_value=1, max_value=2**63 - 1
    )
    is_active = BooleanFilter()

    class Meta:
        model = LeadForm
        fields = ["campaign", "is_active"]


class LeadFormViewSet(ServiceModelViewSet):
    """Public web forms of a campaign; each key authenticates POST /api/v1/leads/capture/."""

    serializer_class = LeadFormSerializer
    filterset_class = LeadFormFilter
    ordering_fields = ["name", "created_at", "id"]
    ordering = ["name"]

    def get_queryset(self):
        return LeadForm.objects.select_related("campaign")

    def create_object(self, data):
        return services.lead_form_create(**data)

    def update_object(self, instance, data):
        return services.lead_form_update(lead_form=instance, **data)

    @extend_schema(request=None, responses=LeadFormSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="rotate-key",
        required_permissions=["pipeline.change_leadform"],
    )
    def rotate_key(self, request, pk=None):
        """Give the form a new key; the old one stops working at once."""
        lead_form = services.lead_form_rotate_key(lead_form=self.get_object(), actor=request.user)
        return Response(self._read_back(lead_form))
