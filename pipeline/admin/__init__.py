"""The pipeline admin, one module per area; importing them registers the ModelAdmins."""

from pipeline.admin import deals, marketing, quotes, reports  # noqa: F401
