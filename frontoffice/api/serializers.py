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
