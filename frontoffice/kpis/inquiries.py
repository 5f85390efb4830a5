"""KPI family: inquiries (the customer experience), from the inquiries' own timestamps, their
escalations and the customers' order touchpoints.

The period is [start, end) (``start_at``/``end_at``).

Figures
-------
volume
    Inquiries created in the period: total, per channel and per category ("" = none given).
first_response_minutes, resolution_minutes
    Over the inquiries first responded (``first_responded_at``) / resolved (``resolved_at``) in
    the period, whenever they were created: minutes from ``created_at``; n, median, p90
    (``sql.percentiles``, interpolated as ``percentile_cont``). A reopened inquiry's
    ``resolved_at`` is its latest resolution.
escalations
    Of the inquiries created in the period, those with at least one escalation created before
    the period's end: ``escalated`` (any kind) and per kind (transfer, instructions, approval;
    every kind listed) ``count``; each ``rate`` is that count ÷ the inquiries created (null when
    none were).
sla
    Each inquiry with a due time is measured once, in the period in which its outcome became
    known: when it was answered (resolved) if that was by the due time (met), otherwise at the
    due time (missed, whether answered later or not at all). So ``measured`` = inquiries whose
    ``min(answered at, due at)`` falls in the period and before now (a due time still ahead is
    not a miss yet); ``met`` = those answered at or before the due time; rate = met ÷ measured.
    First response uses ``first_responded_at``/``first_response_due_at``, resolution
    ``resolved_at``/``resolution_due_at`` (the current due times, as re-planned).
after_order
    ``customers``: contacts whose first order (their earliest touchpoint of kind ``order``) fell
    in the period; ``inquiries``: their inquiries created within 90 days from that order (the
    order's instant included, 90 days later excluded; for recent periods the window is still
    open, so the figure grows until it closes); ``per_customer`` = inquiries ÷ customers, rounded
    to 4 places (null without customers).

Scopes
------
all: every inquiry. team: inquiries of the team (``Inquiry.team``). rep: inquiries assigned to
the user (current assignee). campaign: inquiries of contacts whose first campaign touch before
the period's end came from the campaign (``sql.contact_scope``). channel: inquiries that came by
that inquiry channel (``email``, ``phone``, ``chat``, ``web_form``, ``sales_rep``, ``social``).
segment: inquiries of contacts whose current lead segment is ``hot`` / ``nurture``. In
after_order, campaign and segment also narrow the customers; the other scopes count all
customers and only the scope's inquiries.

Indexes used: ``inquiry_list_idx`` (created_at), ``inquiry_channel_idx``,
``escalation_inquiry_idx`` and ``touchpoint_kind_time_idx`` (kind, occurred_at). The response
and resolution figures filter on ``first_responded_at`` / ``resolved_at``, which have no index:
at scale they want ``Index(fields=["first_responded_at"])`` and ``Index(fields=["resolved_at"])``
on Inquiry (a migration of the inquiries app; not added here).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from accounts.models import Touchpoint, TouchpointKind
from frontoffice.kpis import sql
from frontoffice.kpis.periods import Period, Scope
from frontoffice.kpis.pipeline import contacts_in, percentiles, spread
from frontoffice.models import ScopeKind
from inquiries.models import Escalation, EscalationKind, Inquiry

AFTER_ORDER = timedelta(days=90)
CONTACT_SCOPES = (ScopeKind.CAMPAIGN, ScopeKind.SEGMENT)


def _scope_filter(period: Period, scope: Scope, prefix: str = "") -> Q:
    if scope.kind == ScopeKind.TEAM:
        return Q(**{f"{prefix}team_id": scope.id})
    if scope.kind == ScopeKind.REP:
        return Q(**{f"{prefix}assignee_id": scope.id})
    if scope.kind == ScopeKind.CHANNEL:
        return Q(**{f"{prefix}channel": scope.key})
    if scope.kind in CONTACT_SCOPES:
        return Q(**{f"{prefix}contact_id__in": contacts_in(scope, end=period.end_at)})
    return Q()


def _inquiries(period: Period, scope: Scope) -> QuerySet[Inquiry]:
    return Inquiry.objects.filter(_scope_filter(period, scope))


def _created(period: Period, scope: Scope) -> QuerySet[Inquiry]:
    return _inquiries(period, scope).filter(
        created_at__gte=period.start_at, created_at__lt=period.end_at
    )


def _volume(period: Period, scope: Scope) -> dict:
    rows = _created(period, scope).values("channel", "category").annotate(n=Count("id")).order_by()
    by_channel: dict[str, int] = defaultdict(int)
    by_category: dict[str, int] = defaultdict(int)
    for row in rows:
        by_channel[row["channel"]] += row["n"]
        by_category[row["category"]] += row["n"]
    return {
        "total": sum(by_channel.values()),
        "by_channel": dict(sorted(by_channel.items())),
        "by_category": dict(sorted(by_category.items())),
    }


def _time_to(period: Period, scope: Scope, field: str) -> dict:
    done = _inquiries(period, scope).filter(
        **{f"{field}__gte": period.start_at, f"{field}__lt": period.end_at}
    )
    return spread(percentiles(done, later=field, earlier="created_at").get(None), sql.minutes)


def _escalations(period: Period, scope: Scope) -> dict:
    def escalated(**kind: str) -> Q:
        escalations = Escalation.objects.filter(
            inquiry_id=OuterRef("pk"), created_at__lt=period.end_at, **kind
        )
        return Q(Exists(escalations))

    counts: dict[str, Any] = {"created": Count("id"), "escalated": Count("id", filter=escalated())}
    for kind in EscalationKind.values:
        counts[kind] = Count("id", filter=escalated(kind=kind))
    figures = _created(period, scope).aggregate(**counts)
    created = figures["created"]
    return {
        "escalated": figures["escalated"],
        "rate": sql.rate(figures["escalated"], created),
        "by_kind": {
            kind: {"count": figures[kind], "rate": sql.rate(figures[kind], created)}
            for kind in EscalationKind.values
        },
    }


def _sla(period: Period, scope: Scope) -> dict:
    decided_before = min(period.end_at, timezone.now())
    targets = {
        "first_response": ("first_responded_at", "first_response_due_at"),
        "resolution": ("resolved_at", "resolution_due_at"),
    }
    annotations: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    for name, (done, due) in targets.items():
        annotations[f"{name}_decided_at"] = Least(Coalesce(done, due), F(due))
        measured = Q(
            **{
                f"{due}__isnull": False,
                f"{name}_decided_at__gte": period.start_at,
                f"{name}_decided_at__lt": decided_before,
            }
        )
        counts[f"{name}_measured"] = Count("id", filter=measured)
        counts[f"{name}_met"] = Count("id", filter=measured & Q(**{f"{done}__lte": F(due)}))
    figures = _inquiries(period, scope).annotate(**annotations).aggregate(**counts)
    return {
        name: {
            "measured": figures[f"{name}_measured"],
            "met": figures[f"{name}_met"],
            "rate": sql.rate(figures[f"{name}_met"], figures[f"{name}_measured"]),
        }
        for name in targets
    }


def _after_order(period: Period, scope: Scope) -> dict:
    earlier_order = Touchpoint.objects.filter(
        kind=TouchpointKind.ORDER, contact_id=OuterRef("contact_id")
    ).filter(
        Q(occurred_at__lt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), id__lt=OuterRef("id"))
    )
    window_end = ExpressionWrapper(
        OuterRef("occurred_at") + Value(AFTER_ORDER), output_field=DateTimeField()
    )
    inquiries = Subquery(
        Inquiry.objects.filter(
            _scope_filter(period, scope),
            contact_id=OuterRef("contact_id"),
            created_at__gte=OuterRef("occurred_at"),
            created_at__lt=window_end,
        )
        .order_by()
        .values("contact_id")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )
    first_orders = Touchpoint.objects.filter(
        kind=TouchpointKind.ORDER,
        contact_id__isnull=False,
        occurred_at__gte=period.start_at,
        occurred_at__lt=period.end_at,
    ).filter(~Exists(earlier_order))
    if scope.kind in CONTACT_SCOPES:
        first_orders = first_orders.filter(contact_id__in=contacts_in(scope, end=period.end_at))
    figures = first_orders.annotate(inquiries_after=Coalesce(inquiries, 0)).aggregate(
        customers=Count("id"), inquiries=Sum("inquiries_after")
    )
    customers, count = figures["customers"], figures["inquiries"] or 0
    return {"customers": customers, "inquiries": count, "per_customer": sql.rate(count, customers)}


def compute(period: Period, scope: Scope) -> dict:
    return {
        "volume": _volume(period, scope),
        "first_response_minutes": _time_to(period, scope, "first_responded_at"),
        "resolution_minutes": _time_to(period, scope, "resolved_at"),
        "escalations": _escalations(period, scope),
        "sla": _sla(period, scope),
        "after_order": _after_order(period, scope),
    }
