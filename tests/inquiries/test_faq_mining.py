"""The pure parts of FAQ mining: grouping without a given number of groups (exact and through
micro-groups), a group's proposal, coverage, matching a rerun's groups to earlier candidates,
the ranking and the review state machine. No database."""

from __future__ import annotations

import numpy as np
import pytest

from inquiries.faq import mining, statuses, vectors
from inquiries.faq.mining import Question


def _unit(rows) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _clusters(sizes: list[int], dimensions: int = 12, noise: float = 0.15, seed: int = 7):
    rng = np.random.default_rng(seed)
    centres = np.eye(dimensions)[: len(sizes)]
    rows, labels = [], []
    for label, size in enumerate(sizes):
        rows.append(centres[label] + noise * rng.standard_normal((size, dimensions)))
        labels += [label] * size
    return _unit(np.vstack(rows)), np.array(labels)


def _as_sets(groups) -> list[set[int]]:
    return [set(map(int, members)) for members in groups]


def test_it_finds_the_number_of_groups_from_the_data():
    points, labels = _clusters([5, 4, 6])

    groups = mining.group(points, distance_threshold=0.5, min_size=1)

    assert _as_sets(groups) == [set(np.flatnonzero(labels == label)) for label in range(3)]


def test_it_leaves_out_groups_smaller_than_the_minimum_and_rows_without_features():
    points, _labels = _clusters([5, 2])
    points = np.vstack([points, np.zeros((1, points.shape[1]), dtype=np.float32)])

    groups = mining.group(points, distance_threshold=0.5, min_size=3)

    assert _as_sets(groups) == [{0, 1, 2, 3, 4}]


def test_it_groups_through_micro_groups_above_the_exact_limit(monkeypatch):
    monkeypatch.setattr(mining, "MAX_MICRO_GROUPS", 30)
    points, labels = _clusters([60, 50, 40, 45], seed=3)

    groups = mining.group(points, distance_threshold=0.5, min_size=3)

    assert _as_sets(groups) == [set(np.flatnonzero(labels == label)) for label in range(4)]


def test_it_groups_paraphrases_with_tfidf_vectors_in_two_languages():
    texts = [
        "How do I reset my password?",
        "I forgot my password, how can I reset it?",
        "Can't remember my password, I need to reset it",
        "パスワードを忘れてしまいました。再設定の方法を教えてください。",
        "パスワードの再設定はどうすればいいですか？",  # noqa: RUF001
        "ログインのパスワードを忘れたので再設定したいです。",
    ]
    matrix = vectors.TfidfVectors().fit_transform(texts)

    groups = mining.group(matrix, distance_threshold=0.8, min_size=2)

    assert _as_sets(groups) == [{0, 1, 2}, {3, 4, 5}]


def _questions(answers: list[str], *, good: list[bool] | None = None, categories=None):
    good = good or [True] * len(answers)
    categories = categories or [""] * len(answers)
    return [
        Question(
            inquiry_id=100 + index,
            text=f"question {index}",
            answer=answer,
            handling_seconds=60 * (index + 1),
            category=categories[index],
            resolved_for_good=good[index],
        )
        for index, answer in enumerate(answers)
    ]


def test_it_proposes_the_most_central_question_and_the_most_typical_answer():
    points = _unit([[1, 0.3], [1, 0.0], [1, -0.25], [1, 0.6]])
    answers = [
        "Reset it in Settings > Security.",
        "Reset it in Settings > Security.",
        "Call us.",
        "Reset it in Settings > Security, then sign in.",
    ]
    questions = _questions(answers, categories=["Login", "Login", "Account", ""])

    summary = mining.summarize(
        np.arange(4), questions=questions, vectors=points, answers=vectors.answer_vectors(answers)
    )

    centre = points.mean(axis=0) / np.linalg.norm(points.mean(axis=0))
    assert summary.representative == int(np.argmax(points @ centre)) == 0
    assert summary.question == "question 0"
    assert (summary.answer_index, summary.draft_answer) == (0, answers[0])
    assert (summary.category, summary.volume, summary.total_handling_seconds) == ("Login", 4, 600)
    assert summary.similarities.tolist() == pytest.approx((points @ centre).tolist(), abs=1e-6)


def test_it_prefers_an_answer_that_resolved_its_inquiry_for_good():
    points = _unit([[1, 0.1], [1, 0.0], [1, -0.1]])
    answers = ["Restart the app.", "Restart the app.", "Update, then restart the app."]
    questions = _questions(answers, good=[False, False, True])

    summary = mining.summarize(
        np.arange(3), questions=questions, vectors=points, answers=vectors.answer_vectors(answers)
    )

    assert summary.draft_answer == "Update, then restart the app."


def test_its_confidence_is_cohesion_times_half_plus_half_answer_agreement():
    points = _unit([[1, 0], [1, 0], [0, 1]])
    same = ["Same answer.", "Same answer.", "Same answer."]
    no_answers = ["", "", ""]

    agreeing = mining.summarize(
        np.arange(3),
        questions=_questions(same),
        vectors=points,
        answers=vectors.answer_vectors(same),
    )
    silent = mining.summarize(
        np.arange(3),
        questions=_questions(no_answers),
        vectors=points,
        answers=vectors.answer_vectors(no_answers),
    )

    cohesion = float(np.mean(points @ (points.mean(axis=0) / np.linalg.norm(points.mean(axis=0)))))
    assert agreeing.confidence == pytest.approx(round(cohesion * 1.0, 4))
    assert silent.confidence == pytest.approx(round(cohesion * 0.5, 4))
    assert (silent.draft_answer, silent.answer_index) == ("", None)


def test_it_finds_the_entry_covering_a_group_above_the_similarity():
    centres = _unit([[1, 0, 0], [0, 1, 0]])
    entries = _unit([[0.9, 0.1, 0], [0, 0, 1]])

    covering = mining.covering_entries(centres, entries, min_similarity=0.5)

    assert covering[0] == (0, pytest.approx(float(entries[0] @ centres[0])))
    assert covering[1] is None
    assert mining.covering_entries(centres, np.zeros((0, 3)), min_similarity=0.5) == [None, None]


def test_it_matches_groups_to_candidates_sharing_half_their_members_one_to_one():
    groups = [{1, 2, 3, 4}, {5, 6, 7}, {8, 9}, {1, 2, 10, 11, 12, 13}]
    candidates = {
        10: {1, 2, 3},  # 3 of the smaller 3: matches group 0
        20: {5, 99, 98, 97},  # 1 of the smaller 3: below half
        30: {8, 9, 20},  # 2 of the smaller 2
    }

    matched = mining.match_by_members(groups, candidates)

    assert matched == {0: 10, 2: 30}


def test_it_matches_left_over_groups_to_candidates_by_question():
    centres = _unit([[1, 0], [0, 1], [1, 1]])
    candidate_vectors = _unit([[1, 0.05], [1, 0.9]])

    matched = mining.match_by_question(centres, [41, 42], candidate_vectors, min_similarity=0.9)

    assert matched == {0: 41, 2: 42}


def test_it_ranks_uncovered_first_then_by_volume_then_handling_time():
    rows = [
        ("covered, biggest", 50, 10, True, 1),
        ("small", 3, 99999, False, 2),
        ("big, quick", 10, 100, False, 3),
        ("big, slow", 10, 5000, False, 4),
    ]

    ordered = sorted(rows, key=lambda row: mining.rank_key(row[1], row[2], row[3], row[4]))

    assert [row[0] for row in ordered] == ["big, slow", "big, quick", "small", "covered, biggest"]


@pytest.mark.parametrize(
    ("from_status", "to_status", "has_reason", "allowed"),
    [
        ("new", "accepted", False, True),
        ("new", "rejected", False, False),
        ("new", "rejected", True, True),
        ("new", "merged", False, True),
        ("rejected", "new", True, False),
        ("accepted", "rejected", True, False),
        ("merged", "accepted", False, False),
    ],
)
def test_the_review_moves(from_status, to_status, has_reason, allowed):
    assert statuses.can_move(from_status, to_status, has_reason=has_reason) is allowed


def test_only_new_candidates_have_moves():
    assert statuses.allowed_moves("new") == ["accepted", "rejected", "merged"]
    assert statuses.allowed_moves("rejected") == []
