"""Role-based permissions: the same Django model permissions the admin checks.

Roles are groups (see ``accounts.roles``); a group grants model permissions; the API asks for
``view_*`` on reads and ``add_/change_/delete_*`` on writes, exactly as the admin does. Actions
that need more than a model permission name it in ``required_permissions`` on the view action.
"""

from __future__ import annotations

from rest_framework import permissions


class RolePermission(permissions.DjangoModelPermissions):
    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        # An @action may name its own permissions: `@action(..., required_permissions=[...])`
        # (DRF sets action kwargs as attributes of the view instance for that route).
        action_perms = getattr(view, "required_permissions", None)
        if action_perms is not None:
            return request.user.has_perms(action_perms)
        return super().has_permission(request, view)

    def _queryset(self, view):
        # Only the model matters here. A view that names it (`permission_model`) is spared
        # building its visibility-scoped queryset (with its own queries) twice per request.
        model = getattr(view, "permission_model", None)
        if model is not None:
            return model._default_manager.none()
        return super()._queryset(view)
