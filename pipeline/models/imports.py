from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LeadImport(models.Model):
    """One run of a lead-list import (command, admin upload or API): what it found and did."""

    class Status(models.TextChoices):
        DRY_RUN = "dry_run", _("Dry run (nothing written)")
        IMPORTED = "imported", _("Imported")
        PARTIAL = "partial", _("Good rows imported, bad rows rejected")
        REFUSED = "refused", _("Refused (bad rows, nothing written)")

    campaign = models.ForeignKey(
        "pipeline.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="lead_imports",
        null=True,
        blank=True,
    )
    file_name = models.CharField(_("file name"), max_length=255)
    encoding = models.CharField(_("encoding"), max_length=20, blank=True, default="")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    created_contacts = models.PositiveIntegerField(_("new contacts"), default=0)
    matched_contacts = models.PositiveIntegerField(_("known contacts"), default=0)
    merged_rows = models.PositiveIntegerField(_("duplicate rows merged"), default=0)
    rejected_rows = models.PositiveIntegerField(_("rejected rows"), default=0)
    # [{"line": 7, "reason": "..."}], the first few hundred.
    errors = models.JSONField(_("errors"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead import")
        verbose_name_plural = _("lead imports")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["dry_run", "imported", "partial", "refused"]),
                name="lead_import_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"
