"""The customer story: deals, their stage history and stalls, and the admin-set sales policy."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DealStage(models.TextChoices):
    LIST = "list", _("List")
    PROPOSAL = "proposal", _("Proposal")
    OPPORTUNITY = "opportunity", _("Opportunity")
    QUOTE = "quote", _("Quote")
    WON = "won", _("Won (order)")
    LOST = "lost", _("Lost")


DEAL_STAGE_VALUES = [value for value, _label in DealStage.choices]
OPEN_DEAL_STAGES = ("list", "proposal", "opportunity", "quote")
CLOSED_DEAL_STAGES = ("won", "lost")


class DealStageSetting(models.Model):
    """Per stage, admin-configurable: the default win probability and the stall threshold."""

    stage = models.CharField(_("stage"), max_length=20, choices=DealStage.choices, primary_key=True)
    probability = models.PositiveSmallIntegerField(
        _("default probability (%)"), validators=[MaxValueValidator(100)]
    )
    stall_after_days = models.PositiveIntegerField(
        _("stalled after (days in stage)"),
        null=True,
        blank=True,
        help_text=_("Empty: never stalled by time in this stage."),
    )

    class Meta:
        ordering = ["probability", "stage"]
        verbose_name = _("deal stage setting")
        verbose_name_plural = _("deal stage settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=DEAL_STAGE_VALUES), name="deal_stage_setting_stage_valid"
            ),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="deal_stage_setting_probability_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: {self.probability}%"


def default_working_days() -> list[int]:
    return [1, 2, 3, 4, 5]


class SalesPolicy(models.Model):
    """The one sales policy (row id 1): stall detection and daily-report reminders."""

    idle_after_days = models.PositiveIntegerField(
        _("stalled after (days without activity)"),
        default=14,
        validators=[MinValueValidator(1)],
        help_text=_("An open deal with no activity or touchpoint for this long is stalled."),
    )
    report_due_time = models.TimeField(
        _("daily report due at"),
        default=datetime.time(18, 0),
        help_text=_("Reps who have not submitted by then are reminded (local time)."),
    )
    summary_time = models.TimeField(_("managers' daily summary at"), default=datetime.time(19, 0))
    # ISO weekdays (1 = Monday ... 7 = Sunday) on which reports are expected.
    working_days = models.JSONField(_("working days"), default=default_working_days)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sales policy")
        verbose_name_plural = _("sales policy")

    def __str__(self) -> str:
        return f"Stalled after {self.idle_after_days} idle days"


class Deal(models.Model):
    """One sales opportunity with a customer, moving list → proposal → opportunity → quote →
    won/lost. The stage changes only through ``pipeline.deals.deal_move``."""

    name = models.CharField(_("name"), max_length=200)
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="deals",
        null=True,
        blank=True,
    )
    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("primary contact"),
        on_delete=models.SET_NULL,
        related_name="deals",
        null=True,
        blank=True,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="deals",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        related_name="deals",
        null=True,
        blank=True,
    )
    amount = models.DecimalField(
        _("amount"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    stage = models.CharField(
        _("stage"), max_length=20, choices=DealStage.choices, default=DealStage.LIST, editable=False
    )
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    expected_close_on = models.DateField(_("expected close"), null=True, blank=True)
    campaign = models.ForeignKey(
        "pipeline.Campaign",
        verbose_name=_("source campaign"),
        on_delete=models.PROTECT,
        related_name="deals",
        null=True,
        blank=True,
    )
    lost_reason = models.CharField(_("lost reason"), max_length=500, blank=True, default="")
    stage_changed_at = models.DateTimeField(_("stage changed at"), default=timezone.now)
    # The latest activity, quote or stage move on the deal (stall detection also reads the
    # customer's timeline).
    last_activity_at = models.DateTimeField(_("last activity at"), default=timezone.now)
    is_stalled = models.BooleanField(_("stalled"), default=False, editable=False)
    # An id in the system the deal was imported from (e.g. the Maven opportunity id).
    external_id = models.CharField(_("external id"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        permissions = [
            ("move_deal", "Can move a deal's stage"),
            ("reopen_deal", "Can reopen a won or lost deal"),
            ("view_team_deals", "Can see the deals of the teams one belongs to or supervises"),
            ("view_all_deals", "Can see every deal"),
            (
                "view_served_customer_deals",
                "Can see the deals of customers one owns or has handled",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=DEAL_STAGE_VALUES), name="deal_stage_valid"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="deal_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="deal_probability_range"
            ),
            models.CheckConstraint(
                condition=Q(stage__in=CLOSED_DEAL_STAGES, closed_at__isnull=False)
                | Q(stage__in=OPEN_DEAL_STAGES, closed_at__isnull=True),
                name="deal_closed_at_iff_closed",
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="deal_external_id_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="deal_list_idx"),
            models.Index(fields=["owner", "stage"], name="deal_owner_stage_idx"),
            models.Index(fields=["team", "stage"], name="deal_team_stage_idx"),
            models.Index(fields=["stage", "stage_changed_at"], name="deal_stage_time_idx"),
            models.Index(
                fields=["is_stalled"], condition=Q(is_stalled=True), name="deal_stalled_idx"
            ),
            models.Index(fields=["expected_close_on"], name="deal_expected_close_idx"),
            # A rep's deals, newest first (the list), without filtering the whole table's order.
            models.Index(fields=["owner", "-created_at", "-id"], name="deal_owner_list_idx"),
            # The deals at one stage, newest first (a manager's board column): new deals are at
            # the first stages, so the list order alone read 60,000 rows to find 50 at `quote`.
            models.Index(fields=["stage", "-created_at", "-id"], name="deal_stage_list_idx"),
            # The customers of a rep's deals (inquiry scope), read from the index alone.
            models.Index(fields=["owner", "contact", "account"], name="deal_owner_customer_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.stage in CLOSED_DEAL_STAGES


class DealStageChange(models.Model):
    """One move of a deal's stage, written in the same transaction as the move."""

    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.CharField(
        _("from stage"), max_length=20, choices=DealStage.choices, blank=True
    )
    to_stage = models.CharField(_("to stage"), max_length=20, choices=DealStage.choices)
    # The deal's amount when it moved (KPIs sum amounts per transition).
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("deal stage change")
        verbose_name_plural = _("deal stage changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(from_stage__in=["", *DEAL_STAGE_VALUES]),
                name="deal_change_from_stage_valid",
            ),
            models.CheckConstraint(
                condition=Q(to_stage__in=DEAL_STAGE_VALUES), name="deal_change_to_stage_valid"
            ),
            models.CheckConstraint(
                condition=~Q(from_stage=models.F("to_stage")), name="deal_change_stage_changes"
            ),
        ]
        indexes = [
            models.Index(fields=["to_stage", "created_at"], name="deal_change_to_stage_idx"),
            models.Index(fields=["deal", "created_at"], name="deal_change_deal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.from_stage or '∅'} → {self.to_stage}"


class DealStall(models.Model):
    """One period during which a deal was stalled: opened when flagged, ended when unflagged.
    Owner and manager are notified once per stall."""

    class Reason(models.TextChoices):
        TIME_IN_STAGE = "time_in_stage", _("Too long in its stage")
        NO_ACTIVITY = "no_activity", _("No activity")

    deal = models.ForeignKey(
        Deal, verbose_name=_("deal"), on_delete=models.CASCADE, related_name="stalls"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    stage = models.CharField(_("stage"), max_length=20, choices=DealStage.choices)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("deal stall")
        verbose_name_plural = _("deal stalls")
        constraints = [
            models.UniqueConstraint(
                fields=["deal"], condition=Q(ended_at__isnull=True), name="deal_stall_one_open"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=["time_in_stage", "no_activity"]),
                name="deal_stall_reason_valid",
            ),
        ]
        indexes = [models.Index(fields=["deal", "started_at"], name="deal_stall_deal_idx")]

    def __str__(self) -> str:
        return f"{self.deal_id} stalled since {self.started_at:%Y-%m-%d}"
