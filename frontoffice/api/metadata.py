"""OPTIONS answers: DRF's SimpleMetadata, made safe for PUT routes without an id."""

from __future__ import annotations

from rest_framework.metadata import SimpleMetadata


class Metadata(SimpleMetadata):
    """DRF describes a PUT by first fetching the object it would change (`get_object()`); a
    collection-level PUT route such as `daily-reports/today/` has no id in its URL, and that
    fetch failed with a 500. There is no object to check there: the route is described as is."""

    def determine_actions(self, request, view):
        if getattr(view, "detail", None) is False and "PUT" in view.allowed_methods:
            view.get_object = lambda: None
            try:
                return super().determine_actions(request, view)
            finally:
                del view.get_object
        return super().determine_actions(request, view)
