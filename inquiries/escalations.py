"""Escalations of an inquiry, and the routing and SLA settings supervisors keep.

Three kinds, each with an owner (who must act), a due time, its own status and history:

- ``transfer``: to a specialist department (a Team of kind ``specialist``). The owner is that
  team's supervisor and the inquiry moves to the team's queue. The assignee is *kept*: the agent
  who escalated stays the customer's contact and keeps seeing the inquiry (it is assigned to
  them) until a specialist takes it over by reassigning it; the answer goes back to them.
- ``instructions``: a request for a supervisor's instructions. The owner is the supervisor of the
  inquiry's team, or an explicitly named supervisor (someone who supervises a team) or manager
  (``inquiries.answer_escalation``).
- ``approval``: an approval request (a refund, an exception), approved or rejected with a
  comment (a rejection needs one) by the owner, chosen as for instructions.

Status: open → answered (transfer, instructions) | approved | rejected (approval) | cancelled
(by the requester). Every change is an ``EscalationChange`` row written with a compare-and-set
on the status. While any escalation of an inquiry is open, the inquiry is ``escalated``; closing
the last open one moves it back to ``open``. Opening one notifies the owner, closing it notifies
the requester (or, on a cancellation, the owner): an inbox row and an email after commit.

An open escalation can be escalated further by whoever may answer it (its owner, the supervisor
of its team, an admin): the new one is one level up (``parent.level + 1``), e.g. a supervisor
asking their own manager or another department. The parent stays open until it is answered.

Due times run around the clock from the moment of escalation: ``DUE_MINUTES`` per kind, which
``settings.FRONTOFFICE_ESCALATION_DUE_MINUTES`` (a dict kind → minutes) may override, unless the
caller gives ``due_at``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import Team
from accounts.notifications import notification_send
from frontoffice.audit.models import AuditAction
from frontoffice.audit.services import audit_record
from frontoffice.errors import ApplicationError, ConflictError, PermissionDeniedError
from inquiries import services
from inquiries.models import (
    AssignmentRule,
    Escalation,
    EscalationChange,
    EscalationKind,
    EscalationStatus,
    Inquiry,
    InquiryStatus,
    SlaPolicy,
)
from inquiries.statuses import ACTIVE

User = get_user_model()

DUE_MINUTES: dict[str, int] = {
    EscalationKind.TRANSFER: 8 * 60,
    EscalationKind.INSTRUCTIONS: 2 * 60,
    EscalationKind.APPROVAL: 4 * 60,
}
TEXT_MAX_LENGTH = 5000
# One year: business-hours due times stay computable (sla.add_working_minutes looks ten years on).
MAX_TARGET_MINUTES = 365 * 24 * 60
# The closing move each action makes, and the kinds it applies to.
CLOSING_MOVES: dict[str, frozenset[str]] = {
    EscalationStatus.ANSWERED: frozenset({EscalationKind.TRANSFER, EscalationKind.INSTRUCTIONS}),
    EscalationStatus.APPROVED: frozenset({EscalationKind.APPROVAL}),
    EscalationStatus.REJECTED: frozenset({EscalationKind.APPROVAL}),
    EscalationStatus.CANCELLED: frozenset(EscalationKind.values),
}


def _error(field: str, message: str, error=ApplicationError) -> ApplicationError:
    return error(message, errors={field: [message]})


def due_minutes(kind: str) -> int:
    overrides = getattr(settings, "FRONTOFFICE_ESCALATION_DUE_MINUTES", None) or {}
    return int(overrides.get(kind, DUE_MINUTES[kind]))


def is_escalation_admin(user) -> bool:
    return bool(user.is_superuser or user.has_perm("inquiries.view_all_inquiries"))


def may_answer(user, escalation: Escalation) -> bool:
    """The owner, the supervisor of the escalation's team (the department it was transferred
    to, else the inquiry's team) and admins may answer, approve, reject or escalate further."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if is_escalation_admin(user) or escalation.owner_id == user.pk:
        return True
    team = escalation.to_team if escalation.to_team_id else escalation.inquiry.team
    return team is not None and team.supervisor_id == user.pk


def _may_own(user) -> bool:
    """Someone instructions and approvals can be addressed to: a supervisor or a manager."""
    if not user.is_active:
        return False
    return (
        user.has_perm("inquiries.answer_escalation")
        or Team.objects.filter(supervisor=user).exists()
    )


def _clean_text(value: str, field: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _error(field, "This field is required.")
    if len(value) > TEXT_MAX_LENGTH:
        raise _error(field, f"At most {TEXT_MAX_LENGTH} characters.")
    return value


def _owner_for(*, inquiry: Inquiry, kind: str, to_team, owner, actor, parent) -> Any:
    if kind == EscalationKind.TRANSFER:
        if to_team is None:
            raise _error("to_team", "A transfer needs the specialist department (to_team).")
        if to_team.kind != Team.Kind.SPECIALIST:
            raise _error("to_team", f"{to_team} is not a specialist department.")
        if to_team.supervisor is None or not to_team.supervisor.is_active:
            raise _error("to_team", f"{to_team} has no active supervisor to take it.")
        if owner is not None and owner.pk != to_team.supervisor_id:
            raise _error("owner", "A transfer goes to the department's supervisor.")
        if to_team.pk == inquiry.team_id and parent is None:
            raise _error("to_team", "The inquiry is already in this department's queue.")
        return to_team.supervisor
    if to_team is not None:
        raise _error("to_team", "Only a transfer goes to another team.")
    if owner is None:
        supervisor = inquiry.team.supervisor if inquiry.team_id else None
        already_theirs = (
            parent is not None and supervisor is not None and (supervisor.pk == parent.owner_id)
        )
        if supervisor is None or already_theirs or not supervisor.is_active:
            raise _error("owner", "Name the supervisor or manager to escalate to.")
        owner = supervisor
    elif not _may_own(owner):
        raise _error("owner", f"{owner} is not a supervisor or manager.")
    if actor is not None and owner.pk == actor.pk:
        raise _error("owner", "You cannot escalate to yourself.")
    return owner


def _lock_inquiry(inquiry: Inquiry) -> Inquiry:
    """Escalations of one inquiry are opened and closed one at a time (the inquiry row is
    locked), so "is another one still open?" cannot race."""
    locked = Inquiry.objects.select_for_update().get(pk=inquiry.pk)
    inquiry.status, inquiry.team_id, inquiry.assignee_id = (
        locked.status,
        locked.team_id,
        locked.assignee_id,
    )
    return inquiry


def escalation_open(
    *,
    inquiry: Inquiry,
    kind: str,
    reason: str,
    actor=None,
    to_team=None,
    owner=None,
    due_at: datetime | None = None,
    parent: Escalation | None = None,
    notify: bool = True,
    at: datetime | None = None,
) -> Escalation:
    """``escalate`` without the requester's rights check (the SLA watch uses it with no actor
    and its own notification: ``notify=False``)."""
    if kind not in EscalationKind.values:
        raise _error("kind", f"{kind!r} is not one of {', '.join(EscalationKind.values)}.")
    reason = _clean_text(reason, "reason", required=True)
    at = at or timezone.now()
    if due_at is not None and due_at <= at:
        raise _error("due_at", "The due time must be in the future.")
    with transaction.atomic():
        _lock_inquiry(inquiry)
        if inquiry.status not in ACTIVE:
            raise _error("inquiry", f"A {inquiry.status} inquiry cannot be escalated.")
        if parent is not None:
            if parent.inquiry_id != inquiry.pk:
                raise _error("parent", "The escalation belongs to another inquiry.")
            if parent.status != EscalationStatus.OPEN:
                raise _error("parent", f"The escalation is {parent.status}, not open.")
        owner = _owner_for(
            inquiry=inquiry, kind=kind, to_team=to_team, owner=owner, actor=actor, parent=parent
        )
        escalation = Escalation(
            inquiry=inquiry,
            kind=kind,
            level=parent.level + 1 if parent is not None else 1,
            parent=parent,
            requested_by=actor,
            owner=owner,
            to_team=to_team,
            reason=reason,
            due_at=due_at or at + timedelta(minutes=due_minutes(kind)),
            created_at=at,
        )
        escalation.save()
        EscalationChange.objects.create(
            escalation=escalation,
            from_status="",
            to_status=EscalationStatus.OPEN,
            actor=actor,
            note=reason,
            created_at=at,
        )
        # On the inquiry's own history: its escalations are part of what happened to it.
        audit_record(
            action=AuditAction.ESCALATE,
            target=inquiry,
            actor=actor,
            changes={
                "escalation": [None, escalation.pk],
                "kind": [None, kind],
                "owner": [None, owner.pk],
                **({"to_team": [None, to_team.pk]} if to_team is not None else {}),
            },
        )
        if kind == EscalationKind.TRANSFER:
            services.inquiry_assign(
                inquiry=inquiry,
                assignee=inquiry.assignee,
                team=to_team,
                actor=actor,
                note=f"transferred to {to_team} (escalation #{escalation.pk})",
            )
        if inquiry.status != InquiryStatus.ESCALATED:
            services.inquiry_move(
                inquiry=inquiry,
                to_status=InquiryStatus.ESCALATED,
                actor=actor,
                system=True,
                note=f"escalation #{escalation.pk} ({kind}) to {owner}",
                at=at,
            )
        if notify:
            notification_send(
                recipient=owner,
                kind="escalation",
                key=f"escalation:{escalation.pk}:open",
                subject=(
                    f"[#{inquiry.pk}] {escalation.get_kind_display()} "
                    f"due {timezone.localtime(escalation.due_at):%Y-%m-%d %H:%M}: "
                    f"{inquiry.subject}"
                ),
                body=f"{actor or 'The system'} escalated inquiry #{inquiry.pk}:\n\n{reason}",
                source=escalation,
            )
    return escalation


def escalate(
    *,
    inquiry: Inquiry,
    kind: str,
    reason: str,
    actor,
    to_team=None,
    owner=None,
    due_at: datetime | None = None,
    parent: Escalation | None = None,
) -> Escalation:
    """Escalate the inquiry (or, with `parent`, an open escalation of it one level up) and
    notify the owner. The caller checks that `actor` may work the inquiry; escalating an
    escalation further is for those who may answer it (403 otherwise)."""
    if parent is not None and not may_answer(actor, parent):
        raise _error(
            "parent",
            "Only who may answer an escalation escalates it further.",
            PermissionDeniedError,
        )
    return escalation_open(
        inquiry=inquiry,
        kind=kind,
        reason=reason,
        actor=actor,
        to_team=to_team,
        owner=owner,
        due_at=due_at,
        parent=parent,
    )


def _close(*, escalation: Escalation, to_status: str, actor, text: str) -> EscalationChange:
    if escalation.kind not in CLOSING_MOVES[to_status]:
        verb = {"answered": "answered", "approved": "approved", "rejected": "rejected"}
        raise _error(
            "kind",
            f"A {escalation.kind} escalation cannot be {verb.get(to_status, to_status)}.",
        )
    at = timezone.now()
    inquiry = escalation.inquiry
    with transaction.atomic():
        _lock_inquiry(inquiry)
        changed = Escalation.objects.filter(pk=escalation.pk, status=EscalationStatus.OPEN).update(
            status=to_status, answer=text, closed_at=at
        )
        if changed != 1:
            current = Escalation.objects.filter(pk=escalation.pk).values_list("status", flat=True)
            raise ConflictError(
                f"The escalation is already {current.first()}.",
                errors={"status": ["The escalation was closed meanwhile."]},
            )
        escalation.status, escalation.answer, escalation.closed_at = to_status, text, at
        audit_record(
            action=AuditAction.STATE_CHANGE,
            target=escalation,
            actor=actor,
            changes={"status": [EscalationStatus.OPEN, to_status]},
        )
        change = EscalationChange.objects.create(
            escalation=escalation,
            from_status=EscalationStatus.OPEN,
            to_status=to_status,
            actor=actor,
            note=text,
            created_at=at,
        )
        still_open = Escalation.objects.filter(
            inquiry=inquiry, status=EscalationStatus.OPEN
        ).exists()
        if not still_open and inquiry.status == InquiryStatus.ESCALATED:
            services.inquiry_move(
                inquiry=inquiry,
                to_status=InquiryStatus.OPEN,
                actor=actor,
                system=True,
                note=f"escalation #{escalation.pk} {to_status}",
                at=at,
            )
        if to_status == EscalationStatus.CANCELLED:
            recipient, kind = escalation.owner, "escalation_cancelled"
        else:
            recipient, kind = escalation.requested_by, "escalation_answered"
        if recipient is not None and (actor is None or recipient.pk != actor.pk):
            notification_send(
                recipient=recipient,
                kind=kind,
                key=f"escalation:{escalation.pk}:{to_status}",
                subject=f"[#{inquiry.pk}] Your escalation was {to_status}: {inquiry.subject}",
                body=text or f"Escalation #{escalation.pk} was {to_status} by {actor}.",
                source=escalation,
            )
    return change


def _check_answerer(escalation: Escalation, actor) -> None:
    if not may_answer(actor, escalation):
        raise _error(
            "owner",
            "Only the escalation's owner, their team's supervisor or an admin may answer it.",
            PermissionDeniedError,
        )


def escalation_answer(*, escalation: Escalation, actor, text: str) -> EscalationChange:
    """The owner's answer to a transfer or a request for instructions."""
    _check_answerer(escalation, actor)
    text = _clean_text(text, "text", required=True)
    return _close(
        escalation=escalation, to_status=EscalationStatus.ANSWERED, actor=actor, text=text
    )


def escalation_approve(*, escalation: Escalation, actor, comment: str = "") -> EscalationChange:
    """Approve an approval request (the comment is optional)."""
    _check_answerer(escalation, actor)
    comment = _clean_text(comment, "comment", required=False)
    return _close(
        escalation=escalation, to_status=EscalationStatus.APPROVED, actor=actor, text=comment
    )


def escalation_reject(*, escalation: Escalation, actor, comment: str) -> EscalationChange:
    """Reject an approval request; the requester needs to know why, so a comment is required."""
    _check_answerer(escalation, actor)
    comment = _clean_text(comment, "comment", required=True)
    return _close(
        escalation=escalation, to_status=EscalationStatus.REJECTED, actor=actor, text=comment
    )


def escalation_cancel(*, escalation: Escalation, actor, reason: str = "") -> EscalationChange:
    """Withdraw an escalation: the requester (or an admin) only."""
    if not (
        actor is not None and (escalation.requested_by_id == actor.pk or is_escalation_admin(actor))
    ):
        raise _error(
            "requested_by", "Only who asked (or an admin) may cancel it.", PermissionDeniedError
        )
    reason = _clean_text(reason, "reason", required=False)
    return _close(
        escalation=escalation, to_status=EscalationStatus.CANCELLED, actor=actor, text=reason
    )


# --- Routing and SLA settings -------------------------------------------------------------------


def _save_setting(instance: models.Model, *, constraint_message: dict[str, list[str]]):
    try:
        instance.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise ApplicationError("Invalid input.", errors=exc.message_dict) from exc
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise ConflictError("It clashes with another setting.", errors=constraint_message) from exc
    return instance


def sla_policy_validate(policy: SlaPolicy) -> None:
    """Field errors of a policy (ApplicationError), shared with the admin form."""
    errors: dict[str, list[str]] = {}
    days = policy.business_days
    if not isinstance(days, list) or not all(
        isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 7 for day in days
    ):
        errors["business_days"] = ["A list of ISO weekdays, 1 (Monday) to 7 (Sunday)."]
    elif len(set(days)) != len(days):
        errors["business_days"] = ["Each weekday once."]
    elif policy.business_hours_only and not days:
        errors["business_days"] = ["Business hours need at least one business day."]
    else:
        policy.business_days = sorted(days)
    for name in ("first_response_minutes", "resolution_minutes"):
        minutes = getattr(policy, name)
        if isinstance(minutes, int) and not 1 <= minutes <= MAX_TARGET_MINUTES:
            errors[name] = [f"Between 1 and {MAX_TARGET_MINUTES} minutes (a year)."]
    if policy.business_day_end <= policy.business_day_start:
        errors["business_day_end"] = ["The business day must end after it starts."]
    if policy.is_active:
        clash = SlaPolicy.objects.filter(
            priority=policy.priority, channel=policy.channel, is_active=True
        ).exclude(pk=policy.pk)
        if clash.exists():
            errors["priority"] = [
                "There is already an active policy for this priority and channel."
            ]
    if errors:
        raise ApplicationError("Invalid SLA policy.", errors=errors)


def sla_policy_create(**fields: Any) -> SlaPolicy:
    """A new SLA policy; it applies to inquiries opened (or re-prioritised) from now on."""
    policy = SlaPolicy(**fields)
    sla_policy_validate(policy)
    return _save_setting(
        policy,
        constraint_message={"priority": ["There is already an active policy for this one."]},
    )


def sla_policy_update(*, policy: SlaPolicy, **changes: Any) -> SlaPolicy:
    """Change a policy; due times already set on inquiries stay as they were."""
    for name, value in changes.items():
        setattr(policy, name, value)
    sla_policy_validate(policy)
    return _save_setting(
        policy,
        constraint_message={"priority": ["There is already an active policy for this one."]},
    )


def assignment_rule_validate(rule: AssignmentRule) -> None:
    if rule.team_id and rule.team.kind not in (Team.Kind.SUPPORT, Team.Kind.SPECIALIST):
        raise _error("team", "Inquiries go to support or specialist teams.")
    rule.category = (rule.category or "").strip()


def assignment_rule_create(**fields: Any) -> AssignmentRule:
    """A new assignment rule (tried by ascending position)."""
    rule = AssignmentRule(**fields)
    assignment_rule_validate(rule)
    return _save_setting(rule, constraint_message={})


def assignment_rule_update(*, rule: AssignmentRule, **changes: Any) -> AssignmentRule:
    for name, value in changes.items():
        setattr(rule, name, value)
    assignment_rule_validate(rule)
    return _save_setting(rule, constraint_message={})
