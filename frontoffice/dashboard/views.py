"""The staff KPI dashboard: one snapshot's figures as charts, with the same figures in tables.

Reads the snapshot of the chosen period and scope (computing it on the spot when there is none
yet, so a fresh demo is never empty) and the scope's earlier snapshots for the trends.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Team
from frontoffice.errors import ApplicationError
from frontoffice.kpis import engine
from frontoffice.kpis.periods import Period, Scope
from frontoffice.kpis.snapshots import snapshot_compute, snapshot_history
from frontoffice.models import KpiSnapshot, PeriodKind, ScopeKind
from pipeline.models import Campaign
from pipeline.quotes import format_money

SCOPE_FIELDS = ("team", "rep", "campaign")


class DashboardFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Period kind"), choices=PeriodKind.choices, required=False
    )
    period = forms.CharField(
        label=gettext_lazy("Period"),
        required=False,
        max_length=30,
        help_text=gettext_lazy("2026-11-22, 2026-W47, 2026-11 or 2026-01-01..2026-03-31"),
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"), queryset=Team.objects.order_by("name", "pk"), required=False
    )
    rep = forms.ModelChoiceField(
        label=gettext_lazy("Sales rep"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
    )
    campaign = forms.ModelChoiceField(
        label=gettext_lazy("Campaign"),
        queryset=Campaign.objects.order_by("name", "pk"),
        required=False,
    )

    def clean(self):
        data = super().clean()
        chosen = [name for name in SCOPE_FIELDS if data.get(name) is not None]
        if len(chosen) > 1:
            message = _("Choose one of team, rep or campaign (or none for everything).")
            for name in chosen:
                self.add_error(name, message)
        data["period_obj"] = self._period(data)
        return data

    def _period(self, data) -> Period | None:
        text = (data.get("period") or "").strip()
        if text:
            try:
                return Period.parse(text)
            except ApplicationError as exc:
                self.add_error("period", exc.errors["period"])
                return None
        today = timezone.localdate()
        kind = data.get("kind") or PeriodKind.MONTH
        if kind == PeriodKind.DAY:
            return Period.day(today - timedelta(days=1))
        if kind == PeriodKind.WEEK:
            return Period.week_of(today)
        if kind == PeriodKind.MONTH:
            return Period.month_of(today)
        self.add_error(
            "period", _("Give the range of a custom period, e.g. 2026-01-01..2026-03-31.")
        )
        return None

    def scope(self) -> Scope:
        for name in SCOPE_FIELDS:
            chosen = self.cleaned_data.get(name)
            if chosen is not None:
                return Scope(name, str(chosen.pk))
        return Scope()


def _rate(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _number(value) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _money(amounts: dict) -> str:
    if not amounts:
        return "—"
    return ", ".join(
        format_money(Decimal(amount), currency) for currency, amount in sorted(amounts.items())
    )


def _percent(value) -> float | None:
    return None if value is None else round(value * 100, 2)


def _journey(values: dict) -> dict:
    conversions = values.get("conversions", [])
    return {
        "stages": values.get("stages", []),
        "conversions": [
            {**row, "rate_text": _rate(row["rate"]), "key": f"{row['from']} → {row['to']}"}
            for row in conversions
        ],
        "times": [
            {**row, "key": f"{row['from']} → {row['to']}"} for row in values.get("times", [])
        ],
    }


def _pipeline(values: dict) -> dict:
    return {
        "stages": [
            {**row, "amount_text": _money(row["amounts"])} for row in values.get("stages", [])
        ],
        "transitions": [
            {**row, "rate_text": _rate(row["rate"]), "key": f"{row['from']} → {row['to']}"}
            for row in values.get("transitions", [])
        ],
        "days_in_stage": [dict(row) for row in values.get("days_in_stage", [])],
        "won": values.get("won"),
        "lost": values.get("lost"),
        "win_rate_text": _rate(values.get("win_rate")),
        "won_amount_text": _money(values.get("won_amounts", {})),
        "average_deal_size_text": _money(values.get("average_deal_size", {})),
        "stalled": values.get("stalled"),
    }


def _inquiries(values: dict) -> dict:
    volume = values.get("volume", {})
    first = values.get("first_response_minutes", {})
    return {
        "total": volume.get("total", 0),
        "by_channel": sorted(volume.get("by_channel", {}).items()),
        "first_response_median": _number(first.get("median")),
        "first_response_p90": _number(first.get("p90")),
    }


def _trend_rows(snapshots: list[KpiSnapshot]) -> list[dict]:
    rows = []
    for snapshot in snapshots:
        values = snapshot.values
        label = Period(snapshot.period_kind, snapshot.period_start, snapshot.period_end).label
        win_rate = values.get("pipeline", {}).get("win_rate")
        first = values.get("inquiries", {}).get("first_response_minutes", {}).get("median")
        rows.append(
            {
                "label": label,
                "win_rate": _percent(win_rate),
                "win_rate_text": _rate(win_rate),
                "first_response_median": first,
                "first_response_text": _number(first),
            }
        )
    return rows


def _charts(journey: dict, pipeline: dict, inquiries: dict, trends: list[dict], bottleneck) -> dict:
    """What dashboard.js draws: plain labels and numbers (the tables carry the same figures)."""
    # Only a slow stage is a bar of the time chart; a weak conversion is flagged in the tables.
    slow = bottleneck and bottleneck.get("metric") == "median_days"
    words = {"journey": _("Journey"), "pipeline": _("Pipeline")}
    spot = f"{words.get(bottleneck['process'])} {bottleneck['transition']}" if slow else None
    return {
        "journeyFunnel": {
            "labels": [row["stage"] for row in journey["stages"]],
            "series": [
                {
                    "label": _("Contacts at the stage"),
                    "data": [r["contacts"] for r in journey["stages"]],
                },
                {
                    "label": _("Entered in the period"),
                    "data": [r["entered"] for r in journey["stages"]],
                },
            ],
            "rates": {
                "labels": [row["key"] for row in journey["conversions"]],
                "data": [_percent(row["rate"]) for row in journey["conversions"]],
            },
        },
        "pipelineFunnel": {
            "labels": [row["stage"] for row in pipeline["stages"]],
            "series": [{"label": _("Deals"), "data": [r["deals"] for r in pipeline["stages"]]}],
            "rates": {
                "labels": [row["key"] for row in pipeline["transitions"]],
                "data": [_percent(row["rate"]) for row in pipeline["transitions"]],
            },
        },
        "times": {
            "labels": [
                *(f"{words['journey']} {row['key']}" for row in journey["times"]),
                *(f"{words['pipeline']} {row['stage']}" for row in pipeline["days_in_stage"]),
            ],
            "series": [
                {
                    "label": _("Median (days)"),
                    "data": [
                        *(row["median_days"] for row in journey["times"]),
                        *(row["median_days"] for row in pipeline["days_in_stage"]),
                    ],
                },
                {
                    "label": _("90th percentile (days)"),
                    "data": [
                        *(row["p90_days"] for row in journey["times"]),
                        *(row["p90_days"] for row in pipeline["days_in_stage"]),
                    ],
                },
            ],
            "highlight": spot,
        },
        "channels": {
            "labels": [channel for channel, _count in inquiries["by_channel"]],
            "series": [{"label": _("Inquiries"), "data": [n for _c, n in inquiries["by_channel"]]}],
        },
        "trends": {
            "labels": [row["label"] for row in trends],
            "series": [
                {"label": _("Win rate (%)"), "data": [row["win_rate"] for row in trends]},
                {
                    "label": _("First response, median (minutes)"),
                    "data": [row["first_response_median"] for row in trends],
                    "yAxisID": "minutes",
                },
            ],
        },
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The KPIs of one period and scope (this month and everything by default)."""
    if not request.user.has_perm("frontoffice.view_kpisnapshot"):
        raise PermissionDenied(_("You may not read the KPIs."))
    form = DashboardFilterForm(request.GET)
    context = {"form": form, "snapshot": None}
    if not form.is_valid():
        return render(request, "dashboard/dashboard.html", context, status=400)
    period = form.cleaned_data["period_obj"]
    scope = form.scope()
    # Show the selection as resolved (the default kind included), not as typed.
    form = DashboardFilterForm(
        initial={
            **{name: form.cleaned_data[name] for name in SCOPE_FIELDS},
            "kind": period.kind,
            "period": form.cleaned_data["period"],
        }
    )
    context["form"] = form
    context.update(period=period, scope=scope, scope_label=_scope_label(form.initial, scope))
    if period.start > timezone.localdate():
        context["not_started"] = True
        return render(request, "dashboard/dashboard.html", context)
    snapshot = KpiSnapshot.objects.filter(
        period_start=period.start,
        period_end=period.end,
        scope_kind=scope.kind,
        scope_key=scope.key,
        definition_version=engine.DEFINITION_VERSION,
    ).first()
    if snapshot is None:
        snapshot = snapshot_compute(period=period, scope=scope)
        context["computed_now"] = True
    history = snapshot_history(period=period, scope=scope)
    values = snapshot.values
    journey = _journey(values.get("journey", {}))
    pipeline = _pipeline(values.get("pipeline", {}))
    inquiries = _inquiries(values.get("inquiries", {}))
    trends = _trend_rows([*history, snapshot])
    bottleneck = values.get("bottleneck")
    _mark_spot(bottleneck, journey=journey, pipeline=pipeline)
    context.update(
        snapshot=snapshot,
        journey=journey,
        pipeline=pipeline,
        inquiries=inquiries,
        trends=trends,
        bottleneck=bottleneck,
        charts=_charts(journey, pipeline, inquiries, trends, bottleneck),
    )
    return render(request, "dashboard/dashboard.html", context)


def _mark_spot(bottleneck: dict | None, *, journey: dict, pipeline: dict) -> None:
    """Flag the table row the bottleneck names (drawn in the bottleneck's colour)."""
    lists = {
        ("journey", "conversion"): (journey["conversions"], "key"),
        ("journey", "median_days"): (journey["times"], "key"),
        ("pipeline", "conversion"): (pipeline["transitions"], "key"),
        ("pipeline", "median_days"): (pipeline["days_in_stage"], "stage"),
    }
    for (process, metric), (rows, key) in lists.items():
        for row in rows:
            row["spot"] = bool(
                bottleneck
                and bottleneck.get("process") == process
                and bottleneck.get("metric") == metric
                and bottleneck.get("transition") == row[key]
            )


def _scope_label(selection: dict, scope: Scope) -> str:
    if scope.kind == ScopeKind.ALL:
        return str(ScopeKind.ALL.label)
    chosen = selection[scope.kind]
    name = chosen.get_username() if scope.kind == ScopeKind.REP else chosen.name
    return f"{ScopeKind(scope.kind).label}: {name}"
