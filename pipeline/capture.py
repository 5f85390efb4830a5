"""Lead capture from public web forms: one submission → the one contact, a touchpoint on its
timeline, and the journey at least at `lead`."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.db import transaction

from accounts import services as accounts_services
from accounts.models import Contact, JourneyStage, Touchpoint, TouchpointChannel, TouchpointKind
from frontoffice.errors import ApplicationError
from pipeline.models import Campaign, LeadForm


class FormKeyError(ApplicationError):
    status_code = 403


def lead_form_for_key(*, key: str) -> LeadForm:
    """The active form with this key (compared in constant time), or FormKeyError."""
    key = (key or "").strip()
    lead_form = (
        LeadForm.objects.select_related("campaign").filter(key=key, is_active=True).first()
        if key
        else None
    )
    if lead_form is None or not hmac.compare_digest(lead_form.key, key):
        raise FormKeyError("Unknown or inactive form key.")
    if lead_form.campaign.status == Campaign.Status.CANCELLED:
        raise FormKeyError("This form's campaign is cancelled.")
    return lead_form


@dataclass(frozen=True)
class CapturedLead:
    contact: Contact
    touchpoint: Touchpoint
    contact_created: bool


def lead_capture(
    *,
    lead_form: LeadForm,
    email: str = "",
    phone: str = "",
    name: str = "",
    company: str = "",
    title: str = "",
    department: str = "",
    message: str = "",
) -> CapturedLead:
    """Record a web-form submission. Needs an email or a phone; all or nothing."""
    if not (email or "").strip() and not (phone or "").strip():
        text = "Give an email address or a phone number."
        raise ApplicationError(text, errors={"email": [text], "phone": [text]})
    cause = f"web form: {lead_form.name}"
    with transaction.atomic():
        resolved = accounts_services.contact_resolve(
            email=email,
            phone=phone,
            name=name,
            company=company,
            title=title,
            department=department,
            stage=JourneyStage.LEAD,
            cause=cause,
        )
        touchpoint = accounts_services.touchpoint_record(
            kind=TouchpointKind.FORM,
            channel=TouchpointChannel.WEB,
            contact=resolved.contact,
            campaign=lead_form.campaign,
            summary=(f"{lead_form.name}: {message}" if message else lead_form.name)[:300],
            source=lead_form,
        )
        accounts_services.journey_advance(
            contact=resolved.contact, to_stage=JourneyStage.LEAD, cause=cause
        )
    return CapturedLead(
        contact=resolved.contact, touchpoint=touchpoint, contact_created=resolved.created
    )
