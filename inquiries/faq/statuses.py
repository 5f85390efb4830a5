"""The review of an FAQ candidate as a pure state machine (no database).

new → accepted (published as an FAQ entry) | rejected (with a reason) | merged (into another
new candidate). Reviewed candidates are final: a mining run updates their figures and members
but never their status, so a rejected candidate stays rejected.
"""

from __future__ import annotations

from inquiries.models import FaqCandidateStatus

NEW = FaqCandidateStatus.NEW
ACCEPTED = FaqCandidateStatus.ACCEPTED
REJECTED = FaqCandidateStatus.REJECTED
MERGED = FaqCandidateStatus.MERGED

# Each move maps to whether it needs a reason.
MOVES: dict[tuple[str, str], bool] = {
    (NEW, ACCEPTED): False,
    (NEW, REJECTED): True,
    (NEW, MERGED): False,
}


def can_move(from_status: str, to_status: str, *, has_reason: bool) -> bool:
    needs_reason = MOVES.get((from_status, to_status))
    if needs_reason is None:
        return False
    return has_reason or not needs_reason


def needs_reason(from_status: str, to_status: str) -> bool:
    return bool(MOVES.get((from_status, to_status)))


def allowed_moves(from_status: str) -> list[str]:
    return [to for (frm, to) in MOVES if frm == from_status]
