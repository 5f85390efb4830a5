from rest_framework.routers import DefaultRouter

from inquiries.api import escalations, inbound, inbound_email, inquiries

# Explicit paths, mounted before the router (public inbound endpoints).
urlpatterns = [*inbound_email.urlpatterns, *inbound.urlpatterns, *inquiries.urlpatterns]


def register(router: DefaultRouter) -> None:
    inquiries.register(router)
    escalations.register(router)
