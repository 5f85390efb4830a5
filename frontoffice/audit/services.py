"""Write the audit log: ``audit_record`` (one entry, inside the caller's transaction) and helpers
to describe a record's fields as ``{field: [old, new]}``.

Values are stored as JSON: a related record by its id, decimals, dates and times as text.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from frontoffice.audit.context import current_request
from frontoffice.audit.models import AuditAction, AuditEntry

SYSTEM = "system"
ANONYMOUS_REQUEST = "anonymous request"
VIA_API_KEY_LABEL = " (api token)"
REPR_MAX_LENGTH = 200


def plain(value: Any) -> Any:
    """`value` as JSON can hold it (and as it reads back); times in UTC."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, str):  # TextChoices members are str subclasses: keep the plain value
        return str(value)
    return value


def _column_value(field: models.Field, value: Any) -> Any:
    # A decimal as the column stores it ("1500000" given, "1500000.00" read back).
    if isinstance(field, models.DecimalField) and isinstance(value, Decimal | int):
        value = Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
    return plain(value)


def field_values(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of `fields` on `instance` (a relation as its id: no query)."""
    meta = instance._meta
    values = {}
    for name in fields:
        field = meta.get_field(name)
        values[name] = _column_value(field, getattr(instance, field.attname))
    return values


def stored_values(model: type[models.Model], pk: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` as the database holds them now (one query); {} when gone.

    Services read the old values here rather than from the instance they were given: the admin
    hands over an instance its form has already changed."""
    model_fields = [model._meta.get_field(name) for name in fields]
    columns = [field.attname for field in model_fields]
    row = model._base_manager.filter(pk=pk).values(*columns).first()
    if row is None:
        return {}
    return {field.name: _column_value(field, row[field.attname]) for field in model_fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value differs."""
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if plain(before.get(name)) != plain(value)
    }


def created(values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [None, value]}`` for the fields that have a value (blank ones are left out)."""
    return {name: [None, plain(value)] for name, value in values.items() if value not in ("", None)}


def removed(values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [value, None]}``: what a deleted record held."""
    return {name: [plain(value), None] for name, value in values.items() if value not in ("", None)}


def _actor_and_label(actor, actor_label: str | None) -> tuple[Any, str]:
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None  # an AnonymousUser is nobody
    context = current_request()
    if actor is None:
        return None, actor_label or (ANONYMOUS_REQUEST if context is not None else SYSTEM)
    label = actor_label or actor.get_username()
    if context is not None and context.token_user_id() == actor.pk:
        label = f"{label}{VIA_API_KEY_LABEL}"
    return actor, label[:200]


def audit_record(
    *,
    action: str,
    target: models.Model | None,
    actor=None,
    changes: Mapping[str, Any] | None = None,
    actor_label: str | None = None,
    target_repr: str | None = None,
) -> AuditEntry:
    """Write one audit entry: `actor` (a user, or None for the system) did `action` to `target`
    with `changes` (``{field: [old, new]}``). Call it inside the transaction of the change, so
    the entry exists exactly when the change does. `target` may be None only for a batch
    (`target_repr` then says what it was)."""
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}.")
    actor, label = _actor_and_label(actor, actor_label)
    context = current_request()
    entry = AuditEntry(
        actor=actor,
        actor_label=label,
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=target.pk if target is not None else None,
        target_repr=(target_repr if target_repr is not None else str(target))[:REPR_MAX_LENGTH],
        changes={name: plain(values) for name, values in (changes or {}).items()},
        request_id=context.request_id if context is not None else "",
        ip_address=context.ip_address if context is not None else None,
    )
    entry.save()
    return entry


def audit_delete(*, instance: models.Model, fields: Iterable[str], actor=None) -> None:
    """Delete `instance` and record what it held, in one transaction (a delete refused by a
    protecting reference leaves no entry)."""
    with transaction.atomic():
        audit_record(
            action=AuditAction.DELETE,
            target=instance,
            actor=actor,
            changes=removed(field_values(instance, fields)),
        )
        instance.delete()
