"""The base of every workspace form and the bridge from a service's refusal to field errors.

A workspace view validates the form (types, required fields), calls the service, and on an
``ApplicationError`` puts its field messages on the form's fields (others above the form) and
answers with the error's status (400, 403 or 409): the page shows what is wrong next to the
field, never a 500.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django import forms
from django.utils import timezone

from frontoffice.errors import ApplicationError

# The services' message when the field errors say it all.
GENERIC_MESSAGE = "Invalid input."


class WorkspaceForm(forms.Form):
    """Renders with ``workspace/partials/form.html`` (label, widget, help, errors inline)."""

    template_name = "workspace/partials/form.html"
    template_name_div = "workspace/partials/form.html"
    required_css_class = "required"
    error_css_class = "has-error"


def _messages(errors: Any, field: str | None) -> Iterator[tuple[str | None, str]]:
    """(field, message) pairs of a service's errors, nested ones (an activity's index, a
    line's position) flattened down to their innermost field names."""
    if isinstance(errors, Mapping):
        for name, value in errors.items():
            yield from _messages(value, str(name))
    elif isinstance(errors, list | tuple):
        for value in errors:
            yield from _messages(value, field)
    else:
        yield field, str(errors)


def add_service_errors(
    form: forms.Form, error: ApplicationError, *, fields: Mapping[str, str] | None = None
) -> None:
    """Put `error`'s messages on `form`: each on the field it names (through `fields`, a map of
    the service's names to the form's, where they differ). When none names a field of the form,
    the error's own message goes above the form (or, for a bare "Invalid input.", the field
    messages do)."""
    renamed = dict(fields or {})
    on_fields: list[tuple[str, str]] = []
    elsewhere: list[str] = []
    for name, message in _messages(error.errors, None):
        target = renamed.get(name, name) if name is not None else None
        if target in form.fields:
            on_fields.append((target, message))
        elif message not in elsewhere:
            elsewhere.append(message)
    for target, message in on_fields:
        if message not in form.errors.get(target, []):
            form.add_error(target, message)
    if on_fields:
        for message in elsewhere:
            form.add_error(None, message)
    elif error.message != GENERIC_MESSAGE or not elsewhere:
        form.add_error(None, error.message)
    else:
        for message in elsewhere:
            form.add_error(None, message)


def local_datetime(value):
    """A naive date-time from a ``datetime-local`` input, read in the current time zone."""
    if value is None or timezone.is_aware(value):
        return value
    return timezone.make_aware(value, timezone.get_current_timezone())


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")
