from rest_framework.routers import DefaultRouter

from accounts.api import notifications, views


def register(router: DefaultRouter) -> None:
    router.register("accounts", views.AccountViewSet, basename="account")
    router.register("contacts", views.ContactViewSet, basename="contact")
    router.register("touchpoints", views.TouchpointViewSet, basename="touchpoint")
    router.register("teams", views.TeamViewSet, basename="team")
    router.register("users", views.StaffViewSet, basename="user")
    router.register("notifications", notifications.NotificationViewSet, basename="notification")
