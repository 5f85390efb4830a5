"""Every API error is JSON: ``{"detail": "...", "errors": {"field": ["message", ...]}}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from frontoffice.errors import ApplicationError


def _as_field_errors(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return detail
    if isinstance(detail, list):
        return {"non_field_errors": detail}
    return {"non_field_errors": [detail]}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.message, "errors": exc.errors}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(
            {"detail": "Invalid input.", "errors": errors}, status=status.HTTP_400_BAD_REQUEST
        )
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            {
                "detail": "This record is still referenced by other records and cannot be deleted.",
                "errors": {},
            },
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Invalid input.", "errors": _as_field_errors(exc.detail)}
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": response.data["detail"], "errors": {}}
    return response


# --- Errors Django answers before a view runs (no route, an unreadable request, a crash) -------
# Under /api/ they are JSON in the same shape, so an API client never has to parse an HTML page;
# elsewhere (admin, dashboard) Django's own pages.


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _json_error(detail: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "errors": {}}, status=status_code)


def bad_request(request, exception=None):
    if _is_api(request):
        return _json_error("Bad request.", status.HTTP_400_BAD_REQUEST)
    return defaults.bad_request(request, exception)


def page_not_found(request, exception=None):
    if _is_api(request):
        return _json_error("Not found.", status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return _json_error("Server error.", status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request)
