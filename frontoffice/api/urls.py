"""The REST API under /api/v1/: each app registers its ViewSets on the one router."""

from rest_framework.routers import DefaultRouter

from accounts.api.urls import register as register_accounts

router = DefaultRouter()
register_accounts(router)

urlpatterns = router.urls
