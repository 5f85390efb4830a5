"""Serializer pieces every app's API shares."""

from __future__ import annotations

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not know, so a typo is a 400, not a silently ignored field."""

    def validate(self, attrs):
        unknown = set(getattr(self, "initial_data", {}) or {}) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({key: ["Unknown field."] for key in sorted(unknown)})
        return attrs


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass


class IdField(serializers.PrimaryKeyRelatedField):
    """A related record by id. A JSON float is refused: 1.5 would match #1 and 1e400 (infinity)
    would overflow (500) in the lookup."""

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)
