"""Escalations addressed to the supervisor: the list (overdue ones highlighted), one escalation
with the inquiry's thread, and the decisions through the escalation services: answer, approve,
reject with a comment, escalate further; an agent cannot answer one addressed to a supervisor."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from accounts import roles
from accounts.models import Notification, StaffPreference
from inquiries import escalations
from inquiries.models import Escalation, EscalationChange, InquiryStatusChange
from tests.factories import user_with_role
from tests.frontoffice.workspace.support_desk import NOW, client_for, email_inquiry, make_desk

pytestmark = pytest.mark.django_db
LIST = "/app/escalations/"


@pytest.fixture
def desk():
    return make_desk()


def _escalate(desk, kind: str = "approval", inquiry=None, **fields) -> Escalation:
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        return escalations.escalate(
            inquiry=inquiry or desk.inquiry,
            kind=kind,
            reason=fields.pop("reason", "May we refund 5,000 yen?"),
            actor=desk.agent,
            **fields,
        )


def _listed(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-escalation="(\d+)"', response.content.decode())]


def _history(escalation) -> list[tuple[str, str, str | None, str]]:
    return list(
        EscalationChange.objects.filter(escalation=escalation)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status", "actor__username", "note")
    )


# --- The list -----------------------------------------------------------------------------------


def test_it_lists_the_escalations_addressed_to_the_supervisor(desk):
    mine = _escalate(desk)
    _escalate(desk, kind="transfer", to_team=desk.billing)  # the billing lead's

    response = client_for(desk.supervisor).get(LIST)

    assert response.status_code == 200
    assert _listed(response) == [mine.pk]
    html = response.content.decode()
    assert "May we refund 5,000 yen?" in html
    assert 'data-nav="escalations" aria-current="page"' in html


def test_it_highlights_an_overdue_escalation(desk):
    escalation = _escalate(desk)  # approval: due four hours after it was asked

    with time_machine.travel(escalation.due_at - timedelta(minutes=1), tick=False):
        on_time = client_for(desk.supervisor).get(LIST).content.decode()
    with time_machine.travel(escalation.due_at + timedelta(minutes=1), tick=False):
        late = client_for(desk.supervisor).get(LIST).content.decode()

    assert f'<tr class="" data-escalation="{escalation.pk}">' in on_time
    assert "Overdue" not in on_time
    assert f'<tr class="is-overdue" data-escalation="{escalation.pk}">' in late
    assert "Overdue" in late


def test_it_shows_closed_escalations_on_request(desk):
    escalation = _escalate(desk)
    escalations.escalation_approve(escalation=escalation, actor=desk.supervisor)
    client = client_for(desk.supervisor)

    assert _listed(client.get(LIST)) == []
    assert _listed(client.get(LIST, {"status": "closed"})) == [escalation.pk]


def test_it_says_when_nothing_waits(desk):
    response = client_for(desk.supervisor).get(LIST)

    assert response.status_code == 200
    assert "Nothing is waiting for you" in response.content.decode()


def test_it_shows_an_agent_an_empty_list_and_no_nav_entry(desk):
    _escalate(desk)

    response = client_for(desk.agent).get(LIST)

    assert response.status_code == 200
    assert _listed(response) == []
    assert 'data-nav="escalations"' not in response.content.decode()


def test_it_refuses_the_list_to_a_marketer(desk):
    marketer = user_with_role(roles.MARKETER, username="marketer")

    assert client_for(marketer).get(LIST).status_code == 403


def test_it_shows_a_bad_filter_inline(desk):
    response = client_for(desk.supervisor).get(LIST, {"kind": "shout"})

    assert response.status_code == 400
    assert "Select a valid choice. shout is not one of the available choices." in (
        response.content.decode()
    )


def test_it_lists_with_a_query_count_independent_of_the_rows(desk, django_assert_max_num_queries):
    client = client_for(desk.supervisor)
    _escalate(desk)
    with django_assert_max_num_queries(20) as one:
        client.get(LIST)
    for number in range(2, 12):
        with time_machine.travel(NOW, tick=False):
            inquiry = email_inquiry(desk.support, desk.agent, number=number)
        _escalate(desk, inquiry=inquiry, kind="instructions")

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(LIST)

    assert len(_listed(response)) == 11


# --- One escalation and the decisions ----------------------------------------------------------


def test_it_shows_the_escalation_with_the_inquirys_thread_and_the_decision(desk):
    escalation = _escalate(desk)

    response = client_for(desk.supervisor).get(f"{LIST}{escalation.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Please change the address on our invoices." in html
    assert 'id="approve"' in html
    assert 'id="reject"' in html


def test_it_approves_an_approval_request(desk, django_capture_on_commit_callbacks):
    escalation = _escalate(desk)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(desk.supervisor).post(
            f"{LIST}{escalation.pk}/decide/",
            {"decision": "approve", "comment": "Yes, refund it."},
            follow=True,
        )

    escalation.refresh_from_db()
    assert (escalation.status, escalation.answer) == ("approved", "Yes, refund it.")
    assert _history(escalation)[-1] == ("open", "approved", "sup", "Yes, refund it.")
    desk.inquiry.refresh_from_db()
    assert desk.inquiry.status == "open"
    assert list(
        InquiryStatusChange.objects.filter(inquiry=desk.inquiry)
        .order_by("created_at", "id")
        .values_list("to_status", flat=True)
    ) == ["new", "escalated", "open"]
    assert "Approved." in response.content.decode()
    notification = Notification.objects.get(recipient=desk.agent, kind="escalation_answered")
    assert notification.key == f"escalation:{escalation.pk}:approved"
    assert [message.to for message in mail.outbox] == [[desk.agent.email]]


def test_it_rejects_with_a_comment(desk):
    escalation = _escalate(desk)

    client_for(desk.supervisor).post(
        f"{LIST}{escalation.pk}/decide/", {"decision": "reject", "comment": "Not this time."}
    )

    escalation.refresh_from_db()
    assert (escalation.status, escalation.answer) == ("rejected", "Not this time.")
    assert _history(escalation)[-1] == ("open", "rejected", "sup", "Not this time.")


def test_it_asks_for_a_comment_to_reject_inline(desk):
    escalation = _escalate(desk)

    response = client_for(desk.supervisor).post(
        f"{LIST}{escalation.pk}/decide/", {"decision": "reject", "comment": ""}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert 'id="id_comment_error"' in html
    escalation.refresh_from_db()
    assert escalation.status == "open"
    assert len(_history(escalation)) == 1


def test_it_refuses_a_decision_without_its_button(desk):
    escalation = _escalate(desk)

    response = client_for(desk.supervisor).post(
        f"{LIST}{escalation.pk}/decide/", {"decision": "maybe"}
    )

    assert response.status_code == 400
    assert "Choose one of the buttons." in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_it_answers_a_request_for_instructions(desk):
    escalation = _escalate(desk, kind="instructions", reason="Which form do they need?")

    response = client_for(desk.supervisor).post(
        f"{LIST}{escalation.pk}/answer/", {"text": "Form B-12."}
    )

    assert response["Location"] == f"{LIST}{escalation.pk}/"
    escalation.refresh_from_db()
    assert (escalation.status, escalation.answer) == ("answered", "Form B-12.")
    assert _history(escalation)[-1] == ("open", "answered", "sup", "Form B-12.")


def test_it_refuses_to_approve_a_request_for_instructions(desk):
    escalation = _escalate(desk, kind="instructions")

    response = client_for(desk.supervisor).post(
        f"{LIST}{escalation.pk}/decide/", {"decision": "approve"}
    )

    assert response.status_code == 400
    assert "A instructions escalation cannot be approved." in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_it_forbids_an_agent_to_answer_an_escalation_addressed_to_the_supervisor(desk):
    escalation = _escalate(desk)
    client = client_for(desk.agent)

    page = client.get(f"{LIST}{escalation.pk}/")
    decision = client.post(f"{LIST}{escalation.pk}/decide/", {"decision": "approve"})
    answer = client.post(f"{LIST}{escalation.pk}/answer/", {"text": "Sure"})

    assert page.status_code == 200  # the requester follows their escalation
    assert 'id="approve"' not in page.content.decode()
    assert decision.status_code == 403
    assert answer.status_code == 403
    assert "Only the escalation&#x27;s owner" in decision.content.decode()
    escalation.refresh_from_db()
    assert escalation.status == "open"
    assert len(_history(escalation)) == 1


def test_it_forbids_another_manager_to_decide(desk):
    escalation = _escalate(desk)

    response = client_for(desk.billing_lead).post(
        f"{LIST}{escalation.pk}/decide/", {"decision": "approve"}
    )

    assert response.status_code == 404  # not addressed to them, not their inquiry
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_it_tells_who_was_second_that_the_escalation_is_closed(desk):
    escalation = _escalate(desk)
    escalations.escalation_approve(escalation=escalation, actor=desk.supervisor)

    response = client_for(desk.supervisor).post(
        f"{LIST}{escalation.pk}/decide/", {"decision": "reject", "comment": "No"}
    )

    assert response.status_code == 409
    assert "The escalation is already approved." in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.status == "approved"


def test_it_escalates_one_level_up(desk):
    escalation = _escalate(desk)

    client_for(desk.supervisor).post(
        f"{LIST}{escalation.pk}/escalate/",
        {"kind": "approval", "reason": "Above my limit", "owner": desk.billing_lead.pk},
    )

    child = Escalation.objects.get(parent=escalation)
    assert (child.level, child.owner, child.requested_by, child.kind) == (
        2,
        desk.billing_lead,
        desk.supervisor,
        "approval",
    )
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_it_renders_the_escalations_in_japanese(desk):
    escalation = _escalate(desk)
    StaffPreference.objects.create(user=desk.supervisor, language="ja")
    client = client_for(desk.supervisor)

    listing = client.get(LIST).content.decode()
    detail = client.get(f"{LIST}{escalation.pk}/").content.decode()

    assert "自分宛てのエスカレーション" in listing
    assert "承認する" in detail
    assert "却下する" in detail
