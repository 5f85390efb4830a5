"""Background lead scoring. Tasks take ids or ISO datetimes and are safe to run twice: a rerun
recomputes the same scores, writes no second change row and hands out no second follow-up."""

from __future__ import annotations

from celery import shared_task

from frontoffice.background import TASK_OPTIONS, task_moment
from pipeline import quotes, reports, scoring, screening, stalls


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
    scored = scoring.score_contacts(now=task_moment(now), cause="rescore all")
    return _summary(scored, screening.screen_contacts())


# --- Sales pipeline -----------------------------------------------------------------------------
# Each takes an optional ISO 8601 `now` (tests and reruns for a past moment) and is idempotent.


@shared_task(**TASK_OPTIONS, time_limit=10 * 60, soft_time_limit=9 * 60)
def detect_stalled_deals(now: str | None = None) -> dict[str, int]:
    """Flag open deals that stalled and unflag those that moved or came alive again; the owner
    and the team's manager are notified once per stall."""
    return stalls.detect_stalled_deals(now=task_moment(now))


@shared_task(**TASK_OPTIONS, time_limit=5 * 60, soft_time_limit=4 * 60)
def remind_daily_reports(now: str | None = None) -> dict[str, int]:
    """On working days after the due time, remind reps whose report is not submitted (once)."""
    return reports.remind_unsubmitted_reports(now=task_moment(now))


@shared_task(**TASK_OPTIONS, time_limit=5 * 60, soft_time_limit=4 * 60)
def send_daily_summaries(now: str | None = None) -> dict[str, int]:
    """On working days after the summary time, send each sales team's manager the day's
    summary (activities per rep, deals advanced), once."""
    return reports.send_daily_summaries(now=task_moment(now))


@shared_task(**TASK_OPTIONS, time_limit=5 * 60, soft_time_limit=4 * 60)
def expire_quotes(now: str | None = None) -> dict[str, int]:
    """Sent quotes past their validity become expired (with a history row)."""
    return quotes.expire_quotes(now=task_moment(now))
