"""The deal stage rules as a pure state machine: every pair of stages, no database."""

from __future__ import annotations

import itertools

import pytest

from pipeline import deal_stages
from pipeline.deal_stages import Move, allowed_moves, can_transition, classify_move
from pipeline.models import DealStage

STAGES = ["list", "proposal", "opportunity", "quote", "won", "lost"]
F, B, LOSE, REOPEN = Move.FORWARD, Move.BACKWARD, Move.LOSE, Move.REOPEN

# From won or lost: back to an open stage is a reopen; closed to closed is no move.
CLOSED_ROW = {stage: REOPEN for stage in STAGES[:4]} | {"won": None, "lost": None}
# MOVES[from][to]; None: no move at all (same stage, or closed to closed).
MOVES: dict[str, dict[str, str | None]] = {
    "list": {"list": None, "proposal": F, "opportunity": F, "quote": F, "won": F, "lost": LOSE},
    "proposal": {"list": B, "proposal": None, "opportunity": F, "quote": F, "won": F, "lost": LOSE},
    "opportunity": {
        "list": B,
        "proposal": B,
        "opportunity": None,
        "quote": F,
        "won": F,
        "lost": LOSE,
    },
    "quote": {"list": B, "proposal": B, "opportunity": B, "quote": None, "won": F, "lost": LOSE},
    "won": CLOSED_ROW,
    "lost": CLOSED_ROW,
}
PAIRS = list(itertools.product(STAGES, STAGES))


def test_the_table_covers_every_stage_of_the_model():
    assert sorted(STAGES) == sorted(DealStage.values)
    assert sorted(MOVES) == sorted(STAGES)


@pytest.mark.parametrize(("from_stage", "to_stage"), PAIRS)
def test_it_classifies_every_pair_of_stages(from_stage, to_stage):
    assert classify_move(from_stage, to_stage) == MOVES[from_stage][to_stage]


@pytest.mark.parametrize(("from_stage", "to_stage"), PAIRS)
def test_a_reason_is_needed_exactly_for_backward_lost_and_reopen(from_stage, to_stage):
    move = MOVES[from_stage][to_stage]

    without_reason = can_transition(from_stage, to_stage, has_reason=False)
    with_reason = can_transition(from_stage, to_stage, has_reason=True)

    assert with_reason is (move is not None)
    assert without_reason is (move == F)


@pytest.mark.parametrize(
    ("from_stage", "to_stage"),
    [("", "list"), ("list", ""), ("list", "order"), ("closed", "list"), ("LIST", "proposal")],
)
def test_unknown_stages_are_no_move(from_stage, to_stage):
    assert classify_move(from_stage, to_stage) is None
    assert can_transition(from_stage, to_stage, has_reason=True) is False


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("list", ["proposal", "opportunity", "quote", "won", "lost"]),
        ("proposal", ["list", "opportunity", "quote", "won", "lost"]),
        ("opportunity", ["list", "proposal", "quote", "won", "lost"]),
        ("quote", ["list", "proposal", "opportunity", "won", "lost"]),
        ("won", ["list", "proposal", "opportunity", "quote"]),
        ("lost", ["list", "proposal", "opportunity", "quote"]),
    ],
)
def test_it_lists_the_stages_a_deal_may_move_to_in_pipeline_order(stage, expected):
    assert allowed_moves(stage) == expected


def test_won_and_lost_are_the_closed_stages_off_the_forward_line():
    assert deal_stages.OPEN == ("list", "proposal", "opportunity", "quote")
    assert deal_stages.CLOSED == ("won", "lost")
    assert "lost" not in deal_stages.LINE


@pytest.mark.parametrize(
    ("from_stage", "to_stage", "message"),
    [
        ("quote", "proposal", "Moving back from 'quote' to 'proposal' needs a reason."),
        ("opportunity", "lost", "Losing a deal needs a reason."),
        ("won", "quote", "Reopening a won deal needs a reason."),
        ("lost", "list", "Reopening a lost deal needs a reason."),
        ("won", "lost", "A deal cannot move from 'won' to 'lost'."),
        ("lost", "won", "A deal cannot move from 'lost' to 'won'."),
    ],
)
def test_it_says_why_a_move_is_refused(from_stage, to_stage, message):
    assert deal_stages.reason_needed_message(from_stage, to_stage) == message


def test_every_stage_has_a_fallback_probability_rising_along_the_line():
    fallback = deal_stages.FALLBACK_PROBABILITY
    assert sorted(fallback) == sorted(STAGES)
    line = [fallback[stage] for stage in deal_stages.LINE]
    assert line == sorted(line)
    assert (fallback["won"], fallback["lost"]) == (100, 0)
