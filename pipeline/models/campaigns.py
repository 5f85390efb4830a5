"""Demand: campaigns (and, in later work, scoring, deals, quotes and daily reports)."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    class Kind(models.TextChoices):
        EXHIBITION = "exhibition", _("Exhibition or event")
        SEMINAR = "seminar", _("Seminar or webinar")
        WEB = "web", _("Web")
        EMAIL = "email", _("Email")
        ADVERTISING = "advertising", _("Advertising")
        CONTENT = "content", _("Content")
        REFERRAL = "referral", _("Referral")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PLANNED
    )
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    cost = models.DecimalField(
        _("cost"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        related_name="campaigns",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_on", "name"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "exhibition",
                        "seminar",
                        "web",
                        "email",
                        "advertising",
                        "content",
                        "referral",
                    ]
                ),
                name="campaign_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["planned", "active", "completed", "cancelled"]),
                name="campaign_status_valid",
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="campaign_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(starts_on__isnull=True)
                | Q(ends_on__isnull=True)
                | Q(ends_on__gte=F("starts_on")),
                name="campaign_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def new_form_key() -> str:
    return secrets.token_urlsafe(32)


class LeadForm(models.Model):
    """A public web form that captures leads for a campaign; its key authenticates the form
    (not a user) on POST /api/v1/leads/capture/."""

    name = models.CharField(_("name"), max_length=200)
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.PROTECT, related_name="lead_forms"
    )
    key = models.CharField(_("key"), max_length=64, unique=True, default=new_form_key)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("lead form")
        verbose_name_plural = _("lead forms")

    def __str__(self) -> str:
        return self.name
