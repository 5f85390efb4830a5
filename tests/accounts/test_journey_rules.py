"""The journey's pure rules (accounts.journey), checked without a database over every pair of
stages. Each table below is the whole truth for one function: read a row as "from", a column
as "to"."""

from __future__ import annotations

import pytest

from accounts.journey import Move, can_transition, classify_move, is_at_or_past

STAGES = ("awareness", "lead", "prospect", "customer", "promoter", "dormant", "lost")


def _grid(table: str) -> list[tuple[str, str, str]]:
    """Turn a table (header row of target stages, then one row per source stage) into
    (from_stage, to_stage, cell) triples, checking it covers every pair exactly once."""
    header, *rows = (line.split() for line in table.strip().splitlines())
    assert tuple(header) == STAGES
    assert tuple(row[0] for row in rows) == STAGES
    cells = [
        (row[0], to_stage, cell)
        for row in rows
        for to_stage, cell in zip(header, row[1:], strict=True)
    ]
    assert len(cells) == len(STAGES) ** 2
    return cells


# . no move (same stage)   F forward   B backward   S to a side stage   R reactivation
MOVES = """
            awareness  lead  prospect  customer  promoter  dormant  lost
awareness   .          F     F         F         F         S        S
lead        B          .     F         F         F         S        S
prospect    B          B     .         F         F         S        S
customer    B          B     B         .         F         S        S
promoter    B          B     B         B         .         S        S
dormant     R          R     R         R         R         .        S
lost        R          R     R         R         R         S        .
"""
MOVE_NAMES = {
    ".": None,
    "F": Move.FORWARD,
    "B": Move.BACKWARD,
    "S": Move.TO_SIDE,
    "R": Move.REACTIVATION,
}

# free: allowed with or without a reason   reason: allowed only with a reason   no: never
ALLOWED = """
            awareness  lead    prospect  customer  promoter  dormant  lost
awareness   no         free    free      free      free      reason   reason
lead        reason     no      free      free      free      reason   reason
prospect    reason     reason  no        free      free      reason   reason
customer    reason     reason  reason    no        free      reason   reason
promoter    reason     reason  reason    reason    no        reason   reason
dormant     free       free    free      free      free      no       reason
lost        free       free    free      free      free      reason   no
"""
ALLOWED_WITHOUT_REASON = {"free": True, "reason": False, "no": False}
ALLOWED_WITH_REASON = {"free": True, "reason": True, "no": False}

# y: `stage` (row) is at or past `target` (column)
AT_OR_PAST = """
            awareness  lead  prospect  customer  promoter  dormant  lost
awareness   y          n     n         n         n         n        n
lead        y          y     n         n         n         n        n
prospect    y          y     y         n         n         n        n
customer    y          y     y         y         n         n        n
promoter    y          y     y         y         y         n        n
dormant     n          n     n         n         n         y        n
lost        n          n     n         n         n         n        y
"""


@pytest.mark.parametrize(("from_stage", "to_stage", "cell"), _grid(MOVES))
def test_it_classifies_every_move(from_stage, to_stage, cell):
    assert classify_move(from_stage, to_stage) == MOVE_NAMES[cell]


@pytest.mark.parametrize(("from_stage", "to_stage", "cell"), _grid(ALLOWED))
def test_it_allows_every_move_without_a_reason_only_as_the_table_says(from_stage, to_stage, cell):
    assert can_transition(from_stage, to_stage, has_reason=False) is ALLOWED_WITHOUT_REASON[cell]


@pytest.mark.parametrize(("from_stage", "to_stage", "cell"), _grid(ALLOWED))
def test_it_allows_every_move_with_a_reason_only_as_the_table_says(from_stage, to_stage, cell):
    assert can_transition(from_stage, to_stage, has_reason=True) is ALLOWED_WITH_REASON[cell]


@pytest.mark.parametrize(("stage", "target", "cell"), _grid(AT_OR_PAST))
def test_it_tells_whether_a_stage_is_at_or_past_another(stage, target, cell):
    assert is_at_or_past(stage, target) is (cell == "y")


@pytest.mark.parametrize(
    ("from_stage", "to_stage"),
    [("lead", "won"), ("won", "lead"), ("", "lead"), ("lead", ""), ("Lead", "prospect")],
)
def test_it_treats_an_unknown_stage_as_no_move(from_stage, to_stage):
    assert classify_move(from_stage, to_stage) is None


@pytest.mark.parametrize(
    ("from_stage", "to_stage"), [("lead", "won"), ("won", "lead"), ("", "lead")]
)
@pytest.mark.parametrize("has_reason", [False, True])
def test_it_refuses_a_move_from_or_to_an_unknown_stage(from_stage, to_stage, has_reason):
    assert can_transition(from_stage, to_stage, has_reason=has_reason) is False
