"""Import of the "Customer Support Ticket Dataset" (customer_support_tickets.csv, synthetic).

Each ticket becomes an Inquiry with ``external_id`` = Ticket ID; tickets already imported are
skipped, so a re-run adds nothing. The customer is found or created by identity resolution on
the email (``accounts.bulk``, one record per distinct address, in a bounded number of queries;
the data's addresses are Faker ones, so no company is guessed from their domain). New contacts
start as customers (they bought the product) dated by the Date of Purchase; known contacts
advance to customer if they were not one yet.

What each row becomes:

- channel: Email → email, Phone → phone, Chat → chat, Social media → social;
  priority: Low → low, Medium → normal, High → high, Critical → urgent;
  subject = Ticket Subject, category = Ticket Type;
- status and its history rows (∅ → new at the opening, then): Open → open (opened);
  Pending Customer Response → open, pending (at the first response); Closed → open (first
  response), resolved and closed (at the resolution);
- messages: the description (``{product_purchased}`` replaced by the Product Purchased) as the
  customer's first inbound message; the Resolution, when present, as the outbound reply at the
  resolution time. Both are on the customer's timeline (touchpoints written in bulk through
  ``accounts.bulk.touchpoints_record_bulk``, which does not return ids, so ``Message.touchpoint``
  is left empty for imported messages);
- times: the data has no opening time, so every ticket is opened at the file's earliest
  timestamp (its origin: first responses and resolutions are never before it);
  ``first_responded_at`` = First Response Time; ``resolved_at`` = Time to Resolution, except
  where that comes before the first response (1,365 rows of the synthetic data): a resolution
  cannot precede the first answer, so those are resolved at the first response (counted as
  ``resolutions_clamped``). Times are local (settings.TIME_ZONE).
- No SLA policy, team or assignee: these are history; due times would be breached at once and
  the SLA watch would escalate thousands of old tickets. Customer Age, Gender and Satisfaction
  Rating have no place in the model and are not imported.

Any bad row (missing column, bad id or email, unknown status, priority or channel, bad time)
is reported with its line number and nothing is written: one transaction.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from accounts import bulk
from accounts.models import JourneyStage, TouchpointKind
from frontoffice.audit.models import AuditAction
from frontoffice.audit.services import audit_record
from frontoffice.errors import ApplicationError
from inquiries.models import (
    Inquiry,
    InquiryChannel,
    InquiryPriority,
    InquiryStatus,
    InquiryStatusChange,
    Message,
    MessageDirection,
)
from inquiries.services import TIMELINE_CHANNEL

COLUMNS = (
    "Ticket ID",
    "Customer Name",
    "Customer Email",
    "Product Purchased",
    "Date of Purchase",
    "Ticket Type",
    "Ticket Subject",
    "Ticket Description",
    "Ticket Status",
    "Resolution",
    "Ticket Priority",
    "Ticket Channel",
    "First Response Time",
    "Time to Resolution",
)
CHANNELS = {
    "Email": InquiryChannel.EMAIL,
    "Phone": InquiryChannel.PHONE,
    "Chat": InquiryChannel.CHAT,
    "Social media": InquiryChannel.SOCIAL,
}
PRIORITIES = {
    "Low": InquiryPriority.LOW,
    "Medium": InquiryPriority.NORMAL,
    "High": InquiryPriority.HIGH,
    "Critical": InquiryPriority.URGENT,
}
STATUSES = {
    "Open": InquiryStatus.OPEN,
    "Pending Customer Response": InquiryStatus.PENDING,
    "Closed": InquiryStatus.CLOSED,
}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_ERRORS = 20
IMPORT_NOTE = "imported support ticket"

Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class Ticket:
    line: int
    ticket_id: str
    name: str
    email: str
    product: str
    purchased_on: datetime | None
    category: str
    subject: str
    description: str
    status: str
    resolution: str
    priority: str
    channel: str
    first_response_at: datetime | None
    resolution_at: datetime | None


@dataclass
class TicketImportResult:
    dry_run: bool
    rows: int = 0
    inquiries_created: int = 0
    already_imported: int = 0
    contacts_created: int = 0
    contacts_found: int = 0
    messages_created: int = 0
    status_changes_created: int = 0
    touchpoints_created: int = 0
    resolutions_clamped: int = 0
    per_channel: Counter = field(default_factory=Counter)
    per_priority: Counter = field(default_factory=Counter)
    per_status: Counter = field(default_factory=Counter)


def _local_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    return timezone.make_aware(datetime.strptime(value, TIME_FORMAT))  # noqa: DTZ007


def _local_day(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    return timezone.make_aware(datetime.strptime(value, "%Y-%m-%d"))  # noqa: DTZ007


def _ticket(line: int, row: dict[str, str]) -> tuple[Ticket | None, list[str]]:
    errors: list[str] = []
    value = {name: (row.get(name) or "").strip() for name in COLUMNS}

    def choice(column: str, mapping: dict[str, str]) -> str:
        if value[column] not in mapping:
            errors.append(f"line {line}: unknown {column} {value[column]!r}.")
            return ""
        return mapping[value[column]]

    def time(column: str, parse=_local_time) -> datetime | None:
        try:
            return parse(value[column])
        except ValueError:
            errors.append(f"line {line}: {column} {value[column]!r} is not a date-time.")
            return None

    ticket_id = value["Ticket ID"]
    if not ticket_id.isdigit() or len(ticket_id) > 18 or int(ticket_id) < 1:
        errors.append(f"line {line}: Ticket ID {ticket_id!r} is not a positive whole number.")
    if not value["Customer Email"]:
        errors.append(f"line {line}: Customer Email is empty.")
    ticket = Ticket(
        line=line,
        ticket_id=ticket_id.lstrip("0"),
        name=value["Customer Name"][:200],
        email=value["Customer Email"],
        product=value["Product Purchased"],
        purchased_on=time("Date of Purchase", _local_day),
        category=value["Ticket Type"][:100],
        subject=" ".join(value["Ticket Subject"].split())[:300] or "(no subject)",
        description=value["Ticket Description"].replace(
            "{product_purchased}", value["Product Purchased"] or "product"
        ),
        status=choice("Ticket Status", STATUSES),
        resolution=value["Resolution"],
        priority=choice("Ticket Priority", PRIORITIES),
        channel=choice("Ticket Channel", CHANNELS),
        first_response_at=time("First Response Time"),
        resolution_at=time("Time to Resolution"),
    )
    no_times = ticket.resolution_at is None and ticket.first_response_at is None
    if ticket.status == InquiryStatus.CLOSED and no_times:
        errors.append(f"line {line}: a Closed ticket needs a First Response Time.")
    return (None if errors else ticket), errors


def tickets_read(*, path: Path) -> list[Ticket]:
    """Read and check the CSV; ApplicationError listing the bad lines (the first MAX_ERRORS)."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ApplicationError(
            f"Cannot read {path}: {exc.strerror}.", errors={"file": [str(path)]}
        ) from exc
    tickets: list[Ticket] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    with handle:
        # strict: a file cut inside a quoted cell is an error, not a shorter last row.
        reader = csv.DictReader(handle, strict=True)
        try:
            header = reader.fieldnames or []
            missing = [name for name in COLUMNS if name not in header]
            if missing:
                message = f"line 1: missing column(s): {', '.join(missing)}."
                raise ApplicationError("Not a support tickets file.", errors={"file": [message]})
            line = reader.line_num + 1
            for row in reader:
                if None in row:
                    errors.append(f"line {line}: more values than columns.")
                if any("\x00" in value for value in row.values() if isinstance(value, str)):
                    errors.append(f"line {line}: a NUL character (not a text CSV).")
                ticket, row_errors = _ticket(line, row)
                errors.extend(row_errors)
                if ticket is not None:
                    if ticket.ticket_id in seen:
                        errors.append(
                            f"line {line}: Ticket ID {ticket.ticket_id} is also on line "
                            f"{seen[ticket.ticket_id]}."
                        )
                    seen[ticket.ticket_id] = line
                    tickets.append(ticket)
                line = reader.line_num + 1
        except UnicodeDecodeError as exc:
            # Decoded a block at a time: where in the file is not known, what is wrong is.
            errors.append(f"the file is not UTF-8 text ({exc.reason}): save it as UTF-8 CSV.")
        except csv.Error as exc:  # a cell past the csv module's limit, a cut quoted cell
            errors.append(f"line {reader.line_num + 1}: unreadable CSV ({exc}).")
    records = {}
    for ticket in tickets:
        if ticket.email in records:
            continue
        try:
            records[ticket.email] = bulk.person_record(
                email=ticket.email, name=ticket.name, domain_from_email=False
            )
        except ApplicationError as exc:
            details = "; ".join(m for messages in exc.errors.values() for m in messages)
            errors.append(f"line {ticket.line}: {details}")
    if errors:
        shown = errors[:MAX_ERRORS]
        if len(errors) > MAX_ERRORS:
            shown.append(f"... and {len(errors) - MAX_ERRORS} more.")
        raise ApplicationError(
            f"{len(errors)} bad line(s) in {path.name}; nothing was imported.",
            errors={"file": shown},
        )
    return tickets


def _times(ticket: Ticket, opened_at: datetime) -> tuple[datetime | None, datetime | None, bool]:
    """First response and resolution times, and whether the resolution was clamped."""
    first = ticket.first_response_at
    if ticket.status != InquiryStatus.CLOSED:
        return first, None, False
    resolved = ticket.resolution_at or first
    clamped = first is not None and resolved < first
    if clamped:
        resolved = first
    return first or resolved, max(resolved, opened_at), clamped


def _history(ticket: Ticket, opened_at, first, resolved) -> list[tuple[str, str, datetime]]:
    rows = [("", InquiryStatus.NEW, opened_at)]
    if ticket.status == InquiryStatus.OPEN:
        rows.append((InquiryStatus.NEW, InquiryStatus.OPEN, opened_at))
    elif ticket.status == InquiryStatus.PENDING:
        answered = first or opened_at
        rows += [
            (InquiryStatus.NEW, InquiryStatus.OPEN, answered),
            (InquiryStatus.OPEN, InquiryStatus.PENDING, answered),
        ]
    else:
        rows += [
            (InquiryStatus.NEW, InquiryStatus.OPEN, first),
            (InquiryStatus.OPEN, InquiryStatus.RESOLVED, resolved),
            (InquiryStatus.RESOLVED, InquiryStatus.CLOSED, resolved),
        ]
    return rows


def tickets_import(
    *, tickets: list[Ticket], dry_run: bool = False, progress: Progress | None = None
) -> TicketImportResult:
    """Import the tickets read by ``tickets_read`` (see the module docstring); all or nothing."""
    report = progress or (lambda phase, done, total: None)
    result = TicketImportResult(dry_run=dry_run, rows=len(tickets))
    if not tickets:
        return result
    opened_at = min(
        moment
        for ticket in tickets
        for moment in (ticket.first_response_at, ticket.resolution_at, timezone.now())
        if moment is not None
    )
    known: set[str] = set()
    ids = sorted({ticket.ticket_id for ticket in tickets})
    for chunk in bulk.lookup_chunks(ids):
        known.update(
            Inquiry.objects.filter(bulk.one_of("external_id", chunk)).values_list(
                "external_id", flat=True
            )
        )
    new = [ticket for ticket in tickets if ticket.ticket_id not in known]
    result.already_imported = len(tickets) - len(new)
    for ticket in new:
        result.per_channel[ticket.channel] += 1
        result.per_priority[ticket.priority] += 1
        result.per_status[ticket.status] += 1
    report("resolving customers", 0, len(new))
    with transaction.atomic():
        records, first_ticket = [], {}
        for ticket in new:
            if ticket.email not in first_ticket:
                first_ticket[ticket.email] = ticket
                records.append(
                    bulk.person_record(
                        email=ticket.email,
                        name=ticket.name,
                        domain_from_email=False,
                        seen_at=ticket.purchased_on or opened_at,
                    )
                )
        resolution = bulk.contacts_resolve_bulk(
            records=records,
            stage=JourneyStage.CUSTOMER,
            cause="support ticket import",
            dry_run=dry_run,
        )
        result.contacts_created = len(resolution.new_contacts)
        result.contacts_found = len(resolution.known_contacts)
        contact_of = {
            email: contact for email, contact in zip(first_ticket, resolution.contacts, strict=True)
        }
        for ticket in new:
            result.resolutions_clamped += _times(ticket, opened_at)[2]
        if dry_run:
            result.inquiries_created = len(new)
            return result
        known_ids = {id(contact) for contact in resolution.known_contacts}
        bulk.journey_advance_bulk(
            moves=[
                (contact, first_ticket[email].purchased_on or opened_at)
                for email, contact in contact_of.items()
                if id(contact) in known_ids
            ],
            to_stage=JourneyStage.CUSTOMER,
            cause="support ticket import: bought a product",
        )
        _write(new, contact_of=contact_of, opened_at=opened_at, result=result, report=report)
        if new:
            # One audit entry for the run (the import writes in bulk; no run row to point at).
            audit_record(
                action=AuditAction.IMPORT,
                target=None,
                target_repr=f"Support ticket import: {result.inquiries_created} inquiries",
                changes={
                    "contacts_created": [None, result.contacts_created],
                    "inquiries_created": [None, result.inquiries_created],
                },
            )
    return result


def _write(tickets, *, contact_of, opened_at, result: TicketImportResult, report) -> None:
    now = timezone.now()
    rows, timing = [], []
    for ticket in tickets:
        contact = contact_of[ticket.email]
        first, resolved, _clamped = _times(ticket, opened_at)
        history = _history(ticket, opened_at, first, resolved)
        last_message_at = resolved if ticket.resolution and resolved else opened_at
        timing.append((first, resolved, history, last_message_at))
        rows.append(
            (
                contact.pk,
                contact.account_id,
                ticket.channel,
                ticket.subject,
                ticket.category,
                ticket.priority,
                ticket.status,
                history[-1][2],
                "",
                first,
                resolved,
                resolved if ticket.status == InquiryStatus.CLOSED else None,
                last_message_at,
                ticket.ticket_id,
                opened_at,
                now,
            )
        )
    report("writing inquiries", 0, len(tickets))
    inquiry_ids = bulk.insert_rows(
        Inquiry,
        (
            "contact_id",
            "account_id",
            "channel",
            "subject",
            "category",
            "priority",
            "status",
            "status_changed_at",
            "conversation_id",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "last_message_at",
            "external_id",
            "created_at",
            "updated_at",
        ),
        rows,
    )
    result.inquiries_created = len(inquiry_ids)
    report("writing history", len(tickets) // 3, len(tickets))
    changes = [
        (pk, from_status, to_status, at, IMPORT_NOTE)
        for pk, (_first, _resolved, history, _last) in zip(inquiry_ids, timing, strict=True)
        for from_status, to_status, at in history
    ]
    bulk.insert_rows(
        InquiryStatusChange,
        ("inquiry_id", "from_status", "to_status", "created_at", "note"),
        changes,
        returning=False,
    )
    result.status_changes_created = len(changes)
    report("writing messages", 2 * len(tickets) // 3, len(tickets))
    messages, timeline = [], []
    for pk, ticket, (_first, resolved, _history_rows, _last) in zip(
        inquiry_ids, tickets, timing, strict=True
    ):
        contact = contact_of[ticket.email]
        kind = (
            TouchpointKind.CALL
            if ticket.channel == InquiryChannel.PHONE
            else TouchpointKind.INQUIRY_MESSAGE
        )
        exchanges = []
        if ticket.description:
            exchanges.append((MessageDirection.INBOUND, ticket.description, opened_at))
        if ticket.resolution and resolved is not None:
            exchanges.append((MessageDirection.OUTBOUND, ticket.resolution, resolved))
        for direction, body, at in exchanges:
            messages.append(
                Message(
                    inquiry_id=pk,
                    direction=direction,
                    channel=ticket.channel,
                    author_contact_id=contact.pk if direction == MessageDirection.INBOUND else None,
                    subject=ticket.subject,
                    body=body,
                    created_at=at,
                )
            )
            summary = f"[#{pk}] {ticket.subject}: {body}".replace("\n", " ")
            timeline.append(
                bulk.TimelineEntry(
                    contact=contact,
                    kind=kind,
                    channel=TIMELINE_CHANNEL[ticket.channel],
                    occurred_at=at,
                    summary=summary[:300],
                )
            )
    Message.objects.bulk_create(messages, batch_size=1000)
    result.messages_created = len(messages)
    result.touchpoints_created = bulk.touchpoints_record_bulk(entries=timeline)
    report("done", len(tickets), len(tickets))
