"""The customer journey as a pure state machine (no database): which moves are allowed.

Forward moves along awareness → lead → prospect → customer → promoter are free (skipping is
allowed: a deal can be won from a first contact). Backward moves need a reason. `lost` and
`dormant` are side states: entering them needs a reason; leaving them (the customer came back)
is a reactivation and is allowed to any stage.
"""

from __future__ import annotations

from accounts.models import JourneyStage

FUNNEL: tuple[str, ...] = (
    JourneyStage.AWARENESS,
    JourneyStage.LEAD,
    JourneyStage.PROSPECT,
    JourneyStage.CUSTOMER,
    JourneyStage.PROMOTER,
)
SIDE_STAGES: frozenset[str] = frozenset({JourneyStage.DORMANT, JourneyStage.LOST})


class Move:
    FORWARD = "forward"
    BACKWARD = "backward"
    TO_SIDE = "to_side"
    REACTIVATION = "reactivation"


def classify_move(from_stage: str, to_stage: str) -> str | None:
    """Name the kind of move, or None when it is no move (same stage or unknown stage)."""
    known = set(FUNNEL) | SIDE_STAGES
    if from_stage not in known or to_stage not in known or from_stage == to_stage:
        return None
    if to_stage in SIDE_STAGES:
        return Move.TO_SIDE
    if from_stage in SIDE_STAGES:
        return Move.REACTIVATION
    if FUNNEL.index(to_stage) > FUNNEL.index(from_stage):
        return Move.FORWARD
    return Move.BACKWARD


REASON_REQUIRED: frozenset[str] = frozenset({Move.BACKWARD, Move.TO_SIDE})


def can_transition(from_stage: str, to_stage: str, *, has_reason: bool) -> bool:
    move = classify_move(from_stage, to_stage)
    if move is None:
        return False
    return has_reason or move not in REASON_REQUIRED


def is_at_or_past(stage: str, target: str) -> bool:
    """True when `stage` is `target` or further along the funnel (side stages are never past)."""
    if stage not in FUNNEL or target not in FUNNEL:
        return stage == target
    return FUNNEL.index(stage) >= FUNNEL.index(target)
