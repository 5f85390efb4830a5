"""What every app's Celery tasks share: the retry policy for transient database errors, and the
`now` argument (an ISO 8601 moment with its offset) that lets a rerun compute a past moment."""

from __future__ import annotations

from datetime import datetime

from django.db import OperationalError
from django.utils import timezone

# Retried: a locked SQLite file, a dropped connection or a deadlock. Anything else
# (a bug, bad data) would fail the same way again.
TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 3,
}


def task_moment(now: str | None) -> datetime:
    """The moment a task computes for: `now` (ISO 8601 with an offset) or the current time."""
    at = datetime.fromisoformat(now) if now else timezone.now()
    if timezone.is_naive(at):
        raise ValueError(f"`now` needs a time zone offset, got {now!r}")
    return at
