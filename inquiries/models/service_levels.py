"""SLA policies (targets per priority and channel, optional business hours) and breaches."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inquiries.models.inquiries import InquiryChannel, InquiryPriority


def default_business_days() -> list[int]:
    return [1, 2, 3, 4, 5]


class SlaPolicy(models.Model):
    """Targets for inquiries of a priority (and optionally one channel; blank = any channel).

    With business hours on, the clock runs only on business days between the start and end time
    (local time); otherwise it runs around the clock.
    """

    name = models.CharField(_("name"), max_length=120)
    priority = models.CharField(_("priority"), max_length=10, choices=InquiryPriority.choices)
    channel = models.CharField(
        _("channel"), max_length=20, choices=InquiryChannel.choices, blank=True, default=""
    )
    first_response_minutes = models.PositiveIntegerField(
        _("first response within (minutes)"), validators=[MinValueValidator(1)]
    )
    resolution_minutes = models.PositiveIntegerField(
        _("resolution within (minutes)"), validators=[MinValueValidator(1)]
    )
    business_hours_only = models.BooleanField(_("business hours only"), default=False)
    business_day_start = models.TimeField(_("business day starts"), default=datetime.time(9, 0))
    business_day_end = models.TimeField(_("business day ends"), default=datetime.time(18, 0))
    # ISO weekdays (1 = Monday ... 7 = Sunday).
    business_days = models.JSONField(_("business days"), default=default_business_days)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["priority", "channel", "id"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["priority", "channel"],
                condition=Q(is_active=True),
                name="sla_policy_one_active_per_priority_channel",
            ),
            models.CheckConstraint(
                condition=Q(business_day_end__gt=models.F("business_day_start")),
                name="sla_business_hours_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SlaBreach(models.Model):
    """A missed target, escalated to the team's supervisor exactly once (unique per inquiry,
    kind and the due time that was missed)."""

    class Kind(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        RESOLUTION = "resolution", _("Resolution")

    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("inquiry"),
        on_delete=models.CASCADE,
        related_name="sla_breaches",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    due_at = models.DateTimeField(_("was due at"))
    detected_at = models.DateTimeField(_("detected at"), default=timezone.now)
    notified = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("notified"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name = _("SLA breach")
        verbose_name_plural = _("SLA breaches")
        constraints = [
            models.UniqueConstraint(fields=["inquiry", "kind", "due_at"], name="sla_breach_once"),
            models.CheckConstraint(
                condition=Q(kind__in=["first_response", "resolution"]),
                name="sla_breach_kind_valid",
            ),
        ]
        indexes = [models.Index(fields=["kind", "detected_at"], name="sla_breach_kind_idx")]

    def __str__(self) -> str:
        return f"{self.inquiry_id} {self.kind} breach"
