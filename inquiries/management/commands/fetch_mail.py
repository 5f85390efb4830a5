"""``manage.py fetch_mail``: poll the support IMAP mailbox (IMAP_URL) once and print the counts.

The Celery beat task ``inquiries.tasks.fetch_mail`` does the same on a schedule; this command is
for a first check of the settings and for cron without Celery. Exits non-zero with the reason
when the server cannot be reached or refuses the login.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from inquiries import mailbox


class Command(BaseCommand):
    help = "Read new mail from the support IMAP mailbox (IMAP_URL) into inquiries, once."

    def handle(self, *args, **options) -> None:
        try:
            counts = mailbox.fetch_mail()
        except mailbox.MailboxError as exc:
            raise CommandError(str(exc)) from exc
        if counts.get("skipped"):
            self.stdout.write("IMAP_URL is not set: nothing to poll.")
            return
        summary = ", ".join(f"{name} {count}" for name, count in counts.items())
        self.stdout.write(self.style.SUCCESS(summary))
