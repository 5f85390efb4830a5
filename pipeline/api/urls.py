from rest_framework.routers import DefaultRouter

from pipeline.api import campaigns


def register(router: DefaultRouter) -> None:
    router.register("campaigns", campaigns.CampaignViewSet, basename="campaign")
    router.register("lead-forms", campaigns.LeadFormViewSet, basename="leadform")
