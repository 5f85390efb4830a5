"""Filters every app's FilterSets share: text search, bounded day ranges, ids and booleans
that refuse what they cannot read (a 400, never a silent "everything")."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters.fields import DateRangeField
from django_filters.rest_framework import DjangoFilterBackend


class TextSearchFilter(django_filters.CharFilter):
    """`?q=` matches any of the given fields (case-insensitive substring)."""

    def __init__(self, *args, search_fields: tuple[str, ...], **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("label", "Text search")
        super().__init__(*args, **kwargs)
        self.search_fields = search_fields

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return qs
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return qs.filter(condition)


class BoundedDateRangeField(DateRangeField):
    """A date range whose day boundaries the database can store: `0001-01-01` at midnight in
    UTC+9 is in year 0, which would fail (500) when the query runs."""

    def compress(self, data_list):
        value = super().compress(data_list)
        for bound in (value.start, value.stop) if value is not None else ():
            if bound is None or not timezone.is_aware(bound):
                continue
            try:
                bound.astimezone(UTC)
            except OverflowError as exc:
                raise ValidationError("Date out of range.", code="overflow") from exc
        return value


class DayRangeFilter(django_filters.DateFromToRangeFilter):
    """`?<name>_after=YYYY-MM-DD&<name>_before=YYYY-MM-DD`, both days included."""

    field_class = BoundedDateRangeField


class IdFilter(django_filters.NumberFilter):
    """An id given as a number (for a model this app must not import): whole numbers in the
    database's range only, so `?campaign=10**30` is a 400 and not an overflow (500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.NullBooleanField):
    """true/false/1/0; anything else is a 400 (the stock field silently ignores `?x=yes`)."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        boolean = super().to_python(value)
        if boolean is None:
            raise ValidationError("Enter true or false.", code="invalid")
        return boolean


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class FilterBackend(DjangoFilterBackend):
    """An empty query parameter (`?owner=`, as a form sends a field left blank) means that
    filter is not set, for every filter alike: the stock fields differ (a blank multiple choice
    is a 400, a blank date is ignored). The schema says so (`allowEmptyValue`)."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        given = kwargs["data"]
        data = given.copy()
        for key in given:
            values = [value for value in given.getlist(key) if value != ""]
            if values:
                data.setlist(key, values)
            else:
                del data[key]
        kwargs["data"] = data
        return kwargs
