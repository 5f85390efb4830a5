"""The cross-stage layer's own records: KPI snapshots and the runs that compute them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from frontoffice.audit.models import AuditAction, AuditEntry  # noqa: F401 (the app's models)


class PeriodKind(models.TextChoices):
    DAY = "day", _("Day")
    WEEK = "week", _("Week (Monday to Sunday)")
    MONTH = "month", _("Month")
    CUSTOM = "custom", _("Custom range")


class ScopeKind(models.TextChoices):
    ALL = "all", _("Everything")
    TEAM = "team", _("Team")
    REP = "rep", _("Sales rep")
    CAMPAIGN = "campaign", _("Campaign")
    CHANNEL = "channel", _("Channel")
    SEGMENT = "segment", _("Lead segment")


class KpiSnapshot(models.Model):
    """Every KPI family's figures for one period and one scope, as computed at `computed_at`.

    Recomputing the same period and scope replaces the row (unique key), so a task that runs
    twice stores one snapshot.
    """

    definition_version = models.PositiveIntegerField(_("definition version"))
    period_kind = models.CharField(_("period kind"), max_length=10, choices=PeriodKind.choices)
    # The period is [period_start, period_end): the end day is not included.
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    scope_kind = models.CharField(_("scope"), max_length=10, choices=ScopeKind.choices)
    # The team/rep/campaign id, the channel or the segment; "" for everything.
    scope_key = models.CharField(_("scope key"), max_length=100, blank=True, default="")
    values = models.JSONField(_("values"), default=dict)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        ordering = ["-period_start", "scope_kind", "scope_key"]
        verbose_name = _("KPI snapshot")
        verbose_name_plural = _("KPI snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["period_start", "period_end", "scope_kind", "scope_key"],
                name="kpi_snapshot_one_per_period_scope",
            ),
            models.CheckConstraint(
                condition=Q(period_end__gt=models.F("period_start")),
                name="kpi_snapshot_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(scope_kind="all", scope_key="")
                | (~Q(scope_kind="all") & ~Q(scope_key="")),
                name="kpi_snapshot_scope_key_matches",
            ),
        ]
        indexes = [
            models.Index(
                fields=["scope_kind", "scope_key", "period_kind", "-period_start"],
                name="kpi_snapshot_trend_idx",
            )
        ]

    def __str__(self) -> str:
        scope = self.scope_kind if not self.scope_key else f"{self.scope_kind} {self.scope_key}"
        return f"{self.period_start}..{self.period_end} {scope}"


class KpiRun(models.Model):
    """One request to compute a snapshot (queued from the API, the command or beat)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    period_kind = models.CharField(max_length=10, choices=PeriodKind.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    scope_kind = models.CharField(max_length=10, choices=ScopeKind.choices)
    scope_key = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    snapshot = models.ForeignKey(
        KpiSnapshot, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("KPI run")
        verbose_name_plural = _("KPI runs")
        permissions = [("compute_kpis", "Can start a KPI computation")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]),
                name="kpi_run_status_valid",
            )
        ]

    def __str__(self) -> str:
        return f"KPI run {self.pk} ({self.status})"


class OutboxTask(models.Model):
    """A task the broker could not take when it was scheduled (Redis down): kept here and sent
    by ``frontoffice.tasks.send_kept_tasks`` once the broker is back, so no work is lost and the
    request that scheduled it still succeeds. See ``frontoffice.background``."""

    task = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    kept_at = models.DateTimeField(_("kept at"), default=timezone.now)
    attempts = models.PositiveIntegerField(_("attempts to send"), default=1)
    last_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        ordering = ["id"]
        verbose_name = _("task kept for the broker")
        verbose_name_plural = _("tasks kept for the broker")

    def __str__(self) -> str:
        return f"{self.task} (kept {self.kept_at:%Y-%m-%d %H:%M})"
