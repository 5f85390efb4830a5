"""API for escalations, SLA policies and assignment rules (being written)."""

from rest_framework.routers import DefaultRouter

urlpatterns: list = []


def register(router: DefaultRouter) -> None:
    pass


class EscalateActionMixin:
    """Adds POST /inquiries/{id}/escalate/ to the inquiry ViewSet (being written)."""
