"""API for inquiries (being written)."""

from rest_framework.routers import DefaultRouter

urlpatterns: list = []


def register(router: DefaultRouter) -> None:
    pass
