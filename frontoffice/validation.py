"""Model validation for services: Django's full_clean, refused as an ApplicationError (a 400
with field messages), without a query per foreign key the service already holds."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models

from frontoffice.errors import ApplicationError


def full_clean_or_400(
    instance: models.Model, *, exclude: Iterable[str] = (), constraints: bool = False
) -> None:
    """Run the model's field validation (and its Meta.constraints when `constraints`).

    full_clean looks every foreign key up again to check that it exists; a service that was
    handed a saved instance (or loaded it itself) knows it does, so those fields are skipped:
    a reply or a timeline entry costs four fewer queries.
    """
    skip = set(exclude)
    for field in instance._meta.concrete_fields:
        if field.many_to_one and field.is_cached(instance):
            related = field.get_cached_value(instance)
            if related is not None and related.pk is not None:
                skip.add(field.name)
    try:
        instance.full_clean(exclude=sorted(skip), validate_constraints=constraints)
    except ValidationError as exc:
        raise ApplicationError("Invalid input.", errors=exc.message_dict) from exc
