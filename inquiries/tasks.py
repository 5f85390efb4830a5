"""Background work for support: sending agents' email replies, polling the IMAP mailbox, and
watching SLA targets. Tasks take ids or ISO datetimes and are safe to run twice."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from inquiries.email_out import TransientEmailError

TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 3,
}


def _now(now: str | None) -> datetime:
    at = datetime.fromisoformat(now) if now else timezone.now()
    if timezone.is_naive(at):
        raise ValueError(f"`now` needs a time zone offset, got {now!r}")
    return at


@shared_task(
    **{**TASK_OPTIONS, "autoretry_for": (OperationalError, TransientEmailError)},
    time_limit=2 * 60,
    soft_time_limit=90,
)
def send_email_reply(message_id: int) -> str:
    """Send an agent's reply by email (threaded on the customer's message); once."""
    from inquiries import email_out

    return email_out.send_reply_email(message_id=message_id)


@shared_task(**TASK_OPTIONS, time_limit=10 * 60, soft_time_limit=9 * 60)
def fetch_mail() -> dict[str, int]:
    """Read new messages from the support IMAP mailbox (settings from the environment)."""
    from inquiries import mailbox

    return mailbox.fetch_mail()


@shared_task(**TASK_OPTIONS, time_limit=5 * 60, soft_time_limit=4 * 60)
def check_sla_breaches(now: str | None = None) -> dict[str, int]:
    """Escalate missed first-response and resolution targets to the team supervisor, exactly
    once per breach."""
    from inquiries import sla_watch

    return sla_watch.check_breaches(now=_now(now))
