"""The deal stages as a pure state machine (no database): which moves are allowed.

Forward moves along list → proposal → opportunity → quote → won are free (skipping is allowed).
Backward moves between open stages need a reason, and so does losing a deal (from any open
stage). Won and lost are closed: leaving them is a reopen, which needs a reason and the
``reopen_deal`` permission (a manager's move; checked by the service).
"""

from __future__ import annotations

from pipeline.models.deals import CLOSED_DEAL_STAGES, OPEN_DEAL_STAGES, DealStage

OPEN: tuple[str, ...] = OPEN_DEAL_STAGES
CLOSED: tuple[str, ...] = CLOSED_DEAL_STAGES
# The order of the pipeline; lost is off the line.
LINE: tuple[str, ...] = (*OPEN, DealStage.WON)

# Used when the admin-configurable DealStageSetting row of a stage is missing.
FALLBACK_PROBABILITY: dict[str, int] = {
    "list": 10,
    "proposal": 25,
    "opportunity": 50,
    "quote": 75,
    "won": 100,
    "lost": 0,
}


class Move:
    FORWARD = "forward"
    BACKWARD = "backward"
    LOSE = "lose"
    REOPEN = "reopen"


REASON_REQUIRED: frozenset[str] = frozenset({Move.BACKWARD, Move.LOSE, Move.REOPEN})


def classify_move(from_stage: str, to_stage: str) -> str | None:
    """Name the kind of move, or None when it is no move (same or unknown stage, or closed to
    closed: a won deal is reopened first, then lost)."""
    known = set(OPEN) | set(CLOSED)
    if from_stage not in known or to_stage not in known or from_stage == to_stage:
        return None
    if from_stage in CLOSED:
        return Move.REOPEN if to_stage in OPEN else None
    if to_stage == DealStage.LOST:
        return Move.LOSE
    if LINE.index(to_stage) > LINE.index(from_stage):
        return Move.FORWARD
    return Move.BACKWARD


def can_transition(from_stage: str, to_stage: str, *, has_reason: bool) -> bool:
    move = classify_move(from_stage, to_stage)
    if move is None:
        return False
    return has_reason or move not in REASON_REQUIRED


def reason_needed_message(from_stage: str, to_stage: str) -> str:
    move = classify_move(from_stage, to_stage)
    if move is None:
        return f"A deal cannot move from {from_stage!r} to {to_stage!r}."
    return {
        Move.BACKWARD: f"Moving back from {from_stage!r} to {to_stage!r} needs a reason.",
        Move.LOSE: "Losing a deal needs a reason.",
        Move.REOPEN: f"Reopening a {from_stage} deal needs a reason.",
    }.get(move, f"Moving from {from_stage!r} to {to_stage!r} is not allowed.")


def allowed_moves(from_stage: str) -> list[str]:
    """The stages a deal at `from_stage` may move to (some need a reason)."""
    return [stage for stage in (*OPEN, *CLOSED) if classify_move(from_stage, stage) is not None]
