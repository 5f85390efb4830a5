from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from frontoffice.api.paginator import BoundedCountPaginator


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
    # Counts stop at FRONTOFFICE_API_COUNT_LIMIT rows (see frontoffice/api/paginator.py).
    django_paginator_class = BoundedCountPaginator

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "count_exact": self.page.paginator.is_exact,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        described = super().get_paginated_response_schema(schema)
        properties = described["properties"]
        described["properties"] = {
            "count": {
                **properties["count"],
                "description": "The number of results; with count_exact false, there are more.",
            },
            "count_exact": {
                "type": "boolean",
                "description": "False when the list has more results than were counted "
                "(FRONTOFFICE_API_COUNT_LIMIT); `next` still leads to every page.",
            },
            **{key: value for key, value in properties.items() if key != "count"},
        }
        described["required"] = [*described.get("required", []), "count_exact"]
        return described

    def get_page_size(self, request):
        # DRF falls back to the default page size for `?page_size=abc`; a client that typed it
        # wrong should hear so (larger than the maximum is still cut to the maximum).
        raw = request.query_params.get(self.page_size_query_param)
        if raw:  # blank: not set, like every optional parameter
            size = int(raw) if raw.isascii() and raw.isdigit() else 0
            if size < 1:
                message = f"A whole number from 1 (at most {self.max_page_size} are returned)."
                raise ValidationError({self.page_size_query_param: [message]})
            return min(size, self.max_page_size)
        return self.page_size

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {**parameter["schema"], "minimum": 1}
                parameter["description"] = (
                    f"Results per page (default {self.page_size}, at most {self.max_page_size})."
                )
        return parameters
