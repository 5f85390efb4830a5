"""Public inbound endpoints for chat and web forms (being written)."""

urlpatterns: list = []
