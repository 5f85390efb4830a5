from rest_framework.routers import DefaultRouter

from pipeline.api import campaigns, deals, imports, quotes, reports, scoring


def register(router: DefaultRouter) -> None:
    router.register("campaigns", campaigns.CampaignViewSet, basename="campaign")
    router.register("lead-forms", campaigns.LeadFormViewSet, basename="leadform")
    router.register("scoring-rules", scoring.ScoringRuleViewSet, basename="scoringrule")
    router.register("leads", scoring.LeadViewSet, basename="lead")
    router.register("follow-ups", scoring.FollowUpTaskViewSet, basename="followup")
    router.register("lead-imports", imports.LeadImportViewSet, basename="leadimport")
    deals.register(router)
    quotes.register(router)
    reports.register(router)
