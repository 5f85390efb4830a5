"""Grouping questions that ask the same thing, and what each group proposes. No database.

**Grouping** (`group`). The number of groups comes from the data: average-linkage
agglomerative clustering on cosine distance, cut where the mean distance between two groups'
questions passes ``distance_threshold`` (``FRONTOFFICE_FAQ_DISTANCE_THRESHOLD``, default per
method, tuned on BANKING77). The full linkage needs every pair of questions, which does not fit
at 100,000 (40 GB), so above ``MAX_MICRO_GROUPS`` questions it runs on the centres of
mini-batch k-means micro-groups (an over-clustering, about 50 questions each at 100,000) and each
question joins its micro-group's group. Before that, each vector is smoothed towards its ten
nearest neighbours (weighted by similarity; searched among the members of the five closest
micro-groups, or among all questions up to the limit; none below 40 questions), which takes
the noise out of short texts: on BANKING77 it gives about +0.01 NMI for both methods. Groups
smaller than ``min_size`` are no candidates.

**A group's proposal** (`summarize`). The representative question is the most central one (the
highest cosine to the group's mean vector), not a random member. The draft answer is the most
typical resolving answer: the one closest to the mean of the group's answers, chosen among the
answers that resolved their inquiry for good (never reopened) when there are any. Confidence is
cohesion (the members' mean cosine to the centre) times (1 + answer agreement) / 2 (the answers'
mean cosine to their own centre; 0 without answers): alike questions with alike answers score
near 1. Category: the most frequent category of the members.

**Coverage** (`covering_entries`): a group is covered by the published FAQ entry whose question
is closest to the group's centre, when that similarity reaches 1 - distance threshold (the same
"asks the same thing" as the grouping).

**Reruns** (`match_by_members`, `match_by_question`): groups are matched one-to-one to earlier
candidates by shared member inquiries (at least half of the smaller set), then, for groups left
over, by the earlier candidate's question (similarity >= 1 - distance threshold), so a rerun
updates them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_MICRO_GROUPS = 2000
MICRO_BATCH_SIZE = 4096
MICRO_EPOCHS = 10
RANDOM_STATE = 0
SMOOTHING_NEIGHBOURS = 10
SMOOTHING_PROBES = 5
MEMBER_SHARE_TO_MATCH = 0.5
QUESTION_MAX_LENGTH = 500


@dataclass(frozen=True)
class Question:
    """One inquiry as the miner reads it."""

    inquiry_id: int
    text: str
    answer: str = ""
    handling_seconds: int = 0
    category: str = ""
    # Resolved and never reopened: its answer settled the question.
    resolved_for_good: bool = False


@dataclass(frozen=True)
class AnswerVectors:
    """Unit vectors of the distinct answers (`matrix`, sparse) and, per question, its answer's
    row (-1: no answer). Distinct, because most answers are saved replies given many times."""

    matrix: Any
    row: np.ndarray


@dataclass(frozen=True)
class Summary:
    """What one group proposes. `indices` point into the mined questions."""

    indices: np.ndarray
    similarities: np.ndarray
    representative: int
    question: str
    draft_answer: str
    answer_index: int | None
    category: str
    volume: int
    total_handling_seconds: int
    confidence: float
    centroid: np.ndarray


def _labels_by_linkage(points: np.ndarray, distance_threshold: float) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(points) == 1:
        return np.zeros(1, dtype=np.int64)
    tree = linkage(points.astype(np.float64), method="average", metric="cosine")
    return fcluster(tree, t=distance_threshold, criterion="distance") - 1


def _micro_groups(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mini-batch k-means over-clustering: (unit centres of the non-empty micro-groups, the
    micro-group of each vector)."""
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.preprocessing import normalize

    kmeans = MiniBatchKMeans(
        n_clusters=MAX_MICRO_GROUPS,
        batch_size=MICRO_BATCH_SIZE,
        max_iter=MICRO_EPOCHS,
        n_init=1,
        random_state=RANDOM_STATE,
        init="random",
        reassignment_ratio=0.001,
    )
    assignment = kmeans.fit_predict(vectors)
    used, assignment = np.unique(assignment, return_inverse=True)
    return normalize(kmeans.cluster_centers_[used]), assignment


def _neighbours(count: int) -> int:
    # A handful of questions has no noise to average away, only other groups to blur into.
    return min(SMOOTHING_NEIGHBOURS, count // 20)


def _nearest(own: np.ndarray, pool: np.ndarray, neighbours: int):
    """For each row of `own`: the positions in `pool` of its `neighbours` most similar rows
    (itself included when it is in the pool) and their weights (similarity / count, never
    negative)."""
    scores = own @ pool.T
    count = min(neighbours, len(pool))
    nearest = np.argpartition(-scores, count - 1, axis=1)[:, :count]
    weights = np.clip(np.take_along_axis(scores, nearest, axis=1), 0.0, None) / count
    return nearest, weights


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _smoothed(points: np.ndarray, rows, columns, weights) -> np.ndarray:
    """Each point plus the weighted sum of its neighbours (one sparse product), unit length."""
    from scipy import sparse

    shape = (len(points), len(points))
    weighted = sparse.csr_matrix((weights, (rows, columns)), shape=shape, dtype=np.float32)
    return _unit_rows(points + weighted @ points)


def _smooth_exactly(points: np.ndarray) -> np.ndarray:
    neighbours = _neighbours(len(points))
    if neighbours < 2:
        return points
    nearest, weights = _nearest(points, points, neighbours)
    rows = np.repeat(np.arange(len(points)), nearest.shape[1])
    return _smoothed(points, rows, nearest.ravel(), weights.ravel())


def _smooth_by_micro_groups(
    points: np.ndarray, centres: np.ndarray, assignment: np.ndarray
) -> np.ndarray:
    """Smoothing where the neighbours are searched among the members of the question's
    micro-group and of the micro-groups whose centres are closest to it."""
    neighbours = _neighbours(len(points))
    if neighbours < 2:
        return points
    probes = min(SMOOTHING_PROBES, len(centres))
    closest = np.argpartition(-(centres @ centres.T), probes - 1, axis=1)[:, :probes]
    order = np.argsort(assignment, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(assignment[order])) + 1)
    rows, columns, weights = [], [], []
    for micro_group, own in enumerate(members):
        pool = np.concatenate([members[other] for other in closest[micro_group]])
        nearest, weight = _nearest(points[own], points[pool], neighbours)
        rows.append(np.repeat(own, nearest.shape[1]))
        columns.append(pool[nearest].ravel())
        weights.append(weight.ravel())
    return _smoothed(points, np.concatenate(rows), np.concatenate(columns), np.concatenate(weights))


def _centres(points: np.ndarray, assignment: np.ndarray, count: int) -> np.ndarray:
    """The unit mean of each micro-group's points (one sparse product)."""
    from scipy import sparse

    indicator = sparse.csr_matrix(
        (np.ones(len(points), dtype=np.float32), (assignment, np.arange(len(points)))),
        shape=(count, len(points)),
    )
    return _unit_rows(indicator @ points)


def group(vectors: np.ndarray, *, distance_threshold: float, min_size: int) -> list[np.ndarray]:
    """Indices of the questions of each group of at least `min_size`, each sorted, groups in
    the order of their first question. Rows of zeros (a text with no feature) stay alone."""
    if len(vectors) == 0:
        return []
    nonzero = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 0)
    if len(nonzero) == 0:
        return []
    points = vectors[nonzero]
    if len(points) <= MAX_MICRO_GROUPS:
        labels = _labels_by_linkage(_smooth_exactly(points), distance_threshold)
    else:
        centres, assignment = _micro_groups(points)
        smoothed = _smooth_by_micro_groups(points, centres, assignment)
        centres = _centres(smoothed, assignment, len(centres))
        labels = _labels_by_linkage(centres, distance_threshold)[assignment]
    order = np.argsort(labels, kind="stable")
    boundaries = np.flatnonzero(np.diff(labels[order])) + 1
    groups = [nonzero[np.sort(part)] for part in np.split(order, boundaries)]
    groups = [members for members in groups if len(members) >= min_size]
    return sorted(groups, key=lambda members: int(members[0]))


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summarize(
    indices: np.ndarray,
    *,
    questions: Sequence[Question],
    vectors: np.ndarray,
    answers: AnswerVectors,
) -> Summary:
    """The proposal of the group of `indices` (see the module docstring)."""
    indices = np.asarray(indices)
    members = vectors[indices]
    centre = members.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    centre = centre / norm if norm else centre
    similarity = np.clip(members @ centre, -1.0, 1.0).astype(np.float32)
    representative = int(indices[int(np.argmax(similarity))])
    cohesion = float(np.clip(similarity.mean(), 0.0, 1.0))

    answered = [int(i) for i in indices if answers.row[int(i)] >= 0]
    answer_index, agreement = None, 0.0
    if answered:
        rows = answers.matrix[answers.row[answered]]
        answer_centre = np.asarray(rows.mean(axis=0)).ravel()
        centre_norm = float(np.linalg.norm(answer_centre))
        if centre_norm:
            answer_centre /= centre_norm
        typicality = np.asarray(rows @ answer_centre).ravel()
        agreement = float(np.clip(typicality.mean(), 0.0, 1.0))
        settled = [k for k, i in enumerate(answered) if questions[i].resolved_for_good]
        pool = settled or list(range(len(answered)))
        best = max(pool, key=lambda k: (round(float(typicality[k]), 6), -answered[k]))
        answer_index = answered[best]

    categories = Counter(questions[int(i)].category for i in indices if questions[int(i)].category)
    category = min(categories, key=lambda name: (-categories[name], name)) if categories else ""
    return Summary(
        indices=indices,
        similarities=similarity,
        representative=representative,
        question=_shorten(questions[representative].text, QUESTION_MAX_LENGTH),
        draft_answer=questions[answer_index].answer if answer_index is not None else "",
        answer_index=answer_index,
        category=category,
        volume=len(indices),
        total_handling_seconds=sum(questions[int(i)].handling_seconds for i in indices),
        confidence=round(cohesion * (0.5 + 0.5 * agreement), 4),
        centroid=centre.astype(np.float32),
    )


def covering_entries(
    centroids: np.ndarray, entry_vectors: np.ndarray, *, min_similarity: float
) -> list[tuple[int, float] | None]:
    """For each group centre, (index of the closest FAQ entry, similarity) when it reaches
    `min_similarity`, else None."""
    if len(centroids) == 0:
        return []
    if len(entry_vectors) == 0:
        return [None] * len(centroids)
    scores = centroids @ entry_vectors.T
    best = scores.argmax(axis=1)
    return [
        (int(best[row]), float(scores[row, best[row]]))
        if scores[row, best[row]] >= min_similarity
        else None
        for row in range(len(centroids))
    ]


def match_by_members(groups: Sequence[set[int]], candidates: dict[int, set[int]]) -> dict[int, int]:
    """{group index: candidate id} for groups sharing at least half of the smaller member set
    with an earlier candidate; one-to-one, largest overlaps first (ties: lower ids)."""
    by_inquiry: dict[int, list[int]] = {}
    for candidate_id, inquiry_ids in candidates.items():
        for inquiry_id in inquiry_ids:
            by_inquiry.setdefault(inquiry_id, []).append(candidate_id)
    pairs = []
    for index, members in enumerate(groups):
        shared = Counter(c for inquiry_id in members for c in by_inquiry.get(inquiry_id, ()))
        for candidate_id, overlap in shared.items():
            smaller = min(len(members), len(candidates[candidate_id]))
            if overlap >= MEMBER_SHARE_TO_MATCH * smaller:
                pairs.append((-overlap, index, candidate_id))
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for _overlap, index, candidate_id in sorted(pairs):
        if index not in matched and candidate_id not in taken:
            matched[index] = candidate_id
            taken.add(candidate_id)
    return matched


def match_by_question(
    centroids: np.ndarray,
    candidate_ids: Sequence[int],
    candidate_vectors: np.ndarray,
    *,
    min_similarity: float,
) -> dict[int, int]:
    """{row of `centroids`: candidate id} for group centres close enough to an earlier
    candidate's question; one-to-one, most similar first."""
    if len(centroids) == 0 or len(candidate_ids) == 0:
        return {}
    scores = centroids @ candidate_vectors.T
    rows, columns = np.nonzero(scores >= min_similarity)
    order = sorted(zip(rows, columns, strict=True), key=lambda rc: (-scores[rc], rc))
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for row, column in order:
        if int(row) not in matched and int(column) not in taken:
            matched[int(row)] = candidate_ids[int(column)]
            taken.add(int(column))
    return matched


def rank_key(volume: int, total_handling_seconds: int, covered: bool, tiebreak: int):
    """Ranking: not yet covered by the FAQ first, then by volume, then total handling time."""
    return (covered, -volume, -total_handling_seconds, tiebreak)
