"""Background lead scoring. Tasks take ids or ISO datetimes and are safe to run twice: a rerun
recomputes the same scores, writes no second change row and hands out no second follow-up."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from pipeline import scoring, screening

# Retried: a locked SQLite file, a dropped connection or a deadlock. Anything else
# (a bug, bad data) would fail the same way again.
TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 3,
}


def _summary(scored: scoring.ScoringResult, screened: screening.ScreeningResult) -> dict:
    return {
        "scored": scored.scored,
        "changed": scored.changed,
        "hot": screened.hot,
        "nurture": screened.nurture,
        "follow_ups": len(screened.follow_ups),
    }


@shared_task(**TASK_OPTIONS, time_limit=10 * 60, soft_time_limit=9 * 60)
def rescore_contacts(contact_ids: list[int]) -> dict[str, int]:
    """Rescore and screen these contacts (their timeline changed)."""
    ids = sorted({int(pk) for pk in contact_ids})
    scored = scoring.score_contacts(contact_ids=ids, cause="touchpoints recorded")
    return _summary(scored, screening.screen_contacts(contact_ids=ids))


@shared_task(**TASK_OPTIONS, time_limit=30 * 60, soft_time_limit=25 * 60)
def rescore_all(now: str | None = None) -> dict[str, int]:
    """Rescore every scored contact as of `now` (ISO 8601; default: the current time) and
    screen them all: nightly for the decay, and after a rule or the threshold changes."""
    at = datetime.fromisoformat(now) if now else timezone.now()
    if timezone.is_naive(at):
        raise ValueError(f"`now` needs a time zone offset, got {now!r}")
    scored = scoring.score_contacts(now=at, cause="rescore all")
    return _summary(scored, screening.screen_contacts())
