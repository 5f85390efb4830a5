"""Serializer pieces every app's API shares."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.relations import MANY_RELATION_KWARGS

WALL_CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": WALL_CLOCK_PATTERN,
        "example": "09:00",
        "description": "A local time of day, HH:MM or HH:MM:SS (no time zone).",
    }
)
class WallClockTimeField(serializers.TimeField):
    """A time of day on the local clock (business hours, a daily deadline). OpenAPI's `time`
    format is RFC 3339's, with a UTC offset these values do not have; DRF would also take
    `9:0` or `0900`: only HH:MM[:SS] is accepted, as documented."""

    def to_internal_value(self, value):
        if isinstance(value, dt.time):
            return value
        if not isinstance(value, str) or not re.fullmatch(WALL_CLOCK_PATTERN, value):
            self.fail("invalid", format="HH:MM[:SS]")
        return super().to_internal_value(value)


class BoundedDateTimeField(serializers.DateTimeField):
    """A moment from 1900 on. In Asia/Tokyo local time before 1888 is mean solar time, UTC
    +09:18:59, an offset RFC 3339 cannot write: a touchpoint "in the year 25" came back as
    `0025-01-01T10:19:00+09:18:59`, which no client parses. Nothing we record is that old."""

    EARLIEST_YEAR = 1900
    default_error_messages = {"too_early": f"Enter a date and time from {EARLIEST_YEAR} on."}

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if moment.year < self.EARLIEST_YEAR:
            self.fail("too_early")
        return moment


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so a typo is a 400, not a silently ignored field."""

    def validate(self, attrs):
        unknown = set(getattr(self, "initial_data", {}) or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in sorted(unknown)})
        return attrs


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.TimeField: WallClockTimeField,
        models.DateTimeField: BoundedDateTimeField,
    }


class IdList(serializers.ManyRelatedField):
    """Ids of related records as a JSON list. DRF's own takes any iterable, so an object's keys
    (`{"3": "x"}`) passed for ids and `{}` for an empty list."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


class IdField(serializers.PrimaryKeyRelatedField):
    """A related record by id. A JSON float is refused: 1.5 would match #1 and 1e400 (infinity)
    would overflow (500) in the lookup."""

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)

    @classmethod
    def many_init(cls, *args, **kwargs):
        # `many=True` (DRF's extension point): the list is an IdList.
        list_kwargs = {"child_relation": cls(*args, **kwargs)}
        list_kwargs.update({k: v for k, v in kwargs.items() if k in MANY_RELATION_KWARGS})
        return IdList(**list_kwargs)

    def __deepcopy__(self, memo):
        # Every serializer instance deep-copies its declared fields, and with them this
        # queryset's whole query tree (a few percent of a list request). The copy can share it:
        # DRF never evaluates it in place (get_queryset() clones it with .all()).
        queryset = self._kwargs.get("queryset")
        if queryset is not None:
            memo[id(queryset)] = queryset
        return super().__deepcopy__(memo)


def _optional_text(max_length: int) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, required=False, allow_blank=True, default=""
    )


class PublicFormSerializer(StrictSerializer):
    """A submission of a public web form: who it is from (an email or a phone number needed),
    and a honeypot field people never see and bots fill in."""

    email = _optional_text(254)
    phone = _optional_text(40)
    name = _optional_text(200)
    company = _optional_text(200)
    # Honeypot: hidden from people by the form's CSS; bots fill it in.
    website = _optional_text(200)

    def validate_website(self, value: str) -> str:
        if value:
            raise serializers.ValidationError("This field must be left empty.")
        return value

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not attrs["email"].strip() and not attrs["phone"].strip():
            message = "Give an email address or a phone number."
            raise serializers.ValidationError({"email": [message], "phone": [message]})
        return attrs


class FormReceivedSerializer(serializers.Serializer):
    """What a public form is told: received, and a reference (never whether we knew them)."""

    result = serializers.CharField()
    reference = serializers.CharField()
