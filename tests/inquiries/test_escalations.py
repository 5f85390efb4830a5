"""Escalation services: the three kinds, their history, the inquiry's status, levels, who may
answer, and the email notifications."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from accounts import roles
from accounts.models import Notification, Team
from frontoffice.errors import ApplicationError, ConflictError, PermissionDeniedError
from inquiries import escalations
from inquiries.models import (
    Escalation,
    EscalationChange,
    InquiryAssignment,
    InquiryStatusChange,
)
from inquiries.services import Customer, inquiry_assign, inquiry_move, inquiry_open
from tests.factories import TeamFactory, user_with_role

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 10:00 in Tokyo


def make_desk() -> dict:
    """A support team (supervised by a manager) with one agent, a specialist department, and
    an email inquiry in the team's queue assigned to the agent."""
    supervisor = user_with_role(roles.MANAGER, username="supervisor")
    agent = user_with_role(roles.SUPPORT_AGENT, username="agent1")
    lead = user_with_role(roles.MANAGER, username="billing_lead")
    director = user_with_role(roles.MANAGER, username="director")
    support = TeamFactory(name="Support", kind=Team.Kind.SUPPORT, supervisor=supervisor)
    support.members.add(agent)
    billing = TeamFactory(name="Billing", kind=Team.Kind.SPECIALIST, supervisor=lead)
    with time_machine.travel(NOW, tick=False):
        inquiry = inquiry_open(
            channel="email",
            subject="Refund for order 42",
            customer=Customer(email="taro@acme.co.jp", name="Taro Yamada"),
            body="Please refund my order.",
            team=support,
        )
        inquiry_assign(inquiry=inquiry, assignee=agent, actor=agent)
        inquiry_move(inquiry=inquiry, to_status="open", actor=agent)
    return {
        "supervisor": supervisor,
        "agent": agent,
        "lead": lead,
        "director": director,
        "support": support,
        "billing": billing,
        "inquiry": inquiry,
    }


@pytest.fixture
def desk(db):
    return make_desk()


def _history(escalation: Escalation) -> list[tuple]:
    return list(
        EscalationChange.objects.filter(escalation=escalation)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status", "actor__username", "note")
    )


def _inquiry_moves(inquiry) -> list[tuple[str, str]]:
    return list(
        InquiryStatusChange.objects.filter(inquiry=inquiry)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status")
    )


def _escalate(desk, **kwargs) -> Escalation:
    kwargs.setdefault("kind", "instructions")
    kwargs.setdefault("reason", "Customer wants a refund outside the policy.")
    kwargs.setdefault("actor", desk["agent"])
    return escalations.escalate(inquiry=desk["inquiry"], **kwargs)


@time_machine.travel(NOW, tick=False)
def test_it_addresses_instructions_to_the_team_supervisor_with_a_default_due_time(desk):
    escalation = _escalate(desk)

    assert (escalation.kind, escalation.status, escalation.level) == ("instructions", "open", 1)
    assert escalation.owner == desk["supervisor"]
    assert escalation.requested_by == desk["agent"]
    assert escalation.due_at == NOW + timedelta(hours=2)
    assert _history(escalation) == [
        ("", "open", "agent1", "Customer wants a refund outside the policy.")
    ]


@time_machine.travel(NOW, tick=False)
def test_it_marks_the_inquiry_escalated_with_a_history_row(desk):
    _escalate(desk)

    desk["inquiry"].refresh_from_db()
    assert desk["inquiry"].status == "escalated"
    assert _inquiry_moves(desk["inquiry"]) == [
        ("", "new"),
        ("new", "open"),
        ("open", "escalated"),
    ]


@time_machine.travel(NOW, tick=False)
def test_it_transfers_to_a_specialist_department_keeping_the_assignee(desk):
    escalation = _escalate(desk, kind="transfer", to_team=desk["billing"])

    desk["inquiry"].refresh_from_db()
    assert escalation.owner == desk["lead"]
    assert escalation.due_at == NOW + timedelta(hours=8)
    assert (desk["inquiry"].team, desk["inquiry"].assignee) == (desk["billing"], desk["agent"])
    assignment = InquiryAssignment.objects.filter(inquiry=desk["inquiry"]).latest("id")
    assert (assignment.team, assignment.to_assignee, assignment.actor) == (
        desk["billing"],
        desk["agent"],
        desk["agent"],
    )
    assert _history(escalation) == [
        ("", "open", "agent1", "Customer wants a refund outside the policy.")
    ]


def test_it_refuses_a_transfer_to_a_team_that_is_not_a_specialist_department(desk):
    sales = TeamFactory(name="Sales", kind=Team.Kind.SALES, supervisor=desk["director"])

    with pytest.raises(ApplicationError) as refused:
        _escalate(desk, kind="transfer", to_team=sales)

    assert refused.value.errors == {"to_team": ["Sales is not a specialist department."]}
    assert Escalation.objects.count() == 0
    desk["inquiry"].refresh_from_db()
    assert desk["inquiry"].status == "open"


def test_it_refuses_an_owner_who_is_not_a_supervisor_or_manager(desk):
    other_agent = user_with_role(roles.SUPPORT_AGENT, username="agent2")

    with pytest.raises(ApplicationError) as refused:
        _escalate(desk, owner=other_agent)

    assert refused.value.errors == {"owner": ["agent2 is not a supervisor or manager."]}
    assert Escalation.objects.count() == 0


def test_it_refuses_to_escalate_a_closed_inquiry(desk):
    inquiry_move(inquiry=desk["inquiry"], to_status="resolved", actor=desk["agent"])

    with pytest.raises(ApplicationError) as refused:
        _escalate(desk)

    assert refused.value.errors == {"inquiry": ["A resolved inquiry cannot be escalated."]}
    assert Escalation.objects.count() == 0


def test_it_approves_an_approval_request_and_returns_the_inquiry_to_open(desk):
    escalation = _escalate(desk, kind="approval")

    escalations.escalation_approve(
        escalation=escalation, actor=desk["supervisor"], comment="OK, once."
    )

    escalation.refresh_from_db()
    desk["inquiry"].refresh_from_db()
    assert (escalation.status, escalation.answer) == ("approved", "OK, once.")
    assert escalation.closed_at is not None
    assert _history(escalation)[1:] == [("open", "approved", "supervisor", "OK, once.")]
    assert desk["inquiry"].status == "open"
    assert _inquiry_moves(desk["inquiry"])[-2:] == [("open", "escalated"), ("escalated", "open")]


def test_it_rejects_an_approval_request_only_with_a_comment(desk):
    escalation = _escalate(desk, kind="approval")

    with pytest.raises(ApplicationError) as refused:
        escalations.escalation_reject(escalation=escalation, actor=desk["supervisor"], comment=" ")

    assert refused.value.errors == {"comment": ["This field is required."]}
    escalation.refresh_from_db()
    assert escalation.status == "open"
    assert len(_history(escalation)) == 1


def test_it_rejects_an_approval_request_with_the_reason(desk):
    escalation = _escalate(desk, kind="approval")

    escalations.escalation_reject(
        escalation=escalation, actor=desk["supervisor"], comment="Outside the 30 days."
    )

    escalation.refresh_from_db()
    assert (escalation.status, escalation.answer) == ("rejected", "Outside the 30 days.")
    assert _history(escalation)[1:] == [("open", "rejected", "supervisor", "Outside the 30 days.")]


def test_it_refuses_to_approve_a_request_for_instructions(desk):
    escalation = _escalate(desk)

    with pytest.raises(ApplicationError) as refused:
        escalations.escalation_approve(escalation=escalation, actor=desk["supervisor"])

    assert refused.value.errors == {"kind": ["A instructions escalation cannot be approved."]}


def test_it_answers_a_transfer(desk):
    escalation = _escalate(desk, kind="transfer", to_team=desk["billing"])

    escalations.escalation_answer(
        escalation=escalation, actor=desk["lead"], text="Refunded by billing."
    )

    escalation.refresh_from_db()
    desk["inquiry"].refresh_from_db()
    assert (escalation.status, escalation.answer) == ("answered", "Refunded by billing.")
    assert desk["inquiry"].status == "open"
    assert _history(escalation)[1:] == [
        ("open", "answered", "billing_lead", "Refunded by billing.")
    ]


def test_it_keeps_the_inquiry_escalated_while_another_escalation_is_open(desk):
    first = _escalate(desk)
    second = _escalate(desk, kind="approval")

    escalations.escalation_answer(escalation=first, actor=desk["supervisor"], text="Call them.")
    desk["inquiry"].refresh_from_db()
    status_after_first = desk["inquiry"].status
    escalations.escalation_approve(escalation=second, actor=desk["supervisor"], comment="Yes")
    desk["inquiry"].refresh_from_db()

    assert (status_after_first, desk["inquiry"].status) == ("escalated", "open")
    assert _inquiry_moves(desk["inquiry"])[-2:] == [("open", "escalated"), ("escalated", "open")]


@time_machine.travel(NOW, tick=False)
def test_it_escalates_an_escalation_one_level_up(desk):
    first = _escalate(desk, kind="approval")

    second = escalations.escalate(
        inquiry=desk["inquiry"],
        kind="approval",
        reason="Above my limit.",
        actor=desk["supervisor"],
        owner=desk["director"],
        parent=first,
    )

    first.refresh_from_db()
    assert (second.level, second.parent, second.owner) == (2, first, desk["director"])
    assert second.requested_by == desk["supervisor"]
    assert first.status == "open"
    assert _history(second) == [("", "open", "supervisor", "Above my limit.")]


def test_it_lets_only_who_may_answer_escalate_further(desk):
    first = _escalate(desk, kind="approval")

    with pytest.raises(PermissionDeniedError):
        escalations.escalate(
            inquiry=desk["inquiry"],
            kind="approval",
            reason="Again",
            actor=desk["agent"],
            owner=desk["director"],
            parent=first,
        )

    assert Escalation.objects.count() == 1


def test_it_needs_a_named_owner_to_escalate_further_from_the_team_supervisor(desk):
    first = _escalate(desk)

    with pytest.raises(ApplicationError) as refused:
        escalations.escalate(
            inquiry=desk["inquiry"],
            kind="instructions",
            reason="Need help",
            actor=desk["supervisor"],
            parent=first,
        )

    assert refused.value.errors == {"owner": ["Name the supervisor or manager to escalate to."]}


def test_it_forbids_an_agent_to_answer_a_supervisors_escalation(desk):
    escalation = _escalate(desk)

    with pytest.raises(PermissionDeniedError):
        escalations.escalation_answer(escalation=escalation, actor=desk["agent"], text="Me!")

    escalation.refresh_from_db()
    assert escalation.status == "open"
    assert len(_history(escalation)) == 1


def test_it_lets_the_supervisor_of_the_specialist_team_answer_in_place_of_the_owner(desk):
    escalation = _escalate(desk, kind="transfer", to_team=desk["billing"])
    Team.objects.filter(pk=desk["billing"].pk).update(supervisor=desk["director"])
    escalation.refresh_from_db()

    escalations.escalation_answer(escalation=escalation, actor=desk["director"], text="Done.")

    escalation.refresh_from_db()
    assert escalation.status == "answered"


def test_it_refuses_a_second_answer_with_a_conflict(desk):
    escalation = _escalate(desk)
    stale = Escalation.objects.get(pk=escalation.pk)
    escalations.escalation_answer(escalation=escalation, actor=desk["supervisor"], text="Yes.")

    with pytest.raises(ConflictError):
        escalations.escalation_answer(escalation=stale, actor=desk["supervisor"], text="No.")

    assert len(_history(escalation)) == 2


def test_it_lets_the_requester_cancel(desk):
    escalation = _escalate(desk)

    escalations.escalation_cancel(escalation=escalation, actor=desk["agent"], reason="Solved.")

    escalation.refresh_from_db()
    desk["inquiry"].refresh_from_db()
    assert (escalation.status, desk["inquiry"].status) == ("cancelled", "open")
    assert _history(escalation)[1:] == [("open", "cancelled", "agent1", "Solved.")]


def test_it_forbids_others_to_cancel(desk):
    escalation = _escalate(desk)

    with pytest.raises(PermissionDeniedError):
        escalations.escalation_cancel(escalation=escalation, actor=desk["supervisor"])

    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_it_emails_the_owner_once_when_an_escalation_opens(
    desk, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        escalation = _escalate(desk)

    assert [message.to for message in mail.outbox] == [["supervisor@frontoffice.test"]]
    assert mail.outbox[0].subject.startswith(f"[#{desk['inquiry'].pk}] Supervisor's instructions")
    assert list(Notification.objects.values_list("recipient__username", "kind", "key")) == [
        ("supervisor", "escalation", f"escalation:{escalation.pk}:open")
    ]


def test_it_emails_the_requester_once_when_answered(desk, django_capture_on_commit_callbacks):
    escalation = _escalate(desk)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        escalations.escalation_answer(
            escalation=escalation, actor=desk["supervisor"], text="Offer a voucher."
        )

    assert [(m.to, m.body) for m in mail.outbox] == [
        (["agent1@frontoffice.test"], "Offer a voucher.")
    ]
    assert Notification.objects.filter(recipient=desk["agent"]).count() == 1
