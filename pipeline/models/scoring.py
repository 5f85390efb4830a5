"""Explainable lead scoring (fit and behaviour rules) and screening (hot → a rep, else nurture)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import TouchpointChannel, TouchpointKind


class ScoringRule(models.Model):
    """One rule of the lead score, editable by admins.

    Fit rules give points once when a contact (or its account) attribute matches. Behaviour
    rules give points for every matching touchpoint, decayed by age with a half-life.
    """

    class Kind(models.TextChoices):
        FIT = "fit", _("Fit (who they are)")
        BEHAVIOUR = "behaviour", _("Behaviour (what they did)")

    class Attribute(models.TextChoices):
        TITLE = "title", _("Contact title")
        DEPARTMENT = "department", _("Contact department")
        INDUSTRY = "industry", _("Account industry")
        SIZE = "size", _("Account size")
        REGION = "region", _("Account region")

    class Operator(models.TextChoices):
        EQUALS = "equals", _("equals (case-insensitive)")
        CONTAINS = "contains", _("contains (case-insensitive)")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    points = models.IntegerField(_("points"), help_text=_("May be negative."))
    # Fit rules
    attribute = models.CharField(
        _("attribute"), max_length=20, choices=Attribute.choices, blank=True, default=""
    )
    operator = models.CharField(
        _("operator"), max_length=10, choices=Operator.choices, blank=True, default=""
    )
    value = models.CharField(_("value"), max_length=200, blank=True, default="")
    # Behaviour rules: each blank condition matches anything.
    touchpoint_kind = models.CharField(
        _("touchpoint kind"), max_length=30, choices=TouchpointKind.choices, blank=True, default=""
    )
    channel = models.CharField(
        _("channel"), max_length=20, choices=TouchpointChannel.choices, blank=True, default=""
    )
    campaign = models.ForeignKey(
        "pipeline.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.CASCADE,
        related_name="scoring_rules",
        null=True,
        blank=True,
    )
    half_life_days = models.PositiveIntegerField(
        _("half-life (days)"),
        default=30,
        help_text=_("Behaviour points halve every this many days; 0 = no decay."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["kind", "name", "id"]
        verbose_name = _("scoring rule")
        verbose_name_plural = _("scoring rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["fit", "behaviour"]), name="scoring_rule_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind="behaviour")
                | (~Q(attribute="") & Q(operator__in=["equals", "contains"]) & ~Q(value="")),
                name="scoring_fit_rule_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.points:+d})"


class ScreeningPolicy(models.Model):
    """The one screening policy (row id 1): the hot threshold and who gets hot leads."""

    hot_threshold = models.DecimalField(
        _("hot threshold"),
        max_digits=8,
        decimal_places=2,
        default=50,
        validators=[MinValueValidator(0)],
    )
    sales_team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("sales team for hot leads"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    follow_up_within_hours = models.PositiveIntegerField(_("follow up within (hours)"), default=24)
    # Round-robin cursor: the rep who got the last hot lead.
    last_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("screening policy")
        verbose_name_plural = _("screening policy")

    def __str__(self) -> str:
        return f"Hot at {self.hot_threshold} points"


class LeadSegment(models.TextChoices):
    HOT = "hot", _("Hot: to a sales rep")
    NURTURE = "nurture", _("Nurture")


class LeadScore(models.Model):
    """The contact's current score and why (one row per contact)."""

    contact = models.OneToOneField(
        "accounts.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="lead_score",
    )
    score = models.DecimalField(_("score"), max_digits=10, decimal_places=2, default=0)
    # [{"rule": id, "name": "...", "kind": "fit"|"behaviour", "points": 12.5}, ...]
    breakdown = models.JSONField(_("breakdown"), default=list, blank=True)
    segment = models.CharField(
        _("segment"), max_length=10, choices=LeadSegment.choices, blank=True, default=""
    )
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("lead score")
        verbose_name_plural = _("lead scores")
        indexes = [models.Index(fields=["segment", "-score"], name="lead_score_segment_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.score}"


class LeadScoreChange(models.Model):
    """History of a contact's score: written only when the score changes."""

    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="lead_score_changes",
    )
    from_score = models.DecimalField(
        _("from score"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    to_score = models.DecimalField(_("to score"), max_digits=10, decimal_places=2)
    cause = models.CharField(_("cause"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead score change")
        verbose_name_plural = _("lead score changes")
        indexes = [models.Index(fields=["contact", "created_at"], name="lead_score_change_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_score} → {self.to_score}"


class FollowUpTask(models.Model):
    """A hot lead to call: assigned to a sales rep by round robin."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="follow_up_tasks",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="follow_up_tasks",
        null=True,
        blank=True,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    score = models.DecimalField(_("score"), max_digits=10, decimal_places=2, default=0)
    due_at = models.DateTimeField(_("due at"))
    outcome = models.CharField(_("outcome"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "done", "cancelled"]),
                name="follow_up_status_valid",
            ),
            # One open follow-up per contact: re-screening never doubles it.
            models.UniqueConstraint(
                fields=["contact"], condition=Q(status="open"), name="follow_up_one_open"
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_at"], name="follow_up_inbox_idx")
        ]

    def __str__(self) -> str:
        return f"Follow up {self.contact_id} ({self.status})"
