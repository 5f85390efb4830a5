"""Reps' daily reports and the activities they log in them."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DailyReport(models.Model):
    """One per rep per day: what they did (activities), notes and tomorrow's plan."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned for changes")

    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rep"),
        on_delete=models.PROTECT,
        related_name="daily_reports",
    )
    day = models.DateField(_("day"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False
    )
    notes = models.TextField(_("notes"), blank=True, default="")
    tomorrow_plan = models.TextField(_("plan for tomorrow"), blank=True, default="")
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    manager_comment = models.TextField(_("manager's comment"), blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
        editable=False,
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-day", "rep_id"]
        verbose_name = _("daily report")
        verbose_name_plural = _("daily reports")
        permissions = [("review_dailyreport", "Can comment on and approve daily reports")]
        constraints = [
            models.UniqueConstraint(fields=["rep", "day"], name="daily_report_once_per_day"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "submitted", "approved", "returned"]),
                name="daily_report_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="daily_report_submitted_at",
            ),
        ]
        indexes = [models.Index(fields=["day", "status"], name="daily_report_day_idx")]

    def __str__(self) -> str:
        return f"{self.rep_id} {self.day}"


class DailyReportStatusChange(models.Model):
    """One change of a report's status (written, handed in, approved, returned), with the
    reviewer's comment where there was one."""

    report = models.ForeignKey(
        DailyReport,
        verbose_name=_("daily report"),
        on_delete=models.CASCADE,
        related_name="status_changes",
    )
    from_status = models.CharField(
        _("from status"), max_length=10, choices=DailyReport.Status.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=10, choices=DailyReport.Status.choices)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    comment = models.TextField(_("comment"), blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("daily report status change")
        verbose_name_plural = _("daily report status changes")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")),
                name="daily_report_change_status_changes",
            ),
        ]
        indexes = [
            models.Index(fields=["report", "created_at"], name="daily_report_change_idx"),
            models.Index(fields=["to_status", "created_at"], name="daily_report_change_to_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id}: {self.from_status or '∅'} → {self.to_status}"


class ActivityKind(models.TextChoices):
    VISIT = "visit", _("Visit")
    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    DEMO = "demo", _("Demo")
    PROPOSAL = "proposal", _("Proposal")


class Activity(models.Model):
    """One thing a rep did for a deal and/or a contact; it lands on the customer's timeline."""

    report = models.ForeignKey(
        DailyReport,
        verbose_name=_("daily report"),
        on_delete=models.CASCADE,
        related_name="activities",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField(_("at"))
    minutes = models.PositiveIntegerField(
        _("time spent (minutes)"), validators=[MaxValueValidator(24 * 60)]
    )
    outcome = models.CharField(_("outcome"), max_length=500, blank=True, default="")
    deal = models.ForeignKey(
        "pipeline.Deal",
        verbose_name=_("deal"),
        on_delete=models.SET_NULL,
        related_name="activities",
        null=True,
        blank=True,
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("contact"),
        on_delete=models.SET_NULL,
        related_name="activities",
        null=True,
        blank=True,
    )
    # The timeline entry this activity wrote.
    touchpoint = models.OneToOneField(
        "accounts.Touchpoint",
        verbose_name=_("timeline entry"),
        on_delete=models.SET_NULL,
        related_name="activity",
        null=True,
        blank=True,
        editable=False,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["occurred_at", "id"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["visit", "call", "email", "meeting", "demo", "proposal"]),
                name="activity_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(minutes__lte=24 * 60), name="activity_minutes_range"
            ),
        ]
        indexes = [
            models.Index(fields=["deal", "occurred_at"], name="activity_deal_idx"),
            models.Index(fields=["contact", "occurred_at"], name="activity_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"
