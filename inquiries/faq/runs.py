"""A mining run as the task and the command start it: the period from ISO dates (or the default
window), and the method (the task falls back to TF-IDF, with a warning, when embeddings are asked
for but not installed; the command refuses instead)."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from inquiries.faq import embeddings, services
from inquiries.models import FaqMethod

logger = logging.getLogger(__name__)


def mining_period(
    since: str | None, until: str | None, *, today: date | None = None
) -> tuple[date, date]:
    """(first day, last day): the ISO dates given, else the last FRONTOFFICE_FAQ_WINDOW_DAYS days
    up to yesterday. ValueError for a date that is not YYYY-MM-DD."""
    last = date.fromisoformat(until) if until else (today or timezone.localdate()) - timedelta(1)
    first = (
        date.fromisoformat(since)
        if since
        else last - timedelta(days=settings.FRONTOFFICE_FAQ_WINDOW_DAYS - 1)
    )
    return first, last


def build(*, since: str | None, until: str | None, method: str | None) -> dict:
    """Run the mining for the task; the summary as a dict (JSON for the result backend)."""
    first, last = mining_period(since, until)
    method = method or settings.FRONTOFFICE_FAQ_METHOD
    if method == FaqMethod.EMBEDDINGS and not embeddings.available():
        logger.warning(
            "FAQ mining: embeddings asked for but not installed, using tfidf. %s",
            embeddings.INSTALL_HINT,
        )
        method = FaqMethod.TFIDF
    return services.faq_candidates_build(since=first, until=last, method=method).as_dict()
