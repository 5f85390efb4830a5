"""Inbound email: a raw RFC 822 message becomes a message on an inquiry (threaded or new), or
waits raw in the quarantine for a human. Never raises for a bad message, never loses one.

Threading, first match wins: a Message-ID we stored already (the same mail again: a duplicate);
`In-Reply-To`/`References` naming a message we stored (inbound or outbound); a `[#<id>]` token in
the subject of an inquiry whose contact is the sender (someone else's token opens a new inquiry,
so a stranger cannot write into another customer's thread). A thread that is closed starts a new
inquiry.

Automatic mail (out-of-office, bounces, lists, our own mail coming back) is stored like any
inbound message, flagged `is_auto_reply`, threaded when possible; it does not reopen a pending or
resolved inquiry (``inquiries.services.message_add`` skips the reopen for it), and it is never
answered (the product sends no automatic answers, and agents see the flag).

The message time is the time we received it, not the sender's `Date` header (senders' clocks
and forged dates would reorder threads and SLA clocks).
"""

from __future__ import annotations

import email
import email.errors
import email.policy
import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as accounts_services
from frontoffice.errors import ApplicationError, ConflictError
from inquiries import services
from inquiries.models import (
    Inquiry,
    InquiryChannel,
    InquiryStatus,
    Message,
    MessageDirection,
    QuarantinedEmail,
)

# Stands in for a missing Message-ID (a hash of the raw bytes), so the same mail read twice
# (an IMAP poll that crashed, a webhook retried) is still recognised.
SYNTHETIC_ID_DOMAIN = "no-message-id.invalid"
BODY_MAX_CHARS = 100_000
TOKEN_RE = re.compile(r"\[#(\d{1,12})\]")
MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")
AUTOMATIC_SENDERS = frozenset({"mailer-daemon", "postmaster"})
BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
# Charsets as mail programs label them -> the Python codec that decodes what they really send
# (Japanese mailers write Windows-31J characters such as ① under the name Shift_JIS).
CHARSET_CODECS = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "csiso2022jp": "iso2022_jp_ext",
    "iso-2022-jp-2": "iso2022_jp_2",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
}
# Why a message cannot be read: the parser's own defects that leave no usable structure.
FATAL_DEFECTS = (
    email.errors.NoBoundaryInMultipartDefect,
    email.errors.StartBoundaryNotFoundDefect,
)
# What the email package raises on input it cannot make sense of.
PARSE_ERRORS = (
    ValueError,
    TypeError,
    LookupError,
    IndexError,
    AttributeError,
    email.errors.MessageError,
)


class EmailParseError(Exception):
    """The message cannot be turned into an inquiry message (kept in the quarantine)."""


class Outcome:
    THREADED = "threaded"
    OPENED = "opened"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class ParsedEmail:
    message_id: str
    in_reply_to: str
    references: list[str]
    sender_email: str
    sender_name: str
    subject: str
    body: str
    attachments: list[dict[str, Any]]
    automatic: str  # why it is an automatic message ("" for a person's mail)


@dataclass(frozen=True)
class ReceivedEmail:
    outcome: str
    message: Message | None = None
    quarantined: QuarantinedEmail | None = None

    @property
    def inquiry_id(self) -> int | None:
        return self.message.inquiry_id if self.message is not None else None


# --- Parsing ------------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    BLOCKS = frozenset(
        {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote"}
    )
    SKIP = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: tags dropped, blocks on their own lines, entities decoded."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _codec(charset: str | None) -> str:
    charset = (charset or "us-ascii").strip().strip('"').lower()
    return CHARSET_CODECS.get(charset, charset)


def _decode_text(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True) or b""
    codec = _codec(part.get_content_charset())
    # ISO-2022-JP mailers also send NEC specials (①, Ⅱ): JIS X 0213 has them.
    fallbacks = ("iso2022_jp_2004",) if codec == "iso2022_jp_ext" else ()
    for candidate in (codec, *fallbacks):
        try:
            return payload.decode(candidate)
        except LookupError:  # a charset Python does not know: UTF-8 is the best guess today
            return payload.decode("utf-8", errors="replace")
        except UnicodeDecodeError:
            continue
    return payload.decode(codec, errors="replace")


def _body_parts(msg: EmailMessage) -> tuple[EmailMessage | None, EmailMessage | None]:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None or body.get_content_subtype() == "html":
        return None, body
    # The HTML rendering of the same text is not an attachment either.
    return body, msg.get_body(preferencelist=("html",))


def _attachments(msg: EmailMessage, body_parts: set[int]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def visit(part: EmailMessage) -> None:
        content_type = part.get_content_type()
        if part.is_multipart() and part.get_content_maintype() != "message":
            for child in part.iter_parts():
                visit(child)
            return
        if id(part) in body_parts:
            return
        filename = part.get_filename() or ""
        if (
            content_type in ("text/plain", "text/html")
            and part.get_content_disposition() != "attachment"
            and not filename
        ):
            return  # another rendering of the text (or a text part inside a bounce)
        if part.get_content_maintype() == "message" and part.is_multipart():
            size = sum(len(inner.as_bytes()) for inner in part.iter_parts())
        else:
            size = len(part.get_payload(decode=True) or b"")
        found.append({"filename": filename, "content_type": content_type, "size": size})

    visit(msg)
    return found


def _header(msg: EmailMessage, name: str) -> str:
    value = msg.get(name)
    return " ".join(str(value).split()) if value is not None else ""


def _message_ids(value: str) -> list[str]:
    return MESSAGE_ID_RE.findall(value or "")


def support_address() -> str:
    """Our support address alone (the setting may carry a display name)."""
    return parseaddr(settings.FRONTOFFICE_SUPPORT_EMAIL)[1].strip().lower()


def _automatic(msg: EmailMessage, sender: str) -> str:
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if msg.get(name) is not None:
            return name
    precedence = _header(msg, "Precedence").lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if msg.get("Return-Path") is not None and _header(msg, "Return-Path") in ("", "<>"):
        return "empty Return-Path"
    ours = support_address()
    if sender == ours:
        return "sent from our support address"
    if any(" ".join(str(value).split()).lower() == ours for value in msg.get_all("X-Loop") or []):
        return "X-Loop"
    if sender.split("@", 1)[0] in AUTOMATIC_SENDERS:
        return "sent by a mail system"
    return ""


def parse_email(raw: bytes) -> ParsedEmail:
    """Read a raw RFC 822 message (headers, text body, attachment metadata) or raise
    EmailParseError saying why it cannot be used."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise EmailParseError("The message is not bytes.")
    raw = bytes(raw)
    if not raw.strip():
        raise EmailParseError("The message is empty.")
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        fatal = [d for d in msg.defects if isinstance(d, FATAL_DEFECTS)]
        for part in msg.walk():
            fatal.extend(d for d in part.defects if isinstance(d, FATAL_DEFECTS))
        if fatal:
            raise EmailParseError(f"Malformed MIME: {type(fatal[0]).__name__}.")
        senders = getaddresses([str(value) for value in msg.get_all("From") or []])
        sender_name, sender_email = senders[0] if senders else ("", "")
        sender_email = sender_email.strip().lower()
        if not sender_email or "@" not in sender_email:
            raise EmailParseError("No usable sender address in From.")
        plain, html = _body_parts(msg)
        if plain is not None:
            body = _decode_text(plain).strip()
        elif html is not None:
            body = html_to_text(_decode_text(html))
        else:
            body = ""
        body = body.replace("\r\n", "\n").replace("\r", "\n")
        body_parts = {id(part) for part in (plain, html) if part is not None}
        attachments = _attachments(msg, body_parts)
        subject = _header(msg, "Subject")
        message_id_header = _message_ids(_header(msg, "Message-ID"))
        in_reply_to = _message_ids(_header(msg, "In-Reply-To"))
        automatic = _automatic(msg, sender_email)
        references = _message_ids(_header(msg, "References"))
    except PARSE_ERRORS as exc:
        raise EmailParseError(f"Unreadable message: {type(exc).__name__}: {exc}") from exc
    message_id = (
        message_id_header[0]
        if message_id_header
        else f"<{hashlib.sha256(raw).hexdigest()}@{SYNTHETIC_ID_DOMAIN}>"
    )
    return ParsedEmail(
        message_id=_text(message_id[:500]),
        in_reply_to=_text(in_reply_to[0][:500]) if in_reply_to else "",
        references=[_text(reference) for reference in references],
        # Left as it is: an address with a NUL is not valid, and the message is quarantined.
        sender_email=sender_email,
        sender_name=_text(" ".join(sender_name.split())[:200]),
        subject=_text(subject),
        body=_text(body[:BODY_MAX_CHARS]),
        attachments=[
            {key: _text(value) if isinstance(value, str) else value for key, value in item.items()}
            for item in attachments
        ],
        automatic=_text(automatic),
    )


def _text(value: str) -> str:
    """Text as it can be stored: PostgreSQL text (and JSON) cannot hold a NUL character, and in
    mail one is never content (a broken or hostile message); the raw message keeps it."""
    return value.replace("\x00", "")


# --- Threading ----------------------------------------------------------------------------------


def _known_messages(parsed: ParsedEmail) -> dict[str, int]:
    """Which of the message ids this mail answers are ours: message id -> its inquiry's id.

    A mail that answers nothing is looked up not at all: that it was delivered before shows as
    the unique Message-ID refusing it (see ``_process``), which saves a query on every new
    thread. A reply's own Message-ID is asked in the same query."""
    answered = {parsed.in_reply_to, *parsed.references} - {""}
    if not answered:
        return {}
    return dict(
        Message.objects.filter(email_message_id__in=answered | {parsed.message_id}).values_list(
            "email_message_id", "inquiry_id"
        )
    )


def _thread_by_headers(parsed: ParsedEmail, known: dict[str, int]) -> Inquiry | None:
    # The nearest ancestor wins: In-Reply-To, then References from the newest.
    chain = [*parsed.references, parsed.in_reply_to] if parsed.in_reply_to else parsed.references
    for message_id in reversed(chain):
        if message_id in known:
            return Inquiry.objects.select_related("contact").get(pk=known[message_id])
    return None


def _thread_by_token(parsed: ParsedEmail, resolved) -> Inquiry | None:
    match = TOKEN_RE.search(parsed.subject)
    if match is None or resolved.matched_on not in ("email", "merged_email"):
        return None
    return (
        Inquiry.objects.select_related("contact")
        .filter(pk=int(match.group(1)), contact=resolved.contact)
        .first()
    )


def _store(parsed: ParsedEmail) -> ReceivedEmail:
    known = _known_messages(parsed)
    if parsed.message_id in known:
        return _duplicate(parsed)
    fields = {
        "email_message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "references": " ".join(parsed.references),
        "attachments": parsed.attachments,
        "is_auto_reply": bool(parsed.automatic),
    }
    body = parsed.body or ("" if parsed.attachments else "(no text)")
    inquiry = _thread_by_headers(parsed, known)
    if inquiry is not None and inquiry.contact.email == parsed.sender_email:
        author = inquiry.contact  # the usual reply: the inquiry's own contact writes again
    else:
        resolved = accounts_services.contact_resolve(
            email=parsed.sender_email, name=parsed.sender_name, cause="inquiry by email"
        )
        author = resolved.contact
        inquiry = inquiry or _thread_by_token(parsed, resolved)
    if inquiry is not None and inquiry.status != InquiryStatus.CLOSED:
        message = services.message_add(
            inquiry=inquiry,
            direction=MessageDirection.INBOUND,
            channel=InquiryChannel.EMAIL,
            body=body,
            subject=parsed.subject,
            author_contact=author,
            **fields,
        )
        return ReceivedEmail(outcome=Outcome.THREADED, message=message)
    inquiry = services.inquiry_open(
        channel=InquiryChannel.EMAIL,
        customer=services.Customer(contact=author),
        subject=TOKEN_RE.sub("", parsed.subject),
        body=body,
        message_fields=fields,
    )
    return ReceivedEmail(outcome=Outcome.OPENED, message=inquiry.opening_message)


def _process(raw: bytes) -> ReceivedEmail:
    """Parse and store; raises EmailParseError or ApplicationError when it cannot."""
    parsed = parse_email(raw)
    try:
        with transaction.atomic():
            return _store(parsed)
    except IntegrityError:
        # The same Message-ID stored before, or by a concurrent delivery a moment ago.
        received = _duplicate(parsed)
        if received.message is None:
            raise
        return received


def _duplicate(parsed: ParsedEmail) -> ReceivedEmail:
    existing = Message.objects.filter(email_message_id=parsed.message_id).first()
    return ReceivedEmail(outcome=Outcome.DUPLICATE, message=existing)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ApplicationError) and exc.errors:
        return "; ".join(
            f"{field}: {' '.join(map(str, messages))}" for field, messages in exc.errors.items()
        )
    return str(exc)


def email_receive(*, raw: bytes, source: str) -> ReceivedEmail:
    """Take one inbound email (from the webhook or the IMAP poller): thread it, open an inquiry,
    recognise it as a duplicate, or quarantine it raw with the reason. Does not raise for a bad
    message; database errors still propagate (nothing half-written)."""
    if source not in QuarantinedEmail.Source.values:
        message = f"{source!r} is not one of {', '.join(QuarantinedEmail.Source.values)}."
        raise ApplicationError(message, errors={"source": [message]})
    try:
        return _process(raw)
    except (EmailParseError, ApplicationError) as exc:
        item = QuarantinedEmail.objects.create(
            raw=bytes(raw or b""), source=source, error=_error_text(exc)
        )
        return ReceivedEmail(outcome=Outcome.QUARANTINED, quarantined=item)


def receive_email(*, raw: bytes, source: str) -> Message | None:
    """The stored message for a raw inbound email (new, threaded or the one stored before), or
    None when it went to the quarantine."""
    return email_receive(raw=raw, source=source).message


# --- Quarantine ---------------------------------------------------------------------------------


def _pending(item: QuarantinedEmail) -> None:
    if item.status != QuarantinedEmail.Status.PENDING:
        message = f"This email was already {item.status}."
        raise ApplicationError(message, errors={"status": [message]})


def quarantine_reprocess(*, item: QuarantinedEmail, actor=None) -> QuarantinedEmail:
    """Try a quarantined email again (after a fix): on success it is marked reprocessed with the
    resulting message; otherwise it stays pending with the new error. Compare-and-set on the
    status, so two admins at once produce one message."""
    _pending(item)
    now = timezone.now()
    try:
        with transaction.atomic():
            received = _process(bytes(item.raw))
            changed = QuarantinedEmail.objects.filter(
                pk=item.pk, status=QuarantinedEmail.Status.PENDING
            ).update(
                status=QuarantinedEmail.Status.REPROCESSED,
                reprocessed_at=now,
                reprocessed_by=actor,
                message=received.message,
            )
            if changed != 1:
                raise ConflictError(
                    "Someone else handled this email meanwhile.",
                    errors={"status": ["The status changed meanwhile."]},
                )
    except ConflictError:
        raise
    except (EmailParseError, ApplicationError) as exc:
        item.error = _error_text(exc)
        QuarantinedEmail.objects.filter(pk=item.pk).update(error=item.error)
        return item
    item.status = QuarantinedEmail.Status.REPROCESSED
    item.reprocessed_at, item.reprocessed_by, item.message = now, actor, received.message
    return item


def quarantine_discard(*, item: QuarantinedEmail, actor=None) -> QuarantinedEmail:
    """Mark a quarantined email as not worth keeping in the review queue (the raw stays)."""
    _pending(item)
    now = timezone.now()
    changed = QuarantinedEmail.objects.filter(
        pk=item.pk, status=QuarantinedEmail.Status.PENDING
    ).update(status=QuarantinedEmail.Status.DISCARDED, reprocessed_at=now, reprocessed_by=actor)
    if changed != 1:
        raise ConflictError(
            "Someone else handled this email meanwhile.",
            errors={"status": ["The status changed meanwhile."]},
        )
    item.status, item.reprocessed_at, item.reprocessed_by = (
        QuarantinedEmail.Status.DISCARDED,
        now,
        actor,
    )
    return item


__all__ = [
    "EmailParseError",
    "Outcome",
    "ParsedEmail",
    "ReceivedEmail",
    "email_receive",
    "html_to_text",
    "parse_email",
    "quarantine_discard",
    "quarantine_reprocess",
    "receive_email",
]
