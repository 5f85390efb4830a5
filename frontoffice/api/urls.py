"""The REST API under /api/v1/: each app registers its ViewSets on the one router."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api.urls import register as register_accounts
from frontoffice.api.kpis import register as register_kpis
from inquiries.api.urls import register as register_inquiries
from inquiries.api.urls import urlpatterns as inquiries_urlpatterns
from pipeline.api.capture import LeadCaptureView
from pipeline.api.scoring import ScreeningPolicyView
from pipeline.api.urls import register as register_pipeline

router = DefaultRouter()
register_accounts(router)
register_pipeline(router)
register_inquiries(router)
register_kpis(router)

urlpatterns = [
    # Before the router: `leads/{id}/` would otherwise take "capture" for an id.
    path("leads/capture/", LeadCaptureView.as_view(), name="lead-capture"),
    # One row, no collection: a plain view (a router gives every resource a list and ids).
    path("screening-policy/", ScreeningPolicyView.as_view(), name="screening-policy"),
    *inquiries_urlpatterns,
    *router.urls,
]
