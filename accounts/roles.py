"""Staff roles are Django groups; each grants model permissions that the API and admin check.

Each app grants its own permissions to the roles from a data migration through
``grant_role_permissions``, so the groups exist on every database without manual set-up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SALES_REP = "Sales rep"
SUPPORT_AGENT = "Support agent"
MANAGER = "Manager"
MARKETER = "Marketer"
ADMIN = "Admin"
ROLES: tuple[str, ...] = (SALES_REP, SUPPORT_AGENT, MANAGER, MARKETER, ADMIN)


def _view(*models: str) -> list[str]:
    return [f"view_{model}" for model in models]


def _edit(*models: str) -> list[str]:
    return [f"{verb}_{model}" for model in models for verb in ("view", "add", "change")]


# Codenames per role for the accounts app; ADMIN gets every permission of the app.
# Deleting customers (an erasure request: the person's history goes with them) is the Admin's
# alone; managers merge duplicates instead.
ACCOUNTS_ROLE_PERMISSIONS: dict[str, list[str]] = {
    SALES_REP: [
        *_edit("account", "contact"),
        "move_journey_contact",
        "view_touchpoint",
        "add_touchpoint",
        *_view("journeytransition", "team"),
    ],
    SUPPORT_AGENT: [
        *_edit("account", "contact"),
        "view_touchpoint",
        "add_touchpoint",
        *_view("journeytransition", "team"),
    ],
    MARKETER: [
        *_edit("account", "contact"),
        "move_journey_contact",
        "view_touchpoint",
        "add_touchpoint",
        *_view("journeytransition", "team"),
    ],
    MANAGER: [
        *_edit("account", "contact", "team"),
        "move_journey_contact",
        "merge_contact",
        "merge_account",
        "view_touchpoint",
        "add_touchpoint",
        *_view("journeytransition", "customermerge"),
    ],
}


def grant_role_permissions(
    apps, app_label: str, role_permissions: Mapping[str, Iterable[str]], *, admin_all: bool = True
) -> None:
    """Create the role groups if needed and grant them `app_label`'s permissions (idempotent).

    Meant for data migrations: `apps` is the migration's app registry.
    """
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; the grant needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    app_permissions = permission_model.objects.filter(content_type__app_label=app_label)
    for role in ROLES:
        group, _created = group_model.objects.get_or_create(name=role)
        if role == ADMIN and admin_all:
            group.permissions.add(*app_permissions)
            continue
        codenames = set(role_permissions.get(role, ()))
        wanted = list(app_permissions.filter(codename__in=codenames))
        missing = codenames - {permission.codename for permission in wanted}
        if missing:
            raise LookupError(f"Unknown permissions for {app_label}: {sorted(missing)}")
        group.permissions.add(*wanted)
