"""Pipeline pages outside the API and the admin (e.g. the printable quote)."""

from django.urls import path  # noqa: F401

app_name = "pipeline"
urlpatterns: list = []
