"""POST /api/v1/inbound/email/ (being written)."""

urlpatterns: list = []
