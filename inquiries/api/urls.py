from rest_framework.routers import DefaultRouter

from inquiries.api import escalations, faq, inbound, inbound_email, inquiries

# Explicit paths, mounted before the router (public inbound endpoints).
urlpatterns = [
    *inbound_email.urlpatterns,
    *inbound.urlpatterns,
    *inquiries.urlpatterns,
    *faq.urlpatterns,
]


def register(router: DefaultRouter) -> None:
    inquiries.register(router)
    escalations.register(router)
    faq.register(router)
