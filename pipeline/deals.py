"""Deals: create, update, and move along list → proposal → opportunity → quote → won/lost.

A move is validated by the pure rules in ``pipeline.deal_stages``, done as a compare-and-set on
the stage the caller saw (two people moving the same deal: one wins, the other gets a 409), and
writes its ``DealStageChange`` row and a timeline touchpoint in the same transaction. Winning
records an order on the timeline and makes the contact (and account) a customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import TouchpointChannel, TouchpointKind
from frontoffice.audit.models import AuditAction
from frontoffice.audit.services import audit_delete, audit_record, created, diff, field_values
from frontoffice.errors import ApplicationError, ConflictError, PermissionDeniedError
from frontoffice.validation import full_clean_or_400
from pipeline import deal_stages
from pipeline.models import Deal, DealStage, DealStageChange, DealStageSetting

DEAL_FIELDS = (
    "name",
    "account",
    "contact",
    "owner",
    "team",
    "amount",
    "currency",
    "probability",
    "expected_close_on",
    "campaign",
)
REASON_MAX_LENGTH = 500
# What the audit log records of a deal on create and delete.
DEAL_AUDIT_FIELDS = (*DEAL_FIELDS, "stage")


CURRENCY_PATTERN = re.compile(r"[A-Z]{3}")


def deal_errors(
    deal: Deal, *, changed: Iterable[str] = (), closed: bool = False
) -> dict[str, list[str]]:
    """What the domain refuses in `deal`'s details beyond field validation: a currency that is
    not an ISO 4217 code, a contact of another account, and (`closed`: the deal is won or lost)
    a change of the amount or currency of its order. The services raise these; the admin form
    shows them on its fields."""
    errors: dict[str, list[str]] = {}
    if not CURRENCY_PATTERN.fullmatch(deal.currency or ""):
        errors["currency"] = ["A currency is a three-letter code such as JPY or USD."]
    if (
        deal.contact is not None
        and deal.account is not None
        and deal.contact.account_id not in (None, deal.account.pk)
    ):
        errors["contact"] = ["The contact belongs to another account."]
    if closed and set(changed) & {"amount", "currency"}:
        message = "A closed deal's amount is its order; reopen it to change the amount."
        errors["amount"] = [message]
    return errors


def _check(deal: Deal, **kwargs: Any) -> None:
    errors = deal_errors(deal, **kwargs)
    if errors:
        message = next(iter(errors.values()))[0] if len(errors) == 1 else "Invalid input."
        raise ApplicationError(message, errors=errors)


def _account_from_contact(deal: Deal) -> None:
    """A deal on a person of an organisation is on that organisation too."""
    if deal.contact is not None and deal.account is None and deal.contact.account_id:
        deal.account = deal.contact.account


def stage_probability(stage: str) -> int:
    setting = DealStageSetting.objects.filter(stage=stage).only("probability").first()
    if setting is not None:
        return setting.probability
    return deal_stages.FALLBACK_PROBABILITY[stage]


def deal_create(
    *,
    name: str,
    owner,
    account=None,
    contact=None,
    team=None,
    amount=None,
    currency: str = "",
    probability: int | None = None,
    expected_close_on=None,
    campaign=None,
    stage: str = DealStage.LIST,
    actor=None,
    at: datetime | None = None,
    external_id: str = "",
) -> Deal:
    """Open a deal at `stage` (an open stage) and write its first stage-change row."""
    if stage not in deal_stages.OPEN:
        message = "A new deal starts at an open stage."
        raise ApplicationError(message, errors={"stage": [message]})
    at = at or timezone.now()
    deal = Deal(
        name=(name or "").strip(),
        owner=owner,
        account=account,
        contact=contact,
        team=team if team is not None else _default_team(owner),
        currency=(currency or "JPY").strip().upper(),
        probability=stage_probability(stage) if probability is None else probability,
        expected_close_on=expected_close_on,
        campaign=campaign,
        stage=stage,
        stage_changed_at=at,
        last_activity_at=at,
        created_at=at,
        external_id=external_id,
    )
    if amount is not None:
        deal.amount = amount
    _account_from_contact(deal)
    full_clean_or_400(deal)
    _check(deal)
    with transaction.atomic():
        deal.save()
        DealStageChange.objects.create(
            deal=deal, from_stage="", to_stage=stage, amount=deal.amount, actor=actor, created_at=at
        )
        _record_touchpoint(deal, summary=f"Deal opened: {deal.name}", actor=actor, at=at)
        audit_record(
            action=AuditAction.CREATE,
            target=deal,
            actor=actor,
            changes=created(field_values(deal, DEAL_AUDIT_FIELDS)),
        )
    return deal


def _default_team(owner):
    """The owner's sales team when they are in exactly one."""
    teams = list(owner.teams.filter(kind="sales").only("pk")[:2]) if owner is not None else []
    return teams[0] if len(teams) == 1 else None


def deal_update(*, deal: Deal, actor=None, **changes: Any) -> Deal:
    """Change a deal's details (never its stage: that is `deal_move`). Only the changed fields
    are written, so an update racing a move never puts the old stage back."""
    unknown = set(changes) - set(DEAL_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", errors={name: ["Unknown field."] for name in sorted(unknown)}
        )
    for field, value in changes.items():
        if field == "currency" and isinstance(value, str):
            value = value.strip().upper()
        setattr(deal, field, value)
    account_before = deal.account_id
    _account_from_contact(deal)
    fields = set(changes) | ({"account"} if deal.account_id != account_before else set())
    full_clean_or_400(deal)
    with transaction.atomic():
        # The stored stage, locked: a deal won meanwhile keeps the amount of its order. The
        # stored values of the changed fields are what the audit log compares with.
        stored = Deal.objects.select_for_update().only("stage", *fields).get(pk=deal.pk)
        _check(deal, changed=fields, closed=stored.is_closed)
        if fields:
            deal.save(update_fields=[*sorted(fields), "updated_at"])
            changes = diff(field_values(stored, sorted(fields)), field_values(deal, sorted(fields)))
            if changes:
                audit_record(action=AuditAction.UPDATE, target=deal, actor=actor, changes=changes)
    return deal


def deal_delete(*, deal: Deal, actor=None) -> None:
    """Delete a deal and its stage history (the Admin's; refused while quotes reference it)."""
    audit_delete(instance=deal, fields=DEAL_AUDIT_FIELDS, actor=actor)


def deal_move(
    *,
    deal: Deal,
    to_stage: str,
    actor=None,
    note: str = "",
    at: datetime | None = None,
    expected_stage: str | None = None,
) -> DealStageChange:
    """Move the deal to `to_stage`; `note` is the reason where one is needed (backward, lost,
    reopen). Raises ApplicationError (400) for a refused move, PermissionDeniedError (403) for a
    reopen by someone without ``reopen_deal``, ConflictError (409) when the deal moved since the
    caller read it (or is not at `expected_stage`, the stage a stale board still shows)."""
    note = (note or "").strip()
    from_stage = deal.stage
    if expected_stage is not None and expected_stage != from_stage:
        raise ConflictError(
            f"The deal is at {from_stage!r} now, not {expected_stage!r}; reload and try again.",
            errors={"expected_stage": ["The stage changed meanwhile."]},
        )
    if to_stage not in DealStage.values:
        raise ApplicationError(
            "Unknown stage.", errors={"to_stage": [f"{to_stage!r} is not a deal stage."]}
        )
    move = deal_stages.classify_move(from_stage, to_stage)
    if move is None:
        if from_stage == to_stage:
            message = f"The deal is already at {to_stage!r}."
        else:
            message = deal_stages.reason_needed_message(from_stage, to_stage)
        raise ApplicationError(message, errors={"to_stage": [message]})
    if (
        move == deal_stages.Move.REOPEN
        and actor is not None
        and not actor.has_perm("pipeline.reopen_deal")
    ):
        raise PermissionDeniedError("Reopening a won or lost deal is a manager's move.")
    if not deal_stages.can_transition(from_stage, to_stage, has_reason=bool(note)):
        message = deal_stages.reason_needed_message(from_stage, to_stage)
        raise ApplicationError(message, errors={"note": [message]})
    if len(note) > REASON_MAX_LENGTH:
        message = f"At most {REASON_MAX_LENGTH} characters."
        raise ApplicationError("The note is too long.", errors={"note": [message]})
    if to_stage == DealStage.WON and deal.account_id is None and deal.contact_id is None:
        message = "A deal needs a customer (account or contact) to be won."
        raise ApplicationError(message, errors={"to_stage": [message]})
    at = at or timezone.now()
    if at < deal.stage_changed_at:
        message = "The move cannot be dated before the current stage began."
        raise ApplicationError(message, errors={"at": [message]})

    closed_at = at if to_stage in deal_stages.CLOSED else None
    probability = stage_probability(to_stage)
    lost_reason = note if to_stage == DealStage.LOST else ""
    with transaction.atomic():
        # Compare-and-set on the stage and when it began, as the caller read them: a deal moved
        # away and back meanwhile has the same stage but not the same start.
        changed = Deal.objects.filter(
            pk=deal.pk, stage=from_stage, stage_changed_at=deal.stage_changed_at
        ).update(
            stage=to_stage,
            stage_changed_at=at,
            last_activity_at=at,
            closed_at=closed_at,
            probability=probability,
            lost_reason=lost_reason,
            is_stalled=False,
            updated_at=timezone.now(),
        )
        if changed != 1:
            raise ConflictError(
                "The deal was moved by someone else; reload and try again.",
                errors={"to_stage": ["The stage changed meanwhile."]},
            )
        deal.stage, deal.stage_changed_at, deal.last_activity_at = to_stage, at, at
        deal.closed_at, deal.probability, deal.lost_reason = closed_at, probability, lost_reason
        deal.is_stalled = False
        change = DealStageChange.objects.create(
            deal=deal,
            from_stage=from_stage,
            to_stage=to_stage,
            amount=deal.amount,
            actor=actor,
            note=note,
            created_at=at,
        )
        audit_record(
            action=AuditAction.STATE_CHANGE,
            target=deal,
            actor=actor,
            changes={"stage": [from_stage, to_stage]},
        )
        # A stall ends with the move: the deal starts its new stage afresh.
        deal.stalls.filter(ended_at__isnull=True).update(ended_at=at)
        summary = f"Deal {deal.name}: {from_stage} → {to_stage}"
        if note:
            summary = f"{summary} ({note})"
        _record_touchpoint(deal, summary=summary, actor=actor, at=at)
        if to_stage == DealStage.WON:
            _record_order(deal, actor=actor, at=at)
    return change


def _customer_kwargs(deal: Deal) -> dict[str, Any]:
    return {"contact": deal.contact, "account": deal.account}


def _record_touchpoint(deal: Deal, *, summary: str, actor, at: datetime) -> None:
    if deal.contact_id is None and deal.account_id is None:
        return  # not yet tied to a customer: nothing to put on a timeline
    accounts_services.touchpoint_record(
        kind=TouchpointKind.DEAL_UPDATE,
        channel=TouchpointChannel.SALES_REP,
        occurred_at=at,
        summary=summary,
        actor=actor,
        source=deal,
        campaign=deal.campaign,
        **_customer_kwargs(deal),
    )


def _record_order(deal: Deal, *, actor, at: datetime) -> None:
    """The order on the timeline, and the customer becomes a customer."""
    accounts_services.touchpoint_record(
        kind=TouchpointKind.ORDER,
        channel=TouchpointChannel.SALES_REP,
        occurred_at=at,
        amount=deal.amount,
        currency=deal.currency,
        summary=f"Order: {deal.name}",
        actor=actor,
        source=deal,
        campaign=deal.campaign,
        **_customer_kwargs(deal),
    )
    cause = f"Deal won: {deal.name}"[:500]
    if deal.contact is not None:
        accounts_services.journey_advance(
            contact=deal.contact, to_stage="customer", actor=actor, cause=cause, at=at
        )
    if deal.account is not None:
        accounts_services.account_become_customer(account=deal.account, at=at, actor=actor)


def deal_touch(*, deal: Deal, at: datetime | None = None) -> None:
    """Record that something happened on the deal (an activity, a quote): it is not idle."""
    at = at or timezone.now()
    Deal.objects.filter(pk=deal.pk, last_activity_at__lt=at).update(last_activity_at=at)
