"""Intake by the channels other than email, and the agents' everyday writes on an inquiry.

- Chat: a widget or provider posts each message with its conversation id; one conversation is one
  inquiry (unique per inbound channel), so the first message opens it and later ones thread on.
- Web form: a public form keyed by an inbound channel opens an inquiry.
- Phone: an agent logs a call (a phone message plus its call details, on the timeline as a call).
- Via sales rep / logged by an agent: an inquiry someone gave us outside the channels we read.
- Replies (optionally from a saved reply), internal notes, taking an unassigned inquiry.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from accounts.models import Team
from frontoffice.errors import ApplicationError, ConflictError
from inquiries import services
from inquiries.models import (
    InboundChannel,
    Inquiry,
    InquiryAssignment,
    InquiryChannel,
    InquiryPriority,
    InquiryStatus,
    Message,
    MessageDirection,
    PhoneCall,
    SavedReply,
)
from inquiries.models.channels import new_channel_key

SUBJECT_WORDS = 12


class ChannelKeyError(ApplicationError):
    status_code = 403


def _subject_from(text: str) -> str:
    words = " ".join((text or "").split()).split(" ")
    subject = " ".join(words[:SUBJECT_WORDS])
    return subject[:300] + ("…" if len(words) > SUBJECT_WORDS else "")


def _require(value: str, field: str, message: str = "This field may not be blank.") -> str:
    value = (value or "").strip()
    if not value:
        raise ApplicationError(message, errors={field: [message]})
    return value


# --- Inbound channel keys -----------------------------------------------------------------------


def inbound_channel_for_key(*, key: str, kind: str) -> InboundChannel:
    """The active inbound channel of `kind` with this key (compared in constant time), or a
    ChannelKeyError (403)."""
    key = (key or "").strip()
    channel = (
        InboundChannel.objects.select_related("team").filter(key=key, is_active=True).first()
        if key
        else None
    )
    if channel is None or not hmac.compare_digest(channel.key, key):
        raise ChannelKeyError("Unknown or inactive channel key.")
    if channel.kind != kind:
        raise ChannelKeyError(f"This key is not for a {kind.replace('_', ' ')} channel.")
    return channel


def inbound_channel_rotate_key(*, inbound_channel: InboundChannel) -> InboundChannel:
    """Give the channel a new key; the old one stops working at once."""
    inbound_channel.key = new_channel_key()
    inbound_channel.save(update_fields=["key"])
    return inbound_channel


# --- Chat ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChatReceived:
    inquiry: Inquiry
    message: Message
    opened: bool


def chat_message_receive(
    *,
    inbound_channel: InboundChannel,
    conversation_id: str,
    message: str,
    customer: services.Customer,
    sent_at: datetime | None = None,
) -> ChatReceived:
    """One chat message. The conversation's first message opens its inquiry (in the channel's
    team, or routed); later ones are added to it as the customer's messages. When two first
    messages arrive at once, the unique (channel, conversation) lets one open the inquiry and the
    other thread onto it."""
    conversation_id = _require(conversation_id, "conversation_id")
    body = _require(message, "message")
    existing = _conversation_inquiry(inbound_channel, conversation_id)
    if existing is None:
        if not (customer.contact or customer.email or customer.phone or customer.name):
            # A conversation whose inquiry was closed: the same person writes again.
            earlier = _conversation_inquiry(inbound_channel, conversation_id, closed=True)
            if earlier is not None:
                customer = services.Customer(contact=earlier.contact)
        try:
            with transaction.atomic():
                inquiry = services.inquiry_open(
                    channel=InquiryChannel.CHAT,
                    subject=_subject_from(body),
                    customer=customer,
                    body=body,
                    category=inbound_channel.category,
                    team=inbound_channel.team,
                    inbound_channel=inbound_channel,
                    conversation_id=conversation_id,
                    at=sent_at,
                )
        except IntegrityError:
            # Another first message of this conversation opened it a moment ago: thread on it.
            existing = _conversation_inquiry(inbound_channel, conversation_id)
            if existing is None:
                raise
        else:
            return ChatReceived(inquiry=inquiry, message=inquiry.opening_message, opened=True)
    added = _chat_follow_up(existing, body=body, at=sent_at)
    return ChatReceived(inquiry=existing, message=added, opened=False)


def _conversation_inquiry(
    inbound_channel: InboundChannel, conversation_id: str, *, closed: bool = False
):
    """The conversation's open inquiry (or, with `closed`, its latest closed one)."""
    conversation = Inquiry.objects.select_related("contact").filter(
        inbound_channel=inbound_channel, conversation_id=conversation_id
    )
    if closed:
        return conversation.filter(status=InquiryStatus.CLOSED).order_by("-created_at").first()
    return conversation.exclude(status=InquiryStatus.CLOSED).first()


def _chat_follow_up(inquiry: Inquiry, *, body: str, at: datetime | None) -> Message:
    if inquiry.status == InquiryStatus.CLOSED:
        text = "This conversation's inquiry is closed; start a new conversation."
        raise ConflictError(text, errors={"conversation_id": [text]})
    return services.message_add(
        inquiry=inquiry,
        direction=MessageDirection.INBOUND,
        body=body,
        channel=InquiryChannel.CHAT,
        author_contact=inquiry.contact,
        at=at,
    )


# --- Web form -----------------------------------------------------------------------------------


def web_form_submit(
    *,
    inbound_channel: InboundChannel,
    message: str,
    subject: str = "",
    name: str = "",
    email: str = "",
    phone: str = "",
    company: str = "",
    category: str = "",
) -> Inquiry:
    """A public web form's submission opens an inquiry (customer found or created by email, then
    phone). Needs an email or a phone (to answer) and a message."""
    if not (email or "").strip() and not (phone or "").strip():
        text = "Give an email address or a phone number."
        raise ApplicationError(text, errors={"email": [text], "phone": [text]})
    body = _require(message, "message")
    return services.inquiry_open(
        channel=InquiryChannel.WEB_FORM,
        subject=(subject or "").strip() or _subject_from(body),
        customer=services.Customer(email=email, phone=phone, name=name, company=company),
        body=body,
        category=(category or "").strip() or inbound_channel.category,
        team=inbound_channel.team,
        inbound_channel=inbound_channel,
    )


# --- Phone --------------------------------------------------------------------------------------


def phone_call_log(
    *,
    inquiry: Inquiry,
    actor,
    direction: str,
    duration_seconds: int,
    outcome: str,
    notes: str = "",
    at: datetime | None = None,
) -> Message:
    """An agent logs a call about the inquiry: a phone message (incoming calls count as the
    customer's message, outgoing ones as our answer) with its call details, on the customer's
    timeline as a call."""
    call = PhoneCall(direction=direction, duration_seconds=duration_seconds, outcome=outcome)
    try:
        call.full_clean(exclude=["message"])
    except ValidationError as exc:
        raise ApplicationError("Invalid call.", errors=exc.message_dict) from exc
    notes = (notes or "").strip()
    body = notes or (
        f"{call.get_direction_display()} call, {duration_seconds} s, {call.get_outcome_display()}"
    )
    incoming = direction == PhoneCall.Direction.INBOUND
    with transaction.atomic():
        message = services.message_add(
            inquiry=inquiry,
            direction=MessageDirection.INBOUND if incoming else MessageDirection.OUTBOUND,
            body=body,
            channel=InquiryChannel.PHONE,
            author_user=actor,
            author_contact=inquiry.contact if incoming else None,
            at=at,
        )
        call.message = message
        call.save()
    return message


# --- Logged by an agent or a sales rep ----------------------------------------------------------


@dataclass(frozen=True)
class CallDetails:
    direction: str
    duration_seconds: int
    outcome: str


def inquiry_log(
    *,
    actor,
    channel: str,
    customer: services.Customer,
    subject: str,
    body: str = "",
    category: str = "",
    priority: str = InquiryPriority.NORMAL,
    team: Team | None = None,
    deal=None,
    call: CallDetails | None = None,
) -> Inquiry:
    """Someone on the staff records an inquiry a customer gave them.

    A sales rep (who does not answer inquiries) records it by channel `sales_rep`: it enters the
    support queue (routing rules) with the rep as its source, and the rep is notified and keeps
    seeing it. An agent logs one from any channel (a phone call with its details, a social media
    message); when routing gives it to nobody, the agent who took it down has it.
    """
    answers = actor.has_perm("inquiries.answer_inquiry")
    if not answers and channel != InquiryChannel.SALES_REP:
        text = "Sales reps record inquiries by the channel sales_rep."
        raise ApplicationError(text, errors={"channel": [text]})
    if call is not None and channel != InquiryChannel.PHONE:
        text = "Call details go with the channel phone."
        raise ApplicationError(text, errors={"call": [text]})
    body = (body or "").strip()
    if not body and call is None:
        text = "Say what the customer asked."
        raise ApplicationError(text, errors={"body": [text]})
    with transaction.atomic():
        inquiry = services.inquiry_open(
            channel=channel,
            subject=(subject or "").strip() or _subject_from(body),
            customer=customer,
            body="" if call is not None else body,
            message_fields=None if call is not None else {"author_user": actor},
            category=category,
            priority=priority,
            team=team,
            deal=deal,
            actor=actor,
            source_rep=actor if channel == InquiryChannel.SALES_REP else None,
        )
        if call is not None:
            phone_call_log(
                inquiry=inquiry,
                actor=actor,
                direction=call.direction,
                duration_seconds=call.duration_seconds,
                outcome=call.outcome,
                notes=body,
            )
        if answers and inquiry.assignee_id is None:
            services.inquiry_assign(
                inquiry=inquiry, assignee=actor, actor=actor, note="logged the inquiry"
            )
    return inquiry


# --- Agents' work on an inquiry -----------------------------------------------------------------


def agents():
    """Active users who may answer inquiries (by role, own permission or superuser)."""
    return (
        get_user_model()
        .objects.filter(
            Q(is_superuser=True)
            | Q(groups__permissions__codename="answer_inquiry")
            | Q(user_permissions__codename="answer_inquiry"),
            is_active=True,
        )
        .distinct()
    )


def saved_replies_usable_by(user, queryset=None):
    """Saved replies of the user's teams (member or supervisor) and the global ones."""
    queryset = SavedReply.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser or user.has_perm("inquiries.view_all_inquiries"):
        return queryset
    teams = Team.objects.filter(Q(members=user) | Q(supervisor=user)).values("pk")
    return queryset.filter(Q(team__isnull=True) | Q(team__in=teams))


def inquiry_reply_send(
    *,
    inquiry: Inquiry,
    author,
    body: str = "",
    saved_reply: SavedReply | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> Message:
    """Answer the customer; with a saved reply its text is the body (unless one is given) and
    its usage count goes up by one (in the database, so concurrent uses all count)."""
    if saved_reply is not None:
        if not saved_replies_usable_by(author).filter(pk=saved_reply.pk).exists():
            text = "This saved reply belongs to another team."
            raise ApplicationError(text, errors={"saved_reply": [text]})
        body = (body or "").strip() or saved_reply.body
    with transaction.atomic():
        message = services.inquiry_reply(
            inquiry=inquiry, body=body, author=author, attachments=attachments
        )
        if saved_reply is not None:
            SavedReply.objects.filter(pk=saved_reply.pk).update(usage_count=F("usage_count") + 1)
    return message


def inquiry_note_add(*, inquiry: Inquiry, author, body: str) -> Message:
    """An internal note for colleagues: on the thread, never on the customer's timeline."""
    return services.message_add(
        inquiry=inquiry, direction=MessageDirection.NOTE, body=body, author_user=author
    )


def inquiry_take(*, inquiry: Inquiry, actor) -> InquiryAssignment:
    """Assign an unassigned inquiry to oneself: compare-and-set on "nobody has it", so when
    several agents take it at once exactly one gets it and the others a ConflictError (409)."""
    if inquiry.assignee_id is not None:
        text = (
            "You already have this inquiry."
            if inquiry.assignee_id == actor.pk
            else "Someone else has this inquiry."
        )
        raise ConflictError(text, errors={"assignee": [text]})
    return services.inquiry_assign(
        inquiry=inquiry, assignee=actor, actor=actor, expected_assignee=None, note="taken"
    )


# --- Saved replies ------------------------------------------------------------------------------

SAVED_REPLY_FIELDS = ("team", "title", "body", "category")


def _saved_reply_clean(saved_reply: SavedReply) -> None:
    saved_reply.title = (saved_reply.title or "").strip()
    saved_reply.category = (saved_reply.category or "").strip()
    try:
        saved_reply.full_clean()
    except ValidationError as exc:
        raise ApplicationError("Invalid input.", errors=exc.message_dict) from exc


def saved_reply_create(
    *, title: str, body: str, team: Team | None = None, category: str = "", actor=None
) -> SavedReply:
    """A canned response for a team (or, without a team, for everyone)."""
    saved_reply = SavedReply(title=title, body=body, team=team, category=category, created_by=actor)
    _saved_reply_clean(saved_reply)
    saved_reply.save()
    return saved_reply


def saved_reply_update(*, saved_reply: SavedReply, **changes: Any) -> SavedReply:
    """Change title, body, category or team (never the usage count)."""
    unknown = set(changes) - set(SAVED_REPLY_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", errors={name: ["Unknown field."] for name in sorted(unknown)}
        )
    for field, value in changes.items():
        setattr(saved_reply, field, value)
    _saved_reply_clean(saved_reply)
    saved_reply.save(update_fields=[*changes, "updated_at"])
    return saved_reply
