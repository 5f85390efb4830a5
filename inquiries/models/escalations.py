"""Escalations: to a specialist department, to a supervisor for instructions, for approval."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class EscalationKind(models.TextChoices):
    TRANSFER = "transfer", _("Transfer to a specialist department")
    INSTRUCTIONS = "instructions", _("Supervisor's instructions")
    APPROVAL = "approval", _("Approval request")


class EscalationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


ESCALATION_STATUS_VALUES = [value for value, _label in EscalationStatus.choices]


class Escalation(models.Model):
    """One escalation of an inquiry, with its owner (who must act), due time and status."""

    inquiry = models.ForeignKey(
        "inquiries.Inquiry",
        verbose_name=_("inquiry"),
        on_delete=models.CASCADE,
        related_name="escalations",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=EscalationKind.choices)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=EscalationStatus.choices,
        default=EscalationStatus.OPEN,
        editable=False,
    )
    # 1 for the first escalation of the inquiry; an escalation of an escalation is one level up.
    level = models.PositiveSmallIntegerField(_("level"), default=1)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("escalated from"),
        on_delete=models.SET_NULL,
        related_name="children",
        null=True,
        blank=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    # Who must act: the supervisor (instructions, approval) or the specialist team's supervisor.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_escalations",
        null=True,
        blank=True,
    )
    to_team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("to team"),
        on_delete=models.PROTECT,
        related_name="escalations",
        null=True,
        blank=True,
    )
    reason = models.TextField(_("reason"))
    answer = models.TextField(_("answer or comment"), blank=True, default="")
    due_at = models.DateTimeField(_("due at"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")
        permissions = [("answer_escalation", "Can answer, approve or reject escalations")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["transfer", "instructions", "approval"]),
                name="escalation_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ESCALATION_STATUS_VALUES), name="escalation_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind="transfer") | Q(to_team__isnull=False),
                name="escalation_transfer_has_team",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="escalation_owner_idx"),
            models.Index(fields=["inquiry", "created_at"], name="escalation_inquiry_idx"),
            models.Index(fields=["status", "due_at"], name="escalation_due_idx"),
            # The inquiries escalated to a team (in its members' queue), from the index alone.
            models.Index(fields=["to_team", "inquiry"], name="escalation_team_inquiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.inquiry_id} ({self.status})"


class EscalationChange(models.Model):
    escalation = models.ForeignKey(
        Escalation, verbose_name=_("escalation"), on_delete=models.CASCADE, related_name="changes"
    )
    from_status = models.CharField(
        _("from status"), max_length=20, choices=EscalationStatus.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=20, choices=EscalationStatus.choices)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    note = models.TextField(_("note"), blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("escalation change")
        verbose_name_plural = _("escalation changes")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")),
                name="escalation_change_status_changes",
            ),
        ]
        indexes = [
            models.Index(fields=["to_status", "created_at"], name="escalation_change_to_idx"),
            models.Index(fields=["escalation", "created_at"], name="escalation_change_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.escalation_id}: {self.from_status or '∅'} → {self.to_status}"
