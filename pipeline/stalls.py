"""Stalled deals: open deals too long in their stage, or without activity for too long.

A deal is stalled when it has been in its stage longer than the stage's
``DealStageSetting.stall_after_days`` (empty: never by time), or when nothing happened for
``SalesPolicy.idle_after_days``: the latest of the deal's own ``last_activity_at`` and the
latest touchpoint on its customer's timeline (the contact's, or the account's when the deal has
no contact). Detection is set-based: the rule is one SQL condition over all open deals, so the
number of queries does not grow with the number of deals (only with the notifications sent).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from accounts.models import Touchpoint
from accounts.notifications import notifications_send
from pipeline.models import Deal, DealStageSetting, DealStall, SalesPolicy
from pipeline.models.deals import OPEN_DEAL_STAGES

NOTIFICATION_KIND = "deal_stalled"
DEFAULT_IDLE_AFTER_DAYS = SalesPolicy._meta.get_field("idle_after_days").default


def _latest_touchpoint(**customer: OuterRef) -> Subquery:
    return Subquery(
        Touchpoint.objects.filter(**customer).order_by("-occurred_at").values("occurred_at")[:1],
        output_field=DateTimeField(),
    )


def _stall_reasons(*, now: datetime) -> QuerySet[Deal]:
    """Open deals annotated with `stall_reason` (None when not stalled) and `last_seen`."""
    thresholds = dict(
        DealStageSetting.objects.filter(
            stage__in=OPEN_DEAL_STAGES, stall_after_days__isnull=False
        ).values_list("stage", "stall_after_days")
    )
    policy = SalesPolicy.objects.filter(pk=1).only("idle_after_days").first()
    idle_days = policy.idle_after_days if policy is not None else DEFAULT_IDLE_AFTER_DAYS

    too_long_in_stage = Q(pk__in=[])
    for stage, days in thresholds.items():
        too_long_in_stage |= Q(stage=stage, stage_changed_at__lt=now - timedelta(days=days))
    customer_touch = Case(
        When(
            contact__isnull=False,
            then=_latest_touchpoint(contact_id=OuterRef("contact_id")),
        ),
        default=_latest_touchpoint(account_id=OuterRef("account_id")),
        output_field=DateTimeField(),
    )
    # Coalesce: SQLite's GREATEST (MAX) is NULL when any argument is NULL.
    last_seen = Greatest("last_activity_at", Coalesce(customer_touch, "last_activity_at"))
    return (
        Deal.objects.filter(stage__in=OPEN_DEAL_STAGES)
        .annotate(last_seen=last_seen)
        .annotate(
            stall_reason=Case(
                When(too_long_in_stage, then=Value(DealStall.Reason.TIME_IN_STAGE)),
                When(
                    last_seen__lt=now - timedelta(days=idle_days),
                    then=Value(DealStall.Reason.NO_ACTIVITY),
                ),
                default=None,
                output_field=CharField(),
            )
        )
    )


def stalled_deals(*, now: datetime) -> QuerySet[Deal]:
    """The open deals that are stalled at `now` by the current rules (whether flagged or not)."""
    return _stall_reasons(now=now).filter(stall_reason__isnull=False)


def detect_stalled_deals(*, now: datetime) -> dict[str, int]:
    """Flag the open deals that are stalled at `now` and unflag those that are no longer
    (moved, revived by an activity or touchpoint, closed, threshold changed).

    A newly stalled deal gets ``is_stalled`` and an open ``DealStall`` (its reason, its stage,
    started now); its owner and its team's supervisor are notified once per stall. A deal no
    longer stalled is unflagged and its open stall ends now. Idempotent: a second run at the
    same moment changes nothing and notifies nobody again; the partial unique constraint on
    open stalls keeps concurrent runs from opening two. Returns the counts `flagged`,
    `unflagged` and `stalled` (flagged deals after the run).
    """
    stalled_ids = stalled_deals(now=now).values("pk")
    with transaction.atomic():
        unflagged = (
            Deal.objects.filter(is_stalled=True)
            .exclude(pk__in=stalled_ids)
            .update(is_stalled=False)
        )
        DealStall.objects.filter(ended_at__isnull=True).exclude(deal_id__in=stalled_ids).update(
            ended_at=now
        )

        open_stall = DealStall.objects.filter(deal_id=OuterRef("pk"), ended_at__isnull=True)
        new_stalls = [
            DealStall(deal_id=pk, reason=reason, stage=stage, started_at=now)
            for pk, reason, stage in stalled_deals(now=now)
            .filter(~Exists(open_stall))
            .order_by("pk")
            .values_list("pk", "stall_reason", "stage")
        ]
        # A concurrent run may have opened some of them first: its row stands, ours is skipped.
        DealStall.objects.bulk_create(new_stalls, ignore_conflicts=True)
        to_notify = list(
            DealStall.objects.filter(ended_at__isnull=True, deal__is_stalled=False)
            .select_related("deal__owner", "deal__team__supervisor")
            .order_by("pk")
        )
        flagged = Deal.objects.filter(
            Exists(open_stall), stage__in=OPEN_DEAL_STAGES, is_stalled=False
        ).update(is_stalled=True)
        for stall in to_notify:
            _notify(stall)
        stalled = Deal.objects.filter(is_stalled=True).count()
    return {"flagged": flagged, "unflagged": unflagged, "stalled": stalled}


def _notify(stall: DealStall) -> None:
    deal = stall.deal
    if stall.reason == DealStall.Reason.TIME_IN_STAGE:
        why = f"It has been in the {stall.get_stage_display()} stage too long."
    else:
        why = "Nothing has happened on it or with its customer for too long."
    supervisor = deal.team.supervisor if deal.team is not None else None
    notifications_send(
        recipients=[deal.owner, supervisor],
        kind=NOTIFICATION_KIND,
        key=f"deal-stall:{stall.pk}",
        subject=f"Deal stalled: {deal.name}",
        body=f"The deal {deal.name!r} (#{deal.pk}) is stalled. {why}",
        link=f"/admin/pipeline/deal/{deal.pk}/change/",
        source=deal,
    )
