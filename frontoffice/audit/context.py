"""The request an audit entry is written in: its id, the client address and how the user signed
in. A middleware holds them for the duration of a request; outside one (tasks, commands) there
is none and entries say "system"."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from rest_framework.throttling import BaseThrottle

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's request id is kept when it looks like one; anything else gets a fresh id.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class RequestContext:
    request: HttpRequest
    request_id: str
    ip_address: str | None

    def token_user_id(self) -> int | None:
        """The id of the user this request authenticated with an API token, if it did."""
        header = self.request.META.get("HTTP_AUTHORIZATION", "")
        user = getattr(self.request, "user", None)
        if not header.startswith("Token ") or user is None or not user.is_authenticated:
            return None
        return user.pk


_current: ContextVar[RequestContext | None] = ContextVar("audit_request", default=None)


def current_request() -> RequestContext | None:
    return _current.get()


def _client_address(request: HttpRequest) -> str | None:
    # The same reading of X-Forwarded-For as the throttles (NUM_PROXIES), so a client cannot
    # put another address in the log than the one it is throttled by.
    address = BaseThrottle().get_ident(request) or ""
    return address if re.fullmatch(r"[0-9A-Fa-f:.]{2,45}", address) else None


class AuditContextMiddleware:
    """Gives each request an id (a proxy's ``X-Request-ID`` or a new one, echoed in the response)
    that the audit entries written during it carry, with the client's address."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = given if REQUEST_ID_PATTERN.fullmatch(given) else uuid.uuid4().hex
        token = _current.set(RequestContext(request, request_id, _client_address(request)))
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        response.headers.setdefault(REQUEST_ID_HEADER, request_id)
        return response
