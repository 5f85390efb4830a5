"""Writes on campaigns and lead forms."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from frontoffice.errors import ApplicationError
from pipeline.models import Campaign, LeadForm
from pipeline.models.campaigns import new_form_key

CAMPAIGN_FIELDS = ("name", "kind", "status", "starts_on", "ends_on", "cost", "currency", "owner")


def _validated_save(instance, **changes: Any):
    for name, value in changes.items():
        setattr(instance, name, value.strip() if isinstance(value, str) else value)
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise ApplicationError("Invalid input.", errors=exc.message_dict) from exc
    instance.save()
    return instance


def _check_dates(starts_on, ends_on) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        message = "The campaign cannot end before it starts."
        raise ApplicationError(message, errors={"ends_on": [message]})


def campaign_create(*, name: str, kind: str, **fields: Any) -> Campaign:
    """Create a campaign (cost ≥ 0, ends on or after it starts, currency upper-cased)."""
    fields = {key: value for key, value in fields.items() if key in CAMPAIGN_FIELDS}
    _check_dates(fields.get("starts_on"), fields.get("ends_on"))
    if "currency" in fields:
        fields["currency"] = (fields["currency"] or "").upper()
    return _validated_save(Campaign(), name=name, kind=kind, **fields)


def campaign_update(*, campaign: Campaign, **changes: Any) -> Campaign:
    changes = {key: value for key, value in changes.items() if key in CAMPAIGN_FIELDS}
    _check_dates(
        changes.get("starts_on", campaign.starts_on), changes.get("ends_on", campaign.ends_on)
    )
    if "currency" in changes:
        changes["currency"] = (changes["currency"] or "").upper()
    return _validated_save(campaign, **changes)


def lead_form_create(*, name: str, campaign: Campaign, is_active: bool = True) -> LeadForm:
    """A web form for a campaign, with a new random key to embed in the page."""
    return _validated_save(LeadForm(), name=name, campaign=campaign, is_active=is_active)


def lead_form_update(*, lead_form: LeadForm, **changes: Any) -> LeadForm:
    changes = {
        key: value for key, value in changes.items() if key in ("name", "campaign", "is_active")
    }
    return _validated_save(lead_form, **changes)


def lead_form_rotate_key(*, lead_form: LeadForm, actor: AbstractBaseUser | None = None) -> LeadForm:
    """Replace a form's key (e.g. after it leaked); the old key stops working at once."""
    lead_form.key = new_form_key()
    lead_form.save(update_fields=["key"])
    return lead_form
