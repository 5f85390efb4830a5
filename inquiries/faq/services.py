"""Writes for FAQ mining and review: a mining run, accept, reject, merge, FAQ entries.

A mining run computes everything first (questions, vectors, groups) and then writes in one
transaction, so a worker killed half-way leaves the candidates as they were; a rerun over the
same period updates the same candidates (matched by members, then by question) and never
changes a reviewed candidate's status. Reviews are compare-and-set on the status and write a
`FaqCandidateChange` row in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
import time as clock
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from frontoffice.errors import ApplicationError, ConflictError
from frontoffice.validation import full_clean_or_400
from inquiries.faq import mining, selectors, statuses, vectors
from inquiries.models import (
    FaqCandidate,
    FaqCandidateChange,
    FaqCandidateMember,
    FaqCandidateStatus,
    FaqEntry,
    FaqMethod,
)

logger = logging.getLogger(__name__)

# Tuned on BANKING77 (bench/faq.py); FRONTOFFICE_FAQ_DISTANCE_THRESHOLD overrides them all.
# Larger thresholds give fewer, bigger groups, whose biggest (ranked first) mix several
# questions: 0.5 (TF-IDF) and 0.3 (embeddings) keep NMI near its best and most of the top 20
# about one intent, at the price of some questions split over two candidates (merge them, or
# accept one: the FAQ entry then flags the other as covered). TF-IDF vectors of a large corpus
# are reduced by SVD, which brings paraphrases closer; unreduced (up to 300 questions) 0.8 gave
# the best adjusted Rand index on samples of 300 questions of 20 intents.
DEFAULT_DISTANCE = {FaqMethod.TFIDF: 0.5, FaqMethod.EMBEDDINGS: 0.3}
UNREDUCED_TFIDF_DISTANCE = 0.8
REASON_MAX_LENGTH = 1000
# Serialises mining runs on PostgreSQL (SQLite transactions are IMMEDIATE: one writer anyway).
MINING_LOCK = 804_115_101
WRITE_BATCH = 2000


def distance_threshold_for(vectorizer) -> float:
    """The setting when given, else the default of the method (and of how its last fit went)."""
    configured = settings.FRONTOFFICE_FAQ_DISTANCE_THRESHOLD
    if configured is not None:
        return float(configured)
    if vectorizer.method == FaqMethod.TFIDF and not vectorizer.reduced:
        return UNREDUCED_TFIDF_DISTANCE
    return DEFAULT_DISTANCE[vectorizer.method]


@dataclass(frozen=True)
class BuildResult:
    since: date
    until: date
    method: str
    inquiries: int
    groups: int
    created: int
    updated: int
    removed: int
    covered: int
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values.update(since=self.since.isoformat(), until=self.until.isoformat())
        return values


@dataclass
class _Mined:
    """Everything computed before the write transaction."""

    questions: list[mining.Question]
    inquiry_ids: np.ndarray
    vectors: np.ndarray
    answers: Any
    groups: list[np.ndarray]
    summaries: list[mining.Summary]
    entry_ids: list[int]
    entry_vectors: np.ndarray
    vectorizer: Any
    threshold: float


def _mine(
    *, since: date, until: date, vectorizer, threshold: float | None, min_size: int
) -> _Mined:
    questions = selectors.period_questions(since=since, until=until)
    empty = np.zeros((0, 0), dtype=np.float32)
    matrix = vectorizer.fit_transform([q.text for q in questions]) if questions else empty
    threshold = threshold if threshold is not None else distance_threshold_for(vectorizer)
    answers = vectors.answer_vectors([q.answer for q in questions]) if questions else None
    groups = mining.group(matrix, distance_threshold=threshold, min_size=min_size)
    summaries = [
        mining.summarize(members, questions=questions, vectors=matrix, answers=answers)
        for members in groups
    ]
    entries = list(selectors.faq_entries_published().values_list("id", "question"))
    entry_vectors = empty
    if entries and groups:
        entry_vectors = vectorizer.transform([question for _id, question in entries])
    return _Mined(
        questions=questions,
        inquiry_ids=np.array([q.inquiry_id for q in questions], dtype=np.int64),
        vectors=matrix,
        answers=answers,
        groups=groups,
        summaries=summaries,
        entry_ids=[entry_id for entry_id, _question in entries],
        entry_vectors=entry_vectors,
        vectorizer=vectorizer,
        threshold=threshold,
    )


def _lock_mining() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [MINING_LOCK])


def _signature(inquiry_ids: np.ndarray, taken: set[str]) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(inquiry_ids.tolist()))).encode()).hexdigest()
    signature, number = digest[:40], 1
    while signature in taken:
        number += 1
        signature = f"{digest[:40]}-{number}"
    taken.add(signature)
    return signature


def _match(mined: _Mined, candidates: dict[int, FaqCandidate]) -> dict[int, int]:
    """{group index: existing candidate id}: by shared members, then by question."""
    own: dict[int, set[int]] = defaultdict(set)
    rows = FaqCandidateMember.objects.filter(merged_from__isnull=True).values_list(
        "candidate_id", "inquiry_id"
    )
    for candidate_id, inquiry_id in rows.iterator(chunk_size=10000):
        own[candidate_id].add(inquiry_id)
    member_sets = [set(mined.inquiry_ids[members].tolist()) for members in mined.groups]
    matched = mining.match_by_members(member_sets, dict(own))
    left_groups = [index for index in range(len(mined.groups)) if index not in matched]
    taken = set(matched.values())
    left_candidates = [pk for pk in candidates if pk not in taken]
    if left_groups and left_candidates:
        candidate_vectors = mined.vectorizer.transform(
            [candidates[pk].question for pk in left_candidates]
        )
        centres = np.stack([mined.summaries[index].centroid for index in left_groups])
        by_question = mining.match_by_question(
            centres, left_candidates, candidate_vectors, min_similarity=1 - mined.threshold
        )
        matched.update({left_groups[row]: pk for row, pk in by_question.items()})
    return matched


def _target(pk: int, candidates: dict[int, FaqCandidate]) -> int:
    """The candidate a merged one was (eventually) merged into."""
    seen = {pk}
    while candidates[pk].status == FaqCandidateStatus.MERGED:
        following = candidates[pk].merged_into_id
        if following is None or following not in candidates or following in seen:
            break
        pk = following
        seen.add(pk)
    return pk


MEMBER_COLUMNS = (
    "candidate_id",
    "inquiry_id",
    "question",
    "similarity",
    "is_representative",
    "handling_seconds",
    "merged_from_id",
)


def _member_rows(
    candidate_id: int, summary: mining.Summary, mined: _Mined, merged_from: dict[int, int | None]
) -> list[tuple]:
    """Membership rows (MEMBER_COLUMNS) of one candidate."""
    return [
        (
            candidate_id,
            int(mined.inquiry_ids[index]),
            mined.questions[index].text,
            round(float(similarity), 4),
            int(index) == summary.representative,
            mined.questions[index].handling_seconds,
            merged_from.get(int(index)),
        )
        for index, similarity in zip(summary.indices, summary.similarities, strict=True)
    ]


def _insert_members(rows: list[tuple]) -> None:
    """One prepared INSERT run for every row: bulk_create spends most of a 100,000-row run
    building model instances and 999-parameter statements on SQLite."""
    quote = connection.ops.quote_name
    table = quote(FaqCandidateMember._meta.db_table)
    columns = ", ".join(quote(column) for column in MEMBER_COLUMNS)
    values = ", ".join(["%s"] * len(MEMBER_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({values})"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_BATCH * 10):
            cursor.executemany(sql, rows[start : start + WRITE_BATCH * 10])


def _figures(summary: mining.Summary, mined: _Mined, covering, *, reviewed: bool) -> dict:
    figures: dict[str, Any] = {
        "volume": summary.volume,
        "total_handling_seconds": summary.total_handling_seconds,
        "confidence": min(1.0, max(0.0, summary.confidence)),
    }
    if not reviewed:
        entry, similarity = covering or (None, None)
        figures.update(
            question=summary.question,
            draft_answer=summary.draft_answer,
            category=summary.category[:100],
            representative_id=int(mined.inquiry_ids[summary.representative]),
            covered_by_id=mined.entry_ids[entry] if entry is not None else None,
            coverage_similarity=round(similarity, 4) if similarity is not None else None,
        )
    return figures


def _rerank() -> None:
    """Ranks 1..n over the new candidates: not covered first, then volume, handling time."""
    rows = FaqCandidate.objects.filter(status=FaqCandidateStatus.NEW).values_list(
        "id", "volume", "total_handling_seconds", "covered_by_id", "rank"
    )
    ordered = sorted(
        rows, key=lambda row: mining.rank_key(row[1], row[2], row[3] is not None, row[0])
    )
    changed = [
        FaqCandidate(pk=row[0], rank=position)
        for position, row in enumerate(ordered, start=1)
        if row[4] != position
    ]
    FaqCandidate.objects.bulk_update(changed, ["rank"], batch_size=WRITE_BATCH)


def _write(mined: _Mined, *, since: date, until: date, method: str) -> tuple[int, int, int, int]:
    """Creates, updates and removes candidates; returns (created, updated, removed, covered)."""
    now = timezone.now()
    # Locked: a review that starts now waits for this run (and then sees its figures).
    locked = FaqCandidate.objects.select_for_update().order_by("id")
    candidates = {candidate.pk: candidate for candidate in locked}
    matched = _match(mined, candidates)
    # Groups of a candidate merged into another count for that other one too.
    by_target: dict[int, list[int]] = defaultdict(list)
    for index, pk in sorted(matched.items()):
        by_target[_target(pk, candidates)].append(index)

    members: list[tuple] = []
    updates: list[FaqCandidate] = []
    covered = 0
    threshold = 1 - mined.threshold

    def covering_of(summary: mining.Summary):
        return mining.covering_entries(
            summary.centroid[None, :], mined.entry_vectors, min_similarity=threshold
        )[0]

    for pk, indices in by_target.items():
        summary = (
            mined.summaries[indices[0]]
            if len(indices) == 1
            else mining.summarize(
                np.sort(np.concatenate([mined.groups[index] for index in indices])),
                questions=mined.questions,
                vectors=mined.vectors,
                answers=mined.answers,
            )
        )
        candidate = candidates[pk]
        reviewed = candidate.status != FaqCandidateStatus.NEW
        covering = covering_of(summary) if not reviewed else None
        covered += covering is not None
        for field, value in _figures(summary, mined, covering, reviewed=reviewed).items():
            setattr(candidate, field, value)
        candidate.method, candidate.period_start, candidate.period_end = method, since, until
        candidate.mined_at = candidate.updated_at = now
        updates.append(candidate)
        origin = {}
        for index in indices:
            via = matched[index]
            for question in mined.groups[index]:
                origin[int(question)] = via if via != pk else None
        members += _member_rows(pk, summary, mined, origin)
        # A merged candidate keeps its own members (and figures) too.
        for index in indices:
            via = matched[index]
            if via == pk:
                continue
            own = mined.summaries[index]
            merged = candidates[via]
            merged.volume = own.volume
            merged.total_handling_seconds = own.total_handling_seconds
            merged.confidence = min(1.0, max(0.0, own.confidence))
            merged.period_start, merged.period_end, merged.mined_at = since, until, now
            merged.updated_at = now
            updates.append(merged)
            members += _member_rows(via, own, mined, {})

    signatures = {candidate.signature for candidate in candidates.values()}
    created: list[FaqCandidate] = []
    new_summaries: list[mining.Summary] = []
    for index, summary in enumerate(mined.summaries):
        if index in matched:
            continue
        covering = covering_of(summary)
        covered += covering is not None
        created.append(
            FaqCandidate(
                signature=_signature(mined.inquiry_ids[summary.indices], signatures),
                method=method,
                period_start=since,
                period_end=until,
                mined_at=now,
                created_at=now,
                **_figures(summary, mined, covering, reviewed=False),
            )
        )
        new_summaries.append(summary)

    touched = {candidate.pk for candidate in updates}
    FaqCandidateMember.objects.filter(candidate_id__in=touched).delete()
    FaqCandidate.objects.bulk_update(
        updates,
        [
            "question",
            "draft_answer",
            "category",
            "representative",
            "covered_by",
            "coverage_similarity",
            "volume",
            "total_handling_seconds",
            "confidence",
            "method",
            "period_start",
            "period_end",
            "mined_at",
            "updated_at",
        ],
        batch_size=WRITE_BATCH,
    )
    FaqCandidate.objects.bulk_create(created, batch_size=WRITE_BATCH)
    for candidate, summary in zip(created, new_summaries, strict=True):
        members += _member_rows(candidate.pk, summary, mined, {})
    _insert_members(members)
    # New candidates of exactly this period that no group produced any more are stale (unless
    # another candidate was merged into them).
    _total, deleted = (
        FaqCandidate.objects.filter(
            status=FaqCandidateStatus.NEW, period_start=since, period_end=until
        )
        .exclude(pk__in=touched | {candidate.pk for candidate in created})
        .exclude(merged_candidates__isnull=False)
        .delete()
    )
    _rerank()
    return len(created), len(touched), deleted.get(FaqCandidate._meta.label, 0), covered


def faq_candidates_build(
    *,
    since: date,
    until: date,
    method: str | None = None,
    distance_threshold: float | None = None,
    min_group_size: int | None = None,
) -> BuildResult:
    """Mine the inquiries opened from `since` to `until` (both days included) into FAQ
    candidates. Idempotent: a rerun updates the same candidates. Refuses (ApplicationError)
    an inverted period or an unknown method; EmbeddingsUnavailableError when embeddings are
    asked for and not installed."""
    if since > until:
        message = "The period ends before it starts."
        raise ApplicationError(message, errors={"until": [message]})
    method = method or settings.FRONTOFFICE_FAQ_METHOD
    if method not in FaqMethod.values:
        message = f"Unknown method {method!r}; use one of {', '.join(FaqMethod.values)}."
        raise ApplicationError(message, errors={"method": [message]})
    threshold = distance_threshold
    if threshold is None and settings.FRONTOFFICE_FAQ_DISTANCE_THRESHOLD is not None:
        threshold = float(settings.FRONTOFFICE_FAQ_DISTANCE_THRESHOLD)
    if threshold is not None and not 0 < threshold < 2:
        message = "The distance threshold is a cosine distance between 0 and 2."
        raise ApplicationError(message, errors={"distance_threshold": [message]})
    min_size = min_group_size or settings.FRONTOFFICE_FAQ_MIN_GROUP_SIZE
    started = clock.monotonic()
    vectorizer = vectors.vectors_for(method)
    mined = _mine(
        since=since, until=until, vectorizer=vectorizer, threshold=threshold, min_size=min_size
    )
    with transaction.atomic():
        _lock_mining()
        created, updated, removed, covered = _write(mined, since=since, until=until, method=method)
    result = BuildResult(
        since=since,
        until=until,
        method=method,
        inquiries=len(mined.questions),
        groups=len(mined.groups),
        created=created,
        updated=updated,
        removed=removed,
        covered=covered,
        seconds=round(clock.monotonic() - started, 2),
    )
    logger.info("FAQ candidates built: %s", result.as_dict())
    return result


# --- Review -------------------------------------------------------------------------------------


def _move(
    candidate: FaqCandidate, *, to_status: str, actor, note: str = "", **fields: Any
) -> FaqCandidateChange:
    """Compare-and-set from the status the caller saw, and the history row. Call inside a
    transaction."""
    from_status = candidate.status
    if not statuses.can_move(from_status, to_status, has_reason=bool(note.strip())):
        if statuses.needs_reason(from_status, to_status):
            message = "Give a reason."
            raise ApplicationError(message, errors={"reason": [message]})
        message = f"This candidate is {from_status}; only new candidates are reviewed."
        raise ConflictError(message, errors={"status": [message]})
    now = timezone.now()
    changed = FaqCandidate.objects.filter(pk=candidate.pk, status=from_status).update(
        status=to_status, rank=None, updated_at=now, **fields
    )
    if changed != 1:
        message = "Someone reviewed this candidate meanwhile; reload it."
        raise ConflictError(message, errors={"status": [message]})
    candidate.status, candidate.rank = to_status, None
    for field, value in fields.items():
        setattr(candidate, field, value)
    return FaqCandidateChange.objects.create(
        candidate=candidate,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        note=note,
        created_at=now,
    )


def _text(value: str | None, field: str, *, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        message = "This field may not be blank."
        raise ApplicationError(message, errors={field: [message]})
    if len(value) > max_length:
        message = f"At most {max_length} characters."
        raise ApplicationError(message, errors={field: [message]})
    return value


def faq_entry_create(
    *,
    question: str,
    answer: str,
    category: str = "",
    is_published: bool = True,
    actor=None,
    source_candidate: FaqCandidate | None = None,
) -> FaqEntry:
    """A new FAQ entry (published unless said otherwise)."""
    now = timezone.now()
    entry = FaqEntry(
        question=_text(question, "question", max_length=500),
        answer=_text(answer, "answer", max_length=20000),
        category=_text(category, "category", max_length=100, required=False),
        is_published=is_published,
        source_candidate=source_candidate,
        created_by=actor,
        published_at=now if is_published else None,
        created_at=now,
    )
    entry.search_text = selectors.faq_search_text(entry.question, entry.answer)
    full_clean_or_400(entry, exclude=["source_candidate", "created_by"])
    entry.save()
    return entry


FAQ_ENTRY_FIELDS = ("question", "answer", "category", "is_published")


def faq_entry_update(*, entry: FaqEntry, **changes: Any) -> FaqEntry:
    """Edit an entry's question, answer, category or publication."""
    unknown = set(changes) - set(FAQ_ENTRY_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", errors={name: ["Unknown field."] for name in sorted(unknown)}
        )
    if "question" in changes:
        changes["question"] = _text(changes["question"], "question", max_length=500)
    if "answer" in changes:
        changes["answer"] = _text(changes["answer"], "answer", max_length=20000)
    if "category" in changes:
        changes["category"] = _text(changes["category"], "category", max_length=100, required=False)
    for field, value in changes.items():
        setattr(entry, field, value)
    if entry.is_published and entry.published_at is None:
        entry.published_at = timezone.now()
    entry.search_text = selectors.faq_search_text(entry.question, entry.answer)
    full_clean_or_400(entry)
    entry.save()
    return entry


def faq_candidate_accept(
    *,
    candidate: FaqCandidate,
    actor=None,
    question: str | None = None,
    answer: str | None = None,
    category: str | None = None,
) -> FaqEntry:
    """Publish the candidate as an FAQ entry, with the question and answer as edited (the
    representative question and draft answer when not given). The candidate is accepted and
    covered by the new entry."""
    question = _text(
        candidate.question if question is None else question, "question", max_length=500
    )
    answer = _text(candidate.draft_answer if answer is None else answer, "answer", max_length=20000)
    category = candidate.category if category is None else category
    with transaction.atomic():
        entry = faq_entry_create(
            question=question,
            answer=answer,
            category=category,
            actor=actor,
            source_candidate=candidate,
        )
        _move(
            candidate,
            to_status=FaqCandidateStatus.ACCEPTED,
            actor=actor,
            note=f"published as FAQ entry #{entry.pk}",
            question=question,
            draft_answer=answer,
            category=entry.category,
            covered_by=entry,
            coverage_similarity=1.0,
        )
    return entry


def faq_candidate_reject(*, candidate: FaqCandidate, reason: str, actor=None) -> FaqCandidateChange:
    """Reject the candidate with a reason; later mining runs keep it rejected."""
    reason = _text(reason, "reason", max_length=REASON_MAX_LENGTH)
    with transaction.atomic():
        return _move(
            candidate,
            to_status=FaqCandidateStatus.REJECTED,
            actor=actor,
            note=reason,
            reason=reason,
        )


def faq_candidate_merge(
    *, candidate: FaqCandidate, other: FaqCandidate, actor=None, note: str = ""
) -> FaqCandidate:
    """Merge `other` into `candidate` (both new): its inquiries join the candidate's members
    (marked as merged from it), the candidate's volume and handling time grow, `other` is
    merged (and its own group keeps pointing here in later runs)."""
    if other.pk == candidate.pk:
        message = "A candidate cannot be merged into itself."
        raise ApplicationError(message, errors={"other": [message]})
    if candidate.status != FaqCandidateStatus.NEW:
        message = f"This candidate is {candidate.status}; merge into a new candidate."
        raise ConflictError(message, errors={"status": [message]})
    note = (note or "").strip() or f"merged into #{candidate.pk}"
    with transaction.atomic():
        # Lock the survivor so a concurrent review waits for the merge (or the merge sees it).
        locked = FaqCandidate.objects.select_for_update().filter(
            pk=candidate.pk, status=FaqCandidateStatus.NEW
        )
        if not locked.exists():
            message = "Someone reviewed this candidate meanwhile; reload it."
            raise ConflictError(message, errors={"status": [message]})
        _move(
            other,
            to_status=FaqCandidateStatus.MERGED,
            actor=actor,
            note=note,
            merged_into=candidate,
        )
        present = set(
            FaqCandidateMember.objects.filter(candidate=candidate).values_list(
                "inquiry_id", flat=True
            )
        )
        copies = [
            FaqCandidateMember(
                candidate=candidate,
                inquiry_id=row.inquiry_id,
                question=row.question,
                similarity=row.similarity,
                is_representative=False,
                handling_seconds=row.handling_seconds,
                merged_from_id=row.merged_from_id or other.pk,
            )
            for row in FaqCandidateMember.objects.filter(candidate=other)
            if row.inquiry_id not in present
        ]
        FaqCandidateMember.objects.bulk_create(copies, batch_size=WRITE_BATCH)
        totals = FaqCandidateMember.objects.filter(candidate=candidate).aggregate(
            volume=Count("id"), seconds=Sum("handling_seconds")
        )
        FaqCandidate.objects.filter(pk=candidate.pk).update(
            volume=totals["volume"],
            total_handling_seconds=totals["seconds"] or 0,
            updated_at=timezone.now(),
        )
        _rerank()
    candidate.refresh_from_db()
    return candidate
