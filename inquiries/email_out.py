"""Outgoing email: an agent's reply sent through Django's email backend, threaded on the
customer's mail (Message-ID stored, In-Reply-To, References, the `[#id]` token in the subject)
and marked with our X-Loop header so it is recognised if it ever comes back.

Sending is at most once: the delivery is claimed (queued/failed -> sent, compare-and-set) before
the SMTP conversation and set to failed when it fails. A worker killed between the claim and the
send leaves a reply marked sent that was not: a human sees it; sending it twice would be worse.
The Message-ID is chosen on the first attempt and reused by retries, so a retry of a mail that
did leave is recognised by the customer's mail program as the same mail.
"""

from __future__ import annotations

import re
import smtplib
from email.utils import make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q

from inquiries.email_in import SYNTHETIC_ID_DOMAIN, support_address
from inquiries.models import Inquiry, Message, MessageDirection

REFERENCES_KEPT = 20
REPLY_PREFIX_RE = re.compile(r"^\s*((re|aw|sv|fw|fwd)\s*(\[\d+\])?\s*[:\uff1a]\s*)+", re.IGNORECASE)


class TransientEmailError(Exception):
    """The mail server could not be reached or asked us to try later: worth a retry."""


# Failures a later attempt can get past; anything else (a refused recipient, bad credentials) is
# marked failed and not retried.
TRANSIENT_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,
)


def reply_subject(inquiry: Inquiry) -> str:
    """`Re: <subject> [#<id>]`, with one `Re:` and one token however often it was answered."""
    token = f"[#{inquiry.pk}]"
    base = REPLY_PREFIX_RE.sub("", inquiry.subject.replace(token, ""))
    return f"Re: {' '.join(base.split())} {token}"


def _is_transient(exc: Exception) -> bool:
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # 4xx for every recipient: try later
        codes = [code for code, _text in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and 400 <= code < 500


def _threading_headers(message: Message) -> dict[str, str]:
    earlier = list(
        Message.objects.filter(inquiry_id=message.inquiry_id)
        .exclude(pk=message.pk)
        .exclude(email_message_id="")
        .exclude(email_message_id__endswith=f"@{SYNTHETIC_ID_DOMAIN}>")
        .filter(Q(created_at__lt=message.created_at) | Q(pk__lt=message.pk))
        .order_by("created_at", "id")
        .values_list("email_message_id", "direction", "references")
    )
    inbound = [row for row in earlier if row[1] == MessageDirection.INBOUND]
    if not inbound:
        return {}
    parent_id, _direction, parent_references = inbound[-1]
    # Ancestors only the customer's mail knows (older than our thread) first, then ours in order.
    ours = [row[0] for row in earlier]
    chain: list[str] = []
    for message_id in [*(r for r in parent_references.split() if r not in ours), *ours]:
        if message_id not in chain and message_id != parent_id:
            chain.append(message_id)
    chain.append(parent_id)
    if len(chain) > REFERENCES_KEPT:  # keep the thread's root and the newest ones
        chain = [chain[0], *chain[-(REFERENCES_KEPT - 1) :]]
    return {"In-Reply-To": parent_id, "References": " ".join(chain)}


def _mark(message: Message, delivery: str) -> None:
    Message.objects.filter(pk=message.pk).update(delivery=delivery)
    message.delivery = delivery


def send_reply_email(*, message_id: int) -> str:
    """Send an agent's outbound message to the contact by email, once. Returns `sent`,
    `already sent`, `not an email reply` or `failed: <why>`; raises TransientEmailError (after
    marking the delivery failed) when a retry may succeed."""
    message = (
        Message.objects.select_related("inquiry__contact")
        .filter(pk=message_id, direction=MessageDirection.OUTBOUND)
        .first()
    )
    if message is None or not message.delivery:
        return "not an email reply"
    ours = support_address()
    domain = ours.rsplit("@", 1)[-1] or None
    email_message_id = message.email_message_id or make_msgid(domain=domain)
    claimed = Message.objects.filter(
        pk=message.pk, delivery__in=[Message.Delivery.QUEUED, Message.Delivery.FAILED]
    ).update(delivery=Message.Delivery.SENT, email_message_id=email_message_id)
    if claimed != 1:
        return "already sent"
    message.email_message_id = email_message_id
    inquiry = message.inquiry
    recipient = parseaddr(inquiry.contact.email)[1]
    if not recipient:
        _mark(message, Message.Delivery.FAILED)
        return "failed: the contact has no email address"
    mail = EmailMessage(
        subject=reply_subject(inquiry),
        body=message.body,
        from_email=settings.FRONTOFFICE_SUPPORT_EMAIL,
        to=[recipient],
        headers={
            "Message-ID": email_message_id,
            "X-Loop": ours,
            **_threading_headers(message),
        },
    )
    try:
        mail.send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        _mark(message, Message.Delivery.FAILED)
        if _is_transient(exc):
            raise TransientEmailError(f"{type(exc).__name__}: {exc}") from exc
        return f"failed: {type(exc).__name__}: {exc}"
    return "sent"
