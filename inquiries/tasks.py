"""Background work for support: sending agents' email replies, polling the IMAP mailbox,
watching SLA targets and mining FAQ candidates. Tasks take ids or ISO datetimes and are safe to
run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from frontoffice.background import TASK_OPTIONS, task_moment
from inquiries import email_out, mailbox, sla_watch
from inquiries.faq import runs as faq_runs


@shared_task(
    **{**TASK_OPTIONS, "autoretry_for": (OperationalError, email_out.TransientEmailError)},
    time_limit=2 * 60,
    soft_time_limit=90,
)
def send_email_reply(message_id: int) -> str:
    """Send an agent's reply by email (threaded on the customer's message); once."""
    return email_out.send_reply_email(message_id=message_id)


@shared_task(**TASK_OPTIONS, time_limit=10 * 60, soft_time_limit=9 * 60)
def fetch_mail() -> dict[str, int]:
    """Read new messages from the support IMAP mailbox (settings from the environment)."""
    return mailbox.fetch_mail()


@shared_task(**TASK_OPTIONS, time_limit=5 * 60, soft_time_limit=4 * 60)
def check_sla_breaches(now: str | None = None) -> dict[str, int]:
    """Escalate missed first-response and resolution targets to the team supervisor, exactly
    once per breach."""
    return sla_watch.check_breaches(now=task_moment(now))


@shared_task(**TASK_OPTIONS, time_limit=30 * 60, soft_time_limit=25 * 60)
def build_faq_candidates(
    since: str | None = None, until: str | None = None, method: str | None = None
) -> dict:
    """Mine the inquiries opened from `since` to `until` (ISO dates, both included; default the
    last FRONTOFFICE_FAQ_WINDOW_DAYS days up to yesterday) into FAQ candidates, written in one
    transaction. A rerun updates the same candidates; rejected ones stay rejected."""
    return faq_runs.build(since=since, until=until, method=method)
