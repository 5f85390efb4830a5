from django.contrib import admin
from django.db.models import Count

from pipeline.models import Campaign, LeadForm


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
