"""Watching SLA targets: missed first responses and resolutions, escalated exactly once.

``check_breaches`` runs every five minutes (``inquiries.tasks.check_sla_breaches``):

1. Finds, set-based, the active inquiries whose first response is overdue (none yet, due time
   past) and the unfinished ones whose resolution is overdue, without a breach row for that due
   time yet, and inserts one ``SlaBreach`` per (inquiry, kind, due time), ignoring conflicts: two
   beat processes running at once still write each breach once.
2. Escalates each breach not escalated yet to the supervisor of the inquiry's team: it claims
   the breach with a compare-and-set on ``SlaBreach.notified`` (only one process wins), sends the
   supervisor an ``sla_breach`` notification (inbox and email) and opens an ``instructions``
   escalation owned by the supervisor, so the breach has an owner, a due time and an answer,
   and the inquiry shows as ``escalated`` until the supervisor answers. One transaction per
   breach: a failure leaves that breach for the next run.

A breach of an inquiry without a supervised team is kept but not escalated; it is escalated by a
later run once the inquiry is in a supervised team's queue (while it is still active). A new
due time (the priority changed) that is missed again is a new breach.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from accounts.notifications import notification_send
from frontoffice.errors import ApplicationError
from inquiries.escalations import escalation_open
from inquiries.models import EscalationKind, Inquiry, SlaBreach
from inquiries.statuses import ACTIVE

logger = logging.getLogger(__name__)

INSERT_BATCH = 1000
KIND_LABEL = {
    SlaBreach.Kind.FIRST_RESPONSE: "first response",
    SlaBreach.Kind.RESOLUTION: "resolution",
}


def _overdue(kind: str, *, now: datetime) -> QuerySet:
    due_field = (
        "first_response_due_at" if kind == SlaBreach.Kind.FIRST_RESPONSE else "resolution_due_at"
    )
    overdue = Inquiry.objects.filter(status__in=list(ACTIVE), **{f"{due_field}__lt": now})
    if kind == SlaBreach.Kind.FIRST_RESPONSE:
        overdue = overdue.filter(first_responded_at__isnull=True)
    known = SlaBreach.objects.filter(inquiry=OuterRef("pk"), kind=kind, due_at=OuterRef(due_field))
    return overdue.filter(~Exists(known)).order_by().values_list("pk", due_field)


def _escalate(breach: SlaBreach, *, now: datetime) -> bool:
    inquiry = breach.inquiry
    supervisor = inquiry.team.supervisor
    with transaction.atomic():
        claimed = SlaBreach.objects.filter(pk=breach.pk, notified__isnull=True).update(
            notified=supervisor
        )
        if not claimed:
            return False  # another run was first
        label = KIND_LABEL[breach.kind]
        due = timezone.localtime(breach.due_at)
        reason = (
            f"SLA breach: the {label} of inquiry #{inquiry.pk} was due at {due:%Y-%m-%d %H:%M} "
            f"({inquiry.get_priority_display()} priority, {inquiry.get_channel_display()})."
        )
        notification_send(
            recipient=supervisor,
            kind="sla_breach",
            key=f"sla-breach:{breach.pk}",
            subject=f"[#{inquiry.pk}] SLA {label} missed: {inquiry.subject}",
            body=reason,
            source=breach,
        )
        escalation_open(
            inquiry=inquiry,
            kind=EscalationKind.INSTRUCTIONS,
            reason=reason,
            owner=supervisor,
            notify=False,
            at=now,
        )
    return True


def check_breaches(*, now: datetime) -> dict[str, int]:
    """Record new breaches and escalate each to the team supervisor once; returns counts:
    breaches seen new by this run per kind, breaches escalated, and breaches waiting for a
    supervised team."""
    counts = {kind: 0 for kind in SlaBreach.Kind.values}
    for kind in SlaBreach.Kind.values:
        rows = [
            SlaBreach(inquiry_id=pk, kind=kind, due_at=due_at, detected_at=now)
            for pk, due_at in _overdue(kind, now=now)
        ]
        SlaBreach.objects.bulk_create(rows, batch_size=INSERT_BATCH, ignore_conflicts=True)
        counts[kind] = len(rows)
    waiting = SlaBreach.objects.filter(notified__isnull=True, inquiry__status__in=list(ACTIVE))
    escalated = 0
    for breach in waiting.filter(inquiry__team__supervisor__is_active=True).select_related(
        "inquiry__team__supervisor"
    ):
        try:
            escalated += _escalate(breach, now=now)
        except ApplicationError:
            logger.warning("could not escalate SLA breach %s", breach.pk, exc_info=True)
    unrouted = waiting.exclude(inquiry__team__supervisor__is_active=True).count()
    return {**counts, "escalated": escalated, "waiting_for_supervisor": unrouted}
