"""The inquiry status as a pure state machine (no database).

new → open → (pending) → resolved → closed. `escalated` is entered and left only by the
escalation service (while an escalation is open). A customer writing again reopens a pending or
resolved inquiry; closed is final (a new message opens a new inquiry). Closing an inquiry that was
never resolved (spam, duplicate) and reopening a resolved one by hand need a reason.
"""

from __future__ import annotations

from inquiries.models import InquiryStatus

NEW, OPEN, PENDING = InquiryStatus.NEW, InquiryStatus.OPEN, InquiryStatus.PENDING
ESCALATED, RESOLVED, CLOSED = InquiryStatus.ESCALATED, InquiryStatus.RESOLVED, InquiryStatus.CLOSED

# Moves people make (API, admin); each maps to whether a reason is required.
MANUAL_MOVES: dict[tuple[str, str], bool] = {
    (NEW, OPEN): False,
    (NEW, PENDING): False,
    (NEW, RESOLVED): False,
    (NEW, CLOSED): True,
    (OPEN, PENDING): False,
    (OPEN, RESOLVED): False,
    (OPEN, CLOSED): True,
    (PENDING, OPEN): False,
    (PENDING, RESOLVED): False,
    (PENDING, CLOSED): True,
    (RESOLVED, OPEN): True,
    (RESOLVED, CLOSED): False,
}
# Moves the system makes: escalation opened/answered, a customer wrote again.
SYSTEM_MOVES: frozenset[tuple[str, str]] = frozenset(
    {
        (NEW, ESCALATED),
        (OPEN, ESCALATED),
        (PENDING, ESCALATED),
        (ESCALATED, OPEN),
        (PENDING, OPEN),
        (RESOLVED, OPEN),
        (NEW, OPEN),
    }
)
ACTIVE: frozenset[str] = frozenset({NEW, OPEN, PENDING, ESCALATED})
DONE: frozenset[str] = frozenset({RESOLVED, CLOSED})


def can_move(from_status: str, to_status: str, *, has_reason: bool, system: bool = False) -> bool:
    if system and (from_status, to_status) in SYSTEM_MOVES:
        return True
    needs_reason = MANUAL_MOVES.get((from_status, to_status))
    if needs_reason is None:
        return False
    return has_reason or not needs_reason


def needs_reason(from_status: str, to_status: str) -> bool:
    return bool(MANUAL_MOVES.get((from_status, to_status)))


def allowed_moves(from_status: str) -> list[str]:
    return [to for (frm, to) in MANUAL_MOVES if frm == from_status]
