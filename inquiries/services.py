"""Writes on inquiries: open one from any channel, add messages, move the status, assign.

Every customer-visible message lands on the customer's timeline (a Touchpoint written through
``accounts.services``); every status change and assignment writes its history row in the same
transaction; status and assignment changes are compare-and-set (a 409 when someone else was first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import Contact, TouchpointChannel, TouchpointKind
from accounts.notifications import notification_send
from frontoffice import background
from frontoffice.audit.models import AuditAction
from frontoffice.audit.services import audit_record, created, diff, field_values, stored_values
from frontoffice.errors import ApplicationError, ConflictError
from frontoffice.validation import full_clean_or_400
from inquiries import routing, sla, statuses
from inquiries.models import (
    Inquiry,
    InquiryAssignment,
    InquiryChannel,
    InquiryPriority,
    InquiryStatus,
    InquiryStatusChange,
    Message,
    MessageDirection,
)

NOTE_MAX_LENGTH = 500
TIMELINE_CHANNEL = {
    InquiryChannel.PHONE: TouchpointChannel.PHONE,
    InquiryChannel.EMAIL: TouchpointChannel.EMAIL,
    InquiryChannel.CHAT: TouchpointChannel.CHAT,
    InquiryChannel.WEB_FORM: TouchpointChannel.WEB,
    InquiryChannel.SALES_REP: TouchpointChannel.SALES_REP,
    InquiryChannel.SOCIAL: TouchpointChannel.SOCIAL,
}
UPDATABLE_FIELDS = ("subject", "category", "priority", "deal", "team")
# What the audit log records of a new inquiry.
AUDIT_FIELDS = (
    "subject",
    "channel",
    "category",
    "priority",
    "status",
    "contact",
    "account",
    "team",
    "deal",
    "source_rep",
)
SLA_DUE_FIELDS = ("first_response_due_at", "resolution_due_at")


def _choice(value: str, choices: type[models.TextChoices], field: str) -> str:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        message = f"{value!r} is not one of {allowed}."
        raise ApplicationError(message, errors={field: [message]})
    return value


@dataclass(frozen=True)
class Customer:
    """Who the inquiry is from: an existing contact, or details to resolve one from."""

    contact: Contact | None = None
    email: str = ""
    phone: str = ""
    name: str = ""
    company: str = ""


def _resolve_customer(customer: Customer, *, cause: str) -> Contact:
    if customer.contact is not None:
        return customer.contact
    resolved = accounts_services.contact_resolve(
        email=customer.email,
        phone=customer.phone,
        name=customer.name,
        company=customer.company,
        cause=cause,
    )
    return resolved.contact


def inquiry_open(
    *,
    channel: str,
    subject: str,
    customer: Customer,
    body: str = "",
    category: str = "",
    priority: str = InquiryPriority.NORMAL,
    team=None,
    actor=None,
    source_rep=None,
    deal=None,
    inbound_channel=None,
    conversation_id: str = "",
    at: datetime | None = None,
    external_id: str = "",
    message_fields: dict[str, Any] | None = None,
) -> Inquiry:
    """Open an inquiry from any channel: resolve the customer (found or created), compute the SLA
    due times, route it to a team and agent, write the first status row and, when there is a
    body, the customer's first message (on their timeline; also at `inquiry.opening_message`).
    All or nothing."""
    _choice(channel, InquiryChannel, "channel")
    _choice(priority, InquiryPriority, "priority")
    subject = " ".join((subject or "").split())[:300] or "(no subject)"
    at = at or timezone.now()
    with transaction.atomic():
        contact = _resolve_customer(customer, cause=f"inquiry by {channel}")
        inquiry = Inquiry(
            contact=contact,
            account=contact.account,
            channel=channel,
            subject=subject,
            category=(category or "").strip()[:100],
            priority=priority,
            team=team,
            source_rep=source_rep,
            deal=deal,
            inbound_channel=inbound_channel,
            conversation_id=conversation_id,
            created_at=at,
            status_changed_at=at,
            last_message_at=at,
            external_id=external_id,
        )
        sla.apply_policy(inquiry)
        full_clean_or_400(inquiry, exclude=["contact", "account"])
        inquiry.save()
        InquiryStatusChange.objects.create(
            inquiry=inquiry, from_status="", to_status=InquiryStatus.NEW, actor=actor, created_at=at
        )
        audit_record(
            action=AuditAction.CREATE,
            target=inquiry,
            actor=actor,
            changes=created(field_values(inquiry, AUDIT_FIELDS)),
        )
        if team is None:
            rule, agent = routing.route(inquiry)
            if rule is not None:
                _assign(inquiry, assignee=agent, team=rule.team, actor=None, rule=rule, at=at)
        inquiry.opening_message = None
        if body or message_fields:
            inquiry.opening_message = message_add(
                inquiry=inquiry,
                direction=MessageDirection.INBOUND,
                body=body,
                subject=subject,
                author_contact=contact,
                at=at,
                **(message_fields or {}),
            )
        if source_rep is not None:
            notification_send(
                recipient=source_rep,
                kind="inquiry_logged",
                key=f"inquiry-logged:{inquiry.pk}",
                subject=f"Your customer's inquiry [#{inquiry.pk}] is in the support queue",
                body=f"{contact}: {subject}",
                source=inquiry,
            )
    return inquiry


def inquiry_update(*, inquiry: Inquiry, actor=None, **changes: Any) -> Inquiry:
    """Change subject, category, priority (due times follow), related deal or team."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", errors={name: ["Unknown field."] for name in sorted(unknown)}
        )
    if "priority" in changes:
        _choice(changes["priority"], InquiryPriority, "priority")
    audited = [*changes, *(SLA_DUE_FIELDS if "priority" in changes else ())]
    before = stored_values(Inquiry, inquiry.pk, audited)
    for field, value in changes.items():
        setattr(inquiry, field, value)
    written = set(changes)
    if "priority" in changes:
        sla.apply_policy(inquiry)
        written |= {"sla_policy", "first_response_due_at", "resolution_due_at"}
    full_clean_or_400(inquiry)
    if written:
        with transaction.atomic():
            # Only what changed: a full save from this read would put back an assignee or a
            # status that another request changed meanwhile.
            inquiry.save(update_fields=[*sorted(written), "updated_at"])
            audited_changes = diff(before, field_values(inquiry, audited))
            if audited_changes:
                audit_record(
                    action=AuditAction.UPDATE,
                    target=inquiry,
                    actor=actor,
                    changes=audited_changes,
                )
    return inquiry


def _timeline_touchpoint(message: Message) -> None:
    inquiry = message.inquiry
    summary = f"[#{inquiry.pk}] {inquiry.subject}: {message.body}".replace("\n", " ")
    kind = (
        TouchpointKind.CALL
        if message.channel == InquiryChannel.PHONE
        else TouchpointKind.INQUIRY_MESSAGE
    )
    message.touchpoint = accounts_services.touchpoint_record(
        kind=kind,
        channel=TIMELINE_CHANNEL[message.channel],
        contact=inquiry.contact,
        occurred_at=message.created_at,
        summary=summary[:300],
        actor=message.author_user,
        source=message,
    )
    Message.objects.filter(pk=message.pk).update(touchpoint=message.touchpoint)


def message_add(
    *,
    inquiry: Inquiry,
    direction: str,
    body: str,
    channel: str = "",
    author_user=None,
    author_contact: Contact | None = None,
    subject: str = "",
    at: datetime | None = None,
    attachments: list[dict[str, Any]] | None = None,
    email_message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    is_auto_reply: bool = False,
    delivery: str = "",
) -> Message:
    """Add a message to the thread. Inbound and outbound ones go on the customer's timeline; an
    inbound message (not an automatic reply) reopens a pending or resolved inquiry; the first
    outbound one is the first response (and opens a new inquiry). Closed inquiries take no new
    messages."""
    _choice(direction, MessageDirection, "direction")
    channel = channel or inquiry.channel
    _choice(channel, InquiryChannel, "channel")
    if inquiry.status == InquiryStatus.CLOSED:
        message = "The inquiry is closed; open a new one."
        raise ApplicationError(message, errors={"inquiry": [message]})
    if direction != MessageDirection.INBOUND and author_user is None:
        message = "Replies and notes need their staff author."
        raise ApplicationError(message, errors={"author_user": [message]})
    if not (body or "").strip() and not attachments:
        message = "The message is empty."
        raise ApplicationError(message, errors={"body": [message]})
    at = at or timezone.now()
    message = Message(
        inquiry=inquiry,
        direction=direction,
        channel=channel,
        author_user=author_user,
        author_contact=author_contact if direction == MessageDirection.INBOUND else None,
        subject=(subject or "")[:300],
        body=body or "",
        created_at=at,
        attachments=attachments or [],
        email_message_id=email_message_id[:500],
        in_reply_to=in_reply_to[:500],
        references=references,
        is_auto_reply=is_auto_reply,
        delivery=delivery,
    )
    full_clean_or_400(message, exclude=["inquiry", "author_user", "author_contact"])
    # Everything that can refuse is checked above, so the writes below raise only database
    # errors: no savepoint needed (two round trips fewer per message).
    with transaction.atomic(savepoint=False):
        message.save()
        if direction != MessageDirection.NOTE:
            _timeline_touchpoint(message)
            # Only ever moves forward; an inquiry opened with this message already says `at`.
            if inquiry.last_message_at is None or inquiry.last_message_at < at:
                Inquiry.objects.filter(pk=inquiry.pk, last_message_at__lt=at).update(
                    last_message_at=at
                )
                inquiry.last_message_at = at
        # An out-of-office or a bounce is not the customer writing again.
        if direction == MessageDirection.INBOUND and not is_auto_reply:
            _reopen(inquiry, at=at)
        if direction == MessageDirection.OUTBOUND:
            if inquiry.first_responded_at is None:
                Inquiry.objects.filter(pk=inquiry.pk, first_responded_at__isnull=True).update(
                    first_responded_at=at
                )
                inquiry.first_responded_at = at
            if inquiry.status == InquiryStatus.NEW:
                _apply_move(
                    inquiry, to_status=InquiryStatus.OPEN, actor=author_user, note="", at=at
                )
    return message


def _reopen(inquiry: Inquiry, *, at: datetime) -> None:
    """A pending or resolved inquiry goes back to open; read again once if someone moved it
    meanwhile (the customer's message still reopens what is now pending or resolved)."""
    reopenable = (InquiryStatus.PENDING, InquiryStatus.RESOLVED)
    for attempt in range(2):
        if attempt:
            inquiry.refresh_from_db(fields=["status", "status_changed_at", "resolved_at"])
        if inquiry.status not in reopenable:
            return
        note = "the customer wrote again"
        if _apply_move(inquiry, to_status=InquiryStatus.OPEN, actor=None, note=note, at=at):
            return


def inquiry_move(
    *,
    inquiry: Inquiry,
    to_status: str,
    actor=None,
    note: str = "",
    system: bool = False,
    at: datetime | None = None,
) -> InquiryStatusChange:
    """Change the status (compare-and-set on the status the caller saw) and write the history
    row. `system=True` is for moves the product makes (escalations, a customer writing again)."""
    note = (note or "").strip()
    from_status = inquiry.status
    _choice(to_status, InquiryStatus, "to_status")
    if from_status == to_status:
        message = f"The inquiry is already {to_status}."
        raise ApplicationError(message, errors={"to_status": [message]})
    if not statuses.can_move(from_status, to_status, has_reason=bool(note), system=system):
        if statuses.needs_reason(from_status, to_status):
            message = f"Moving from {from_status} to {to_status} needs a reason."
            raise ApplicationError(message, errors={"note": [message]})
        message = f"An inquiry cannot move from {from_status} to {to_status} here."
        raise ApplicationError(message, errors={"to_status": [message]})
    if len(note) > NOTE_MAX_LENGTH:
        message = f"At most {NOTE_MAX_LENGTH} characters."
        raise ApplicationError("The note is too long.", errors={"note": [message]})
    with transaction.atomic():
        change = _apply_move(
            inquiry, to_status=to_status, actor=actor, note=note, at=at or timezone.now()
        )
    if change is None:
        raise ConflictError(
            "The inquiry was changed by someone else; reload and try again.",
            errors={"to_status": ["The status changed meanwhile."]},
        )
    return change


def _apply_move(
    inquiry: Inquiry, *, to_status: str, actor, note: str, at: datetime
) -> InquiryStatusChange | None:
    """The compare-and-set from the status the caller saw, and its history row; None (nothing
    written) when the status changed meanwhile. Runs inside the caller's transaction."""
    from_status = inquiry.status
    fields: dict[str, Any] = {"status": to_status, "status_changed_at": at}
    if to_status == InquiryStatus.RESOLVED:
        fields["resolved_at"] = at
    elif to_status == InquiryStatus.CLOSED:
        fields["closed_at"] = at
    elif from_status == InquiryStatus.RESOLVED:
        fields["resolved_at"] = None  # reopened: the resolution time starts over
    changed = Inquiry.objects.filter(pk=inquiry.pk, status=from_status).update(
        **fields, updated_at=timezone.now()
    )
    if changed != 1:
        return None
    for name, value in fields.items():
        setattr(inquiry, name, value)
    audit_record(
        action=AuditAction.STATE_CHANGE,
        target=inquiry,
        actor=actor,
        changes={"status": [from_status, to_status]},
    )
    return InquiryStatusChange.objects.create(
        inquiry=inquiry,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        note=note,
        created_at=at,
    )


_UNSET: Any = object()


def _assign(
    inquiry: Inquiry, *, assignee, team, actor, expected_id=None, rule=None, note="", at=None
):
    """Compare-and-set the assignee (from `expected_id`) and write the assignment row."""
    changed = Inquiry.objects.filter(pk=inquiry.pk, assignee_id=expected_id).update(
        assignee=assignee, team=team, updated_at=timezone.now()
    )
    if changed != 1:
        raise ConflictError(
            "The inquiry was assigned by someone else; reload and try again.",
            errors={"assignee": ["The assignee changed meanwhile."]},
        )
    changes = {"assignee": [expected_id, assignee.pk if assignee is not None else None]}
    team_id = team.pk if team is not None else None
    if team_id != inquiry.team_id:
        changes["team"] = [inquiry.team_id, team_id]
    audit_record(
        action=AuditAction.ASSIGN,
        target=inquiry,
        actor=actor,
        # A routing rule acts for nobody in particular: say which one.
        actor_label=f"routing rule: {rule.name}" if rule is not None and actor is None else None,
        changes=changes,
    )
    inquiry.assignee, inquiry.team = assignee, team
    return InquiryAssignment.objects.create(
        inquiry=inquiry,
        from_assignee_id=expected_id,
        to_assignee=assignee,
        team=team,
        actor=actor,
        rule=rule,
        note=note,
        created_at=at or timezone.now(),
    )


def inquiry_assign(
    *,
    inquiry: Inquiry,
    assignee,
    actor=None,
    team=_UNSET,
    expected_assignee=_UNSET,
    note: str = "",
) -> InquiryAssignment:
    """Assign (or unassign with None) the inquiry, optionally moving it to another team queue.

    `expected_assignee` makes it a compare-and-set: taking an unassigned inquiry passes None, so
    when two agents take it at once one wins and the other gets a ConflictError.
    """
    team = inquiry.team if team is _UNSET else team
    if assignee is not None and not assignee.is_active:
        message = "This user is inactive."
        raise ApplicationError(message, errors={"assignee": [message]})
    if inquiry.status == InquiryStatus.CLOSED:
        message = "A closed inquiry cannot be reassigned."
        raise ApplicationError(message, errors={"assignee": [message]})
    expected = (
        inquiry.assignee_id
        if expected_assignee is _UNSET
        else getattr(expected_assignee, "pk", expected_assignee)
    )
    with transaction.atomic():
        return _assign(
            inquiry,
            assignee=assignee,
            team=team,
            actor=actor,
            expected_id=expected,
            note=(note or "").strip()[:500],
        )


def inquiry_reply(
    *,
    inquiry: Inquiry,
    body: str,
    author,
    attachments: list[dict[str, Any]] | None = None,
    at: datetime | None = None,
) -> Message:
    """An agent's answer to the customer, by the inquiry's channel. Email replies are queued and
    sent after commit by a task (threaded on the customer's last message)."""
    from inquiries import tasks

    is_email = inquiry.channel == InquiryChannel.EMAIL
    with transaction.atomic():
        message = message_add(
            inquiry=inquiry,
            direction=MessageDirection.OUTBOUND,
            body=body,
            author_user=author,
            attachments=attachments,
            at=at,
            delivery=Message.Delivery.QUEUED if is_email else "",
        )
        if is_email:
            background.schedule(tasks.send_email_reply, [message.pk])
    return message
