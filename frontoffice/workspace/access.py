"""Who may open a workspace page and which rows they see: the API's rules, not new ones.

- ``workspace_view(*permissions)`` (functions) and ``WorkspaceViewMixin`` (classes): signed in
  (else the workspace login), then every named model permission, as ``RolePermission`` and an
  action's ``required_permissions`` ask in the API. Missing permission: a 403 page in the
  workspace's frame.
- Rows come through the apps' visibility selectors (``pipeline.selectors``,
  ``inquiries.selectors``): ``visible_or_404`` loads a row in the user's scope or answers 404,
  as the API's ``get_queryset`` does; a visible row the user may not change is a 403
  (``PermissionDenied``, or a service's ``PermissionDeniedError``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from frontoffice.errors import PermissionDeniedError

LOGIN_URL_NAME = "workspace:login"


def _refusal(request: HttpRequest, *, status: int, message: str) -> HttpResponse:
    title = _("Not allowed") if status == 403 else _("Not found")
    return render(
        request,
        "workspace/error.html",
        {"title": title, "message": message, "status": status},
        status=status,
    )


def _guarded(request: HttpRequest, permissions: Iterable[str], call: Callable[[], HttpResponse]):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse(LOGIN_URL_NAME))
    if not request.user.has_perms(list(permissions)):
        return _refusal(request, status=403, message=_("Your role does not include this page."))
    try:
        return call()
    except (PermissionDenied, PermissionDeniedError) as exc:
        message = getattr(exc, "message", "") or str(exc) or _("You may not do this.")
        return _refusal(request, status=403, message=message)
    except Http404:
        return _refusal(
            request, status=404, message=_("There is nothing here, or it is not yours to see.")
        )


def workspace_view(*permissions: str):
    """Decorate a view function: signed in, with all `permissions`; 403/404 in our frame."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            return _guarded(request, permissions, lambda: view(request, *args, **kwargs))

        return wrapped

    return decorator


class WorkspaceViewMixin:
    """The class-based form of ``workspace_view``: set ``required_permissions``."""

    required_permissions: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        parent = super().dispatch
        return _guarded(
            request, self.required_permissions, lambda: parent(request, *args, **kwargs)
        )


def visible_or_404(scope: Callable[..., QuerySet], user, queryset: QuerySet, pk: int) -> Model:
    """The row `pk` of `queryset` if `scope(user, queryset)` (a visibility selector such as
    ``deals_visible_to``) lets `user` see it; Http404 otherwise."""
    row = scope(user, queryset).filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


def is_htmx(request: HttpRequest) -> bool:
    """A request made by htmx (progressive enhancement): answer with the fragment it swaps."""
    return request.headers.get("HX-Request") == "true"
