"""Who gets an inquiry (assignment rules per team) and the team's saved replies."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inquiries.models.inquiries import InquiryChannel


class AssignmentRule(models.Model):
    """Inquiries matching the channel and category (blank = any) go to the team's queue and,
    by the strategy, to one of its agents. Rules are tried by ascending `position`."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round robin")
        LEAST_OPEN = "least_open", _("Least open work")
        QUEUE_ONLY = "queue_only", _("Team queue only (agents take)")

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveIntegerField(_("position"), default=100)
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        related_name="assignment_rules",
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=InquiryChannel.choices, blank=True, default=""
    )
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.ROUND_ROBIN
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Round-robin cursor: the agent who got the last inquiry by this rule.
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(strategy__in=["round_robin", "least_open", "queue_only"]),
                name="assignment_rule_strategy_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SavedReply(models.Model):
    """A canned response of a team (no team: everyone's)."""

    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        on_delete=models.CASCADE,
        related_name="saved_replies",
        null=True,
        blank=True,
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    usage_count = models.PositiveIntegerField(_("times used"), default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-usage_count", "title", "id"]
        verbose_name = _("saved reply")
        verbose_name_plural = _("saved replies")

    def __str__(self) -> str:
        return self.title
