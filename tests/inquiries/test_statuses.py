"""The inquiry status rules as a pure state machine (no database)."""

from __future__ import annotations

import itertools

import pytest

from inquiries import statuses
from inquiries.models import InquiryStatus

ALL = [value for value, _label in InquiryStatus.choices]
FREE = {
    ("new", "open"),
    ("new", "pending"),
    ("new", "resolved"),
    ("open", "pending"),
    ("open", "resolved"),
    ("pending", "open"),
    ("pending", "resolved"),
    ("resolved", "closed"),
}
WITH_REASON = {("new", "closed"), ("open", "closed"), ("pending", "closed"), ("resolved", "open")}
SYSTEM_ONLY = {
    ("new", "escalated"),
    ("open", "escalated"),
    ("pending", "escalated"),
    ("escalated", "open"),
}
PAIRS = [(a, b) for a, b in itertools.product(ALL, ALL) if a != b]


@pytest.mark.parametrize(("from_status", "to_status"), sorted(FREE))
def test_it_allows_a_free_manual_move_without_a_reason(from_status, to_status):
    assert statuses.can_move(from_status, to_status, has_reason=False) is True
    assert statuses.needs_reason(from_status, to_status) is False


@pytest.mark.parametrize(("from_status", "to_status"), sorted(WITH_REASON))
def test_it_allows_a_manual_move_that_needs_a_reason_only_with_one(from_status, to_status):
    assert statuses.can_move(from_status, to_status, has_reason=False) is False
    assert statuses.can_move(from_status, to_status, has_reason=True) is True
    assert statuses.needs_reason(from_status, to_status) is True


@pytest.mark.parametrize(("from_status", "to_status"), sorted(SYSTEM_ONLY))
def test_it_leaves_escalation_moves_to_the_system(from_status, to_status):
    assert statuses.can_move(from_status, to_status, has_reason=True) is False
    assert statuses.can_move(from_status, to_status, has_reason=False, system=True) is True


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [pair for pair in PAIRS if pair not in FREE | WITH_REASON | SYSTEM_ONLY],
)
def test_it_refuses_every_other_move_even_with_a_reason(from_status, to_status):
    assert statuses.can_move(from_status, to_status, has_reason=True) is False
    assert statuses.can_move(from_status, to_status, has_reason=True, system=True) is False


def test_it_lets_the_customer_writing_again_reopen_pending_and_resolved_without_reason():
    assert statuses.can_move("pending", "open", has_reason=False, system=True) is True
    assert statuses.can_move("resolved", "open", has_reason=False, system=True) is True


def test_it_keeps_closed_final():
    assert statuses.allowed_moves("closed") == []
    assert not any(statuses.can_move("closed", to, has_reason=True, system=True) for to in ALL)


def test_it_lists_the_manual_moves_from_each_status():
    assert {status: statuses.allowed_moves(status) for status in ALL} == {
        "new": ["open", "pending", "resolved", "closed"],
        "open": ["pending", "resolved", "closed"],
        "pending": ["open", "resolved", "closed"],
        "escalated": [],
        "resolved": ["open", "closed"],
        "closed": [],
    }


def test_it_counts_escalated_as_active_work():
    assert {"new", "open", "pending", "escalated"} == statuses.ACTIVE
    assert {"resolved", "closed"} == statuses.DONE
