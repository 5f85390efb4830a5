"""Reads for FAQ mining and use: the questions of a period, FAQ search, suggestions.

The question of an inquiry is its first inbound message (automatic replies aside), cleaned
(``inquiries.faq.cleaning``); the subject stands in when that leaves nothing. The answer that
resolved it is the last reply sent before it was (last) resolved. Handling time is the time
from opening to resolution (to closing, or to the last message, for unresolved inquiries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, IntegerField, Q, QuerySet, When
from django.utils import timezone

from inquiries.channels import saved_replies_usable_by
from inquiries.faq import vectors
from inquiries.faq.cleaning import clean_answer, clean_question, fold
from inquiries.faq.mining import Question
from inquiries.models import (
    FaqEntry,
    Inquiry,
    InquiryStatus,
    InquiryStatusChange,
    Message,
    MessageDirection,
    SavedReply,
)

NO_SUBJECT = "(no subject)"
SEARCH_TERMS_MAX = 10
SUGGESTIONS_MAX = 5
# Below this cosine a suggestion shares too little with the question to be worth showing.
SUGGESTION_MIN_SIMILARITY = 0.1
# Suggestions compare the question with at most this many published entries (newest first).
SUGGESTION_ENTRIES_MAX = 5000


def period_bounds(since: date, until: date) -> tuple[datetime, datetime]:
    """[start of `since`, start of the day after `until`) in the project's time zone."""
    start = timezone.make_aware(datetime.combine(since, time.min))
    end = timezone.make_aware(datetime.combine(until + timedelta(days=1), time.min))
    return start, end


def _question_text(body: str | None, subject: str) -> str:
    return clean_question(body or "") or clean_question("" if subject == NO_SUBJECT else subject)


def period_questions(*, since: date, until: date) -> list[Question]:
    """The questions of the inquiries opened from `since` to `until` (both days included), in
    inquiry order, with the answers that resolved them; inquiries with no text are left out.

    Three scans (the inquiries, their customer-visible messages, their reopenings) picked over
    in Python: a correlated "last reply before the resolution" subquery per inquiry made SQLite
    walk every reply of the period for each inquiry."""
    start, end = period_bounds(since, until)
    in_period = {"inquiry__created_at__gte": start, "inquiry__created_at__lt": end}
    inquiries = (
        Inquiry.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("id")
        .values_list(
            "id", "subject", "category", "created_at", "resolved_at", "closed_at", "last_message_at"
        )
    )
    rows = {row[0]: row for row in inquiries.iterator(chunk_size=10000)}
    first: dict[int, tuple] = {}
    answer: dict[int, tuple] = {}
    messages = Message.objects.filter(
        direction__in=[MessageDirection.INBOUND, MessageDirection.OUTBOUND], **in_period
    ).values_list("inquiry_id", "direction", "is_auto_reply", "created_at", "id", "body")
    for inquiry_id, direction, automatic, at, message_id, body in messages.iterator(
        chunk_size=10000
    ):
        key = (at, message_id, body)
        if direction == MessageDirection.INBOUND:
            if not automatic and (inquiry_id not in first or key < first[inquiry_id]):
                first[inquiry_id] = key
            continue
        resolved_at = rows[inquiry_id][4]
        replied_before = resolved_at is not None and at <= resolved_at
        if replied_before and (inquiry_id not in answer or key > answer[inquiry_id]):
            answer[inquiry_id] = key
    reopened = set(
        InquiryStatusChange.objects.filter(
            from_status=InquiryStatus.RESOLVED, to_status=InquiryStatus.OPEN, **in_period
        ).values_list("inquiry_id", flat=True)
    )
    answers: dict[str, str] = {}  # the same saved reply, cleaned once
    questions = []
    for inquiry_id, row in rows.items():
        _id, subject, category, created_at, resolved_at, closed_at, last_at = row
        text = _question_text(first[inquiry_id][2] if inquiry_id in first else None, subject)
        if not text:
            continue
        reply = answer[inquiry_id][2] if inquiry_id in answer else ""
        if reply not in answers:
            answers[reply] = clean_answer(reply)
        ended = resolved_at or closed_at or last_at or created_at
        questions.append(
            Question(
                inquiry_id=inquiry_id,
                text=text,
                answer=answers[reply],
                handling_seconds=max(0, int((ended - created_at).total_seconds())),
                category=category,
                resolved_for_good=resolved_at is not None and inquiry_id not in reopened,
            )
        )
    return questions


def inquiry_question(inquiry: Inquiry) -> str:
    """The inquiry's question as the miner reads it (first inbound message, cleaned)."""
    body = (
        Message.objects.filter(
            inquiry=inquiry, direction=MessageDirection.INBOUND, is_auto_reply=False
        )
        .order_by("created_at", "id")
        .values_list("body", flat=True)
        .first()
    )
    return _question_text(body, inquiry.subject)


# --- The published FAQ --------------------------------------------------------------------------


def faq_search_text(question: str, answer: str) -> str:
    return fold(f"{question}\n{answer}")


def faq_entries_published(queryset: QuerySet[FaqEntry] | None = None) -> QuerySet[FaqEntry]:
    queryset = FaqEntry.objects.all() if queryset is None else queryset
    return queryset.filter(is_published=True)


def faq_search(queryset: QuerySet[FaqEntry], query: str) -> QuerySet[FaqEntry]:
    """Entries whose question or answer contains every term of `query` (terms split on spaces;
    a Japanese query without spaces is one term), matched on the folded text so case and
    full-width forms do not matter; entries whose question holds the whole query first."""
    terms = fold(query).split()[:SEARCH_TERMS_MAX]
    if not terms:
        return queryset
    condition = Q()
    for term in terms:
        condition &= Q(search_text__contains=term)
    in_question = Case(
        When(question__icontains=query.strip(), then=1), default=0, output_field=IntegerField()
    )
    return (
        queryset.filter(condition)
        .annotate(question_match=in_question)
        .order_by("-question_match", "category", "question", "id")
    )


# --- Suggestions for an open inquiry ------------------------------------------------------------


@dataclass(frozen=True)
class Suggestions:
    question: str
    entries: list[tuple[FaqEntry, float]]
    saved_replies: list[tuple[SavedReply, float]]


def _best(items: Sequence, scores, limit: int) -> list:
    ranked = sorted(
        ((item, round(float(score), 4)) for item, score in zip(items, scores, strict=True)),
        key=lambda pair: (-pair[1], pair[0].pk),
    )
    return [pair for pair in ranked if pair[1] >= SUGGESTION_MIN_SIMILARITY][:limit]


def suggestions_for(*, inquiry: Inquiry, user, limit: int = SUGGESTIONS_MAX) -> Suggestions:
    """Published FAQ entries and the saved replies `user` may use, most similar to the
    inquiry's question first (the FAQ method's vectors, fitted on these texts)."""
    question = inquiry_question(inquiry)
    entries = list(
        faq_entries_published()
        .only("id", "question", "answer", "category")
        .order_by("-published_at", "-id")[:SUGGESTION_ENTRIES_MAX]
    )
    replies = list(saved_replies_usable_by(user, SavedReply.objects.select_related("team")))
    texts = [f"{entry.question}\n{entry.answer}" for entry in entries]
    texts += [f"{reply.title}\n{reply.body}" for reply in replies]
    scores = vectors.similarities(question, texts)
    return Suggestions(
        question=question,
        entries=_best(entries, scores[: len(entries)], limit),
        saved_replies=_best(replies, scores[len(entries) :], limit),
    )
