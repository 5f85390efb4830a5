"""``manage.py import_tickets CSV``: import the "Customer Support Ticket Dataset".

See ``inquiries.ticket_imports`` for what each row becomes.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from frontoffice.errors import ApplicationError
from frontoffice.management.progress import phase_progress, refusal
from inquiries.ticket_imports import TicketImportResult, tickets_import, tickets_read


class Command(BaseCommand):
    help = (
        "Import support tickets from CSV (the Kaggle 'Customer Support Ticket Dataset', "
        "customer_support_tickets.csv; synthetic data). Each ticket becomes an inquiry with "
        "external_id = Ticket ID: tickets already imported are skipped, so a re-run adds "
        "nothing. The customer is found or created by identity resolution on the Customer "
        "Email (new contacts become customers, dated by the Date of Purchase). Ticket Channel "
        "Email/Phone/Chat/Social media -> email/phone/chat/social; Ticket Priority "
        "Low/Medium/High/Critical -> low/normal/high/urgent; Ticket Status Open -> open, "
        "Pending Customer Response -> pending, Closed -> closed, with a status history row "
        "for each step (new, open, then pending or resolved and closed); category = Ticket "
        "Type, subject = Ticket Subject. The description is the customer's first inbound "
        "message, the Resolution (when present) the outbound reply; both go on the customer's "
        "timeline. The data has no opening time: every ticket is opened at the file's "
        "earliest timestamp. first_responded_at = First Response Time; resolved_at = Time to "
        "Resolution, or the First Response Time where the resolution would come before it "
        "(counted as 'resolutions clamped'). No SLA policy, team or assignee is set (history, "
        "not work). Any bad line (missing column, bad Ticket ID or email, unknown status, "
        "priority or channel, bad time, a Ticket ID twice) is reported with its line number "
        "and nothing is written: one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv", type=Path, help="customer_support_tickets.csv")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the file and count only, write nothing"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar (off when not a TTY)"
        )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        try:
            tickets = tickets_read(path=options["csv"])
            with phase_progress(
                unit="ticket", hidden=options["no_progress"], total=len(tickets)
            ) as progress:
                result = tickets_import(
                    tickets=tickets, dry_run=options["dry_run"], progress=progress
                )
        except ApplicationError as exc:
            raise refusal(exc) from exc
        self._write_summary(result, seconds=time.perf_counter() - started)

    def _write_summary(self, result: TicketImportResult, *, seconds: float) -> None:
        would = "would be " if result.dry_run else ""

        def per(counter) -> str:
            return ", ".join(f"{key} {count}" for key, count in sorted(counter.items())) or "none"

        lines = [
            "Dry run: nothing was written." if result.dry_run else "Support tickets imported.",
            f"  rows read                {result.rows}",
            f"  inquiries {would}created   {result.inquiries_created}",
            f"    per channel            {per(result.per_channel)}",
            f"    per priority           {per(result.per_priority)}",
            f"    per status             {per(result.per_status)}",
            f"  already imported         {result.already_imported}",
            f"  contacts {would}created    {result.contacts_created}",
            f"  contacts found           {result.contacts_found}",
            f"  status changes written   {result.status_changes_created}",
            f"  messages written         {result.messages_created}",
            f"  touchpoints written      {result.touchpoints_created}",
            f"  resolutions clamped      {result.resolutions_clamped}",
            f"  duration                 {seconds:.1f} s",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
