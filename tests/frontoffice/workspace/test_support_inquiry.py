"""The inquiry page: who may read it and who may work on it, the thread and the customer's
history beside it, and each action's side effects through the inquiries services (messages,
email with threading headers, status history, escalations), with refusals shown inline."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client

from accounts import roles
from accounts.models import StaffPreference, Touchpoint
from inquiries.channels import saved_reply_create
from inquiries.faq.services import faq_entry_create
from inquiries.models import (
    Escalation,
    EscalationChange,
    InquiryAssignment,
    InquiryStatusChange,
    Message,
    PhoneCall,
)
from inquiries.services import inquiry_move
from tests.factories import ContactFactory, TeamFactory, user_with_role
from tests.frontoffice.workspace.support_desk import (
    CUSTOMER,
    NOW,
    client_for,
    customer_mail,
    make_desk,
    receive,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk():
    return make_desk()


def _url(desk, action: str = "") -> str:
    base = f"/app/inquiries/{desk.inquiry.pk}/"
    return f"{base}{action}/" if action else base


def _moves(inquiry) -> list[tuple[str, str, str | None]]:
    return list(
        InquiryStatusChange.objects.filter(inquiry=inquiry)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status", "actor__username")
    )


# --- Reading --------------------------------------------------------------------------------------


def test_it_shows_the_thread_the_history_and_the_actions_to_the_agent(desk):
    response = client_for(desk.agent).get(_url(desk))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-direction="inbound"' in html
    assert "Please change the address on our invoices." in html
    # The customer's contact history beside the thread, with the message's timeline entry.
    assert 'id="timeline"' in html
    assert f"[#{desk.inquiry.pk}] Invoice address change: Please change the address" in html
    assert f"Reply by email to {CUSTOMER}" in html
    for button in ('id="send-reply"', 'id="add-note"', 'id="log-call"', 'id="escalate"'):
        assert button in html
    assert 'id="resolve"' in html


def test_it_lets_a_colleague_of_the_team_work_on_it(desk):
    response = client_for(desk.other_agent).get(_url(desk))

    assert response.status_code == 200
    assert 'id="send-reply"' in response.content.decode()


def test_it_shows_a_sales_rep_their_customers_inquiry_read_only(desk):
    rep = user_with_role(roles.SALES_REP, username="rep1")
    contact = desk.inquiry.contact
    contact.owner = rep
    contact.save(update_fields=["owner"])
    client = client_for(rep)

    page = client.get(_url(desk))
    reply = client.post(_url(desk, "reply"), {"body": "Hello"})

    assert page.status_code == 200
    html = page.content.decode()
    assert "You can read this inquiry but not work on it." in html
    assert 'id="send-reply"' not in html
    assert reply.status_code == 403
    assert Message.objects.filter(inquiry=desk.inquiry).count() == 1


def test_it_hides_an_inquiry_outside_the_users_scope(desk):
    rep = user_with_role(roles.SALES_REP, username="rep1")
    outsider = user_with_role(roles.SUPPORT_AGENT, username="outsider")
    TeamFactory(name="Other support", kind="support").members.add(outsider)

    assert client_for(rep).get(_url(desk)).status_code == 404
    assert client_for(outsider).get(_url(desk)).status_code == 404
    response = client_for(outsider).post(_url(desk, "note"), {"body": "Hi"})
    assert response.status_code == 404
    assert Message.objects.filter(inquiry=desk.inquiry).count() == 1


def test_it_refuses_the_page_to_a_marketer_and_sends_strangers_to_sign_in(desk):
    marketer = user_with_role(roles.MARKETER, username="marketer")

    assert client_for(marketer).get(_url(desk)).status_code == 403
    anonymous = Client().get(_url(desk))
    assert anonymous["Location"] == f"/app/login/?next={_url(desk)}"


def test_it_reads_the_page_with_a_query_count_independent_of_the_thread(
    desk, django_assert_max_num_queries
):
    client = client_for(desk.agent)
    with django_assert_max_num_queries(40) as one:
        client.get(_url(desk))
    for number in range(2, 22):
        receive(
            customer_mail(
                message_id=f"<more{number}@kaisha.co.jp>",
                subject=f"Re: Invoice address change [#{desk.inquiry.pk}]",
                body=f"Follow-up {number}",
            )
        )

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(_url(desk))

    assert response.content.decode().count('class="message direction-inbound"') == 21


def test_it_renders_the_inquiry_page_in_japanese(desk):
    StaffPreference.objects.create(user=desk.agent, language="ja")

    html = client_for(desk.agent).get(_url(desk)).content.decode()

    assert '<html lang="ja">' in html
    assert "返信を送信" in html
    assert "エスカレーション" in html
    assert "対応履歴" in html


# --- Replying ------------------------------------------------------------------------------------


def test_it_replies_by_email_with_threading_headers(desk, django_capture_on_commit_callbacks):
    with (
        time_machine.travel(NOW + timedelta(minutes=20), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client_for(desk.agent).post(
            _url(desk, "reply"), {"body": "We changed the address."}
        )

    assert response.status_code == 302
    assert response["Location"] == f"{_url(desk)}#thread"
    reply = Message.objects.get(inquiry=desk.inquiry, direction="outbound")
    assert (reply.body, reply.author_user, reply.channel, reply.delivery) == (
        "We changed the address.",
        desk.agent,
        "email",
        "sent",
    )
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [CUSTOMER]
    assert sent.subject == f"Re: Invoice address change [#{desk.inquiry.pk}]"
    assert sent.extra_headers["In-Reply-To"] == "<q1@kaisha.co.jp>"
    assert sent.extra_headers["References"] == "<q1@kaisha.co.jp>"
    assert sent.extra_headers["Message-ID"] == reply.email_message_id
    desk.inquiry.refresh_from_db()
    assert desk.inquiry.first_responded_at == NOW + timedelta(minutes=20)
    assert _moves(desk.inquiry)[-1] == ("new", "open", "agent1")
    assert (
        Touchpoint.objects.filter(
            contact=desk.inquiry.contact, actor=desk.agent, kind="inquiry_message"
        ).count()
        == 1
    )


def test_it_shows_the_reply_in_the_thread_after_sending(desk, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(desk.agent).post(
            _url(desk, "reply"), {"body": "We changed the address."}, follow=True
        )

    html = response.content.decode()
    assert f"Your reply is on its way to {CUSTOMER}." in html
    assert 'data-direction="outbound"' in html
    assert "We changed the address." in html


def test_it_sends_a_saved_reply_and_counts_its_use(desk, django_capture_on_commit_callbacks):
    saved = saved_reply_create(
        title="Address changed", body="Your invoice address is updated.", team=desk.support
    )

    with django_capture_on_commit_callbacks(execute=True):
        client_for(desk.agent).post(_url(desk, "reply"), {"body": "", "saved_reply": saved.pk})

    reply = Message.objects.get(inquiry=desk.inquiry, direction="outbound")
    assert reply.body == "Your invoice address is updated."
    saved.refresh_from_db()
    assert saved.usage_count == 1
    assert mail.outbox[0].body == "Your invoice address is updated."


def test_it_suggests_faq_entries_and_saved_replies_like_the_question(desk):
    address = faq_entry_create(
        question="How do I change the address on my invoices?",
        answer="Send us the new address; invoices change from the next month.",
    )
    faq_entry_create(question="How do I reset my password?", answer="Use the sign-in page.")
    draft = faq_entry_create(
        question="Change the invoice address?", answer="Draft", is_published=False
    )
    ours = saved_reply_create(
        title="Invoice address changed", body="Your invoice address is changed.", team=desk.support
    )
    theirs = saved_reply_create(
        title="Invoice address (billing)", body="Invoice address changed.", team=desk.billing
    )
    saved_reply_create(title="Password", body="Use the sign-in page.", team=desk.support)

    html = client_for(desk.agent).get(_url(desk)).content.decode()

    assert re.findall(r'data-faq="(\d+)"', html) == [str(address.pk)]
    assert f'data-faq="{draft.pk}"' not in html
    assert re.findall(r'data-saved-reply="(\d+)"', html) == [str(ours.pk)]
    assert f'data-saved-reply="{theirs.pk}"' not in html
    assert 'data-insert-from="faq-answer-' in html
    assert 'data-insert-into="reply-body"' in html


def test_it_says_when_nothing_is_like_the_question(desk):
    html = client_for(desk.agent).get(_url(desk)).content.decode()

    assert "No FAQ entry matches this inquiry." in html
    assert "No saved reply matches this inquiry" in html


def test_it_shows_an_empty_reply_inline_and_writes_nothing(desk):
    response = client_for(desk.agent).post(_url(desk, "reply"), {"body": "   "})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Write a reply or pick a saved reply." in html
    assert '<details id="panel-reply" open>' in html
    assert Message.objects.filter(inquiry=desk.inquiry).count() == 1
    assert mail.outbox == []


def test_it_refuses_another_teams_saved_reply_inline(desk):
    theirs = saved_reply_create(title="Refund rules", body="Refunds...", team=desk.billing)

    response = client_for(desk.agent).post(
        _url(desk, "reply"), {"body": "", "saved_reply": theirs.pk}
    )

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert Message.objects.filter(inquiry=desk.inquiry, direction="outbound").count() == 0


def test_it_answers_htmx_with_the_page_and_the_error_inline(desk):
    response = client_for(desk.agent).post(
        _url(desk, "reply"), {"body": ""}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="reply-body_error"' in html
    assert 'hx-select="main"' in html


# --- Notes and calls ----------------------------------------------------------------------------


def test_it_adds_an_internal_note_off_the_customers_timeline(desk):
    before = Touchpoint.objects.count()

    response = client_for(desk.agent).post(_url(desk, "note"), {"body": "Checked with billing."})

    assert response.status_code == 302
    note = Message.objects.get(inquiry=desk.inquiry, direction="note")
    assert (note.body, note.author_user, note.touchpoint) == (
        "Checked with billing.",
        desk.agent,
        None,
    )
    assert Touchpoint.objects.count() == before
    assert mail.outbox == []


def test_it_logs_a_phone_call_on_the_timeline(desk):
    response = client_for(desk.agent).post(
        _url(desk, "log-call"),
        {"direction": "outbound", "duration_seconds": "240", "outcome": "answered", "notes": ""},
    )

    assert response.status_code == 302
    call = PhoneCall.objects.select_related("message").get(message__inquiry=desk.inquiry)
    assert (call.direction, call.duration_seconds, call.outcome) == ("outbound", 240, "answered")
    assert (call.message.channel, call.message.direction, call.message.body) == (
        "phone",
        "outbound",
        "Outgoing call, 240 s, Answered",
    )
    assert Touchpoint.objects.filter(contact=desk.inquiry.contact, kind="call").count() == 1


def test_it_shows_a_bad_call_duration_inline(desk):
    response = client_for(desk.agent).post(
        _url(desk, "log-call"),
        {"direction": "outbound", "duration_seconds": "-5", "outcome": "answered"},
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Ensure this value is greater than or equal to 0." in html
    assert '<details id="panel-call" open>' in html
    assert PhoneCall.objects.count() == 0


# --- Status -------------------------------------------------------------------------------------


def test_it_resolves_the_inquiry(desk):
    response = client_for(desk.agent).post(
        _url(desk, "move"), {"to_status": "resolved", "expected_status": "new"}, follow=True
    )

    desk.inquiry.refresh_from_db()
    assert desk.inquiry.status == "resolved"
    assert desk.inquiry.resolved_at is not None
    assert _moves(desk.inquiry)[-1] == ("new", "resolved", "agent1")
    assert "The inquiry is now Resolved." in response.content.decode()


def test_it_asks_for_a_reason_to_close_an_unresolved_inquiry(desk):
    response = client_for(desk.agent).post(
        _url(desk, "move"), {"to_status": "closed", "expected_status": "new", "note": ""}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Moving from new to closed needs a reason." in html
    assert 'id="move-note_error"' in html
    desk.inquiry.refresh_from_db()
    assert desk.inquiry.status == "new"
    assert len(_moves(desk.inquiry)) == 1


def test_it_refuses_a_move_from_a_status_the_page_no_longer_shows(desk):
    inquiry_move(inquiry=desk.inquiry, to_status="pending", actor=desk.other_agent)

    response = client_for(desk.agent).post(
        _url(desk, "move"), {"to_status": "resolved", "expected_status": "new"}
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert "The status changed meanwhile; look again and retry." in html
    # The form shown again starts from the status the inquiry has now.
    assert 'name="expected_status" value="pending"' in html
    desk.inquiry.refresh_from_db()
    assert desk.inquiry.status == "pending"


def test_it_offers_no_actions_on_a_closed_inquiry(desk):
    inquiry_move(inquiry=desk.inquiry, to_status="resolved", actor=desk.agent)
    inquiry_move(inquiry=desk.inquiry, to_status="closed", actor=desk.agent)

    html = client_for(desk.agent).get(_url(desk)).content.decode()
    reply = client_for(desk.agent).post(_url(desk, "reply"), {"body": "Late"})

    assert "This inquiry is closed: a new message from the customer opens a new one." in html
    assert 'id="send-reply"' not in html
    assert reply.status_code == 400
    assert "The inquiry is closed; open a new one." in reply.content.decode()


# --- Assigning ----------------------------------------------------------------------------------


def test_it_assigns_the_inquiry_to_a_colleague(desk):
    response = client_for(desk.agent).post(
        _url(desk, "assign"),
        {"assignee": desk.other_agent.pk, "team": desk.support.pk, "note": "Holiday"},
    )

    assert response.status_code == 302
    desk.inquiry.refresh_from_db()
    assert desk.inquiry.assignee == desk.other_agent
    last = InquiryAssignment.objects.filter(inquiry=desk.inquiry).latest("created_at", "id")
    assert (last.from_assignee, last.to_assignee, last.actor, last.note) == (
        desk.agent,
        desk.other_agent,
        desk.agent,
        "Holiday",
    )


# --- Escalating ---------------------------------------------------------------------------------


def test_it_escalates_for_approval_to_the_teams_supervisor(
    desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(desk.agent).post(
            _url(desk, "escalate"),
            {"kind": "approval", "reason": "May we refund 5,000 yen?"},
            follow=True,
        )

    escalation = Escalation.objects.get(inquiry=desk.inquiry)
    assert (escalation.kind, escalation.status, escalation.owner, escalation.requested_by) == (
        "approval",
        "open",
        desk.supervisor,
        desk.agent,
    )
    assert list(
        EscalationChange.objects.filter(escalation=escalation).values_list(
            "from_status", "to_status", "note"
        )
    ) == [("", "open", "May we refund 5,000 yen?")]
    desk.inquiry.refresh_from_db()
    assert desk.inquiry.status == "escalated"
    assert _moves(desk.inquiry)[-1] == ("new", "escalated", "agent1")
    assert "Approval request sent to Sachiko Sato." in response.content.decode()
    assert [message.to for message in mail.outbox] == [[desk.supervisor.email]]


def test_it_transfers_to_a_specialist_department(desk):
    client_for(desk.agent).post(
        _url(desk, "escalate"),
        {"kind": "transfer", "reason": "A billing question", "to_team": desk.billing.pk},
    )

    escalation = Escalation.objects.get(inquiry=desk.inquiry)
    assert (escalation.kind, escalation.owner, escalation.to_team) == (
        "transfer",
        desk.billing_lead,
        desk.billing,
    )
    desk.inquiry.refresh_from_db()
    assert (desk.inquiry.team, desk.inquiry.assignee) == (desk.billing, desk.agent)


def test_it_asks_a_named_manager_for_instructions(desk):
    client_for(desk.agent).post(
        _url(desk, "escalate"),
        {"kind": "instructions", "reason": "Which form?", "owner": desk.billing_lead.pk},
    )

    escalation = Escalation.objects.get(inquiry=desk.inquiry)
    assert (escalation.kind, escalation.owner) == ("instructions", desk.billing_lead)


def test_it_shows_a_transfer_without_department_inline(desk):
    response = client_for(desk.agent).post(
        _url(desk, "escalate"), {"kind": "transfer", "reason": "Billing"}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "A transfer needs the specialist department (to_team)." in html
    assert 'id="escalate-to_team_error"' in html
    assert '<details id="panel-escalate" open>' in html
    assert Escalation.objects.count() == 0


def test_it_shows_a_missing_reason_inline(desk):
    response = client_for(desk.agent).post(_url(desk, "escalate"), {"kind": "approval"})

    assert response.status_code == 400
    assert 'id="escalate-reason_error"' in response.content.decode()
    assert Escalation.objects.count() == 0


def test_it_refuses_escalating_to_a_sales_rep(desk):
    rep = user_with_role(roles.SALES_REP, username="rep1")

    response = client_for(desk.agent).post(
        _url(desk, "escalate"), {"kind": "approval", "reason": "?", "owner": rep.pk}
    )

    assert response.status_code == 400
    assert Escalation.objects.count() == 0


def test_it_lets_the_requester_withdraw_an_escalation(desk):
    client = client_for(desk.agent)
    client.post(_url(desk, "escalate"), {"kind": "approval", "reason": "Refund?"})
    escalation = Escalation.objects.get()

    response = client.post(f"/app/escalations/{escalation.pk}/cancel/", {"reason": ""})

    assert response["Location"] == f"{_url(desk)}#escalations"
    escalation.refresh_from_db()
    assert escalation.status == "cancelled"
    desk.inquiry.refresh_from_db()
    assert desk.inquiry.status == "open"


def test_it_refuses_a_colleague_withdrawing_someone_elses_escalation(desk):
    client_for(desk.agent).post(_url(desk, "escalate"), {"kind": "approval", "reason": "?"})
    escalation = Escalation.objects.get()

    response = client_for(desk.other_agent).post(f"/app/escalations/{escalation.pk}/cancel/")

    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.status == "open"


def test_it_shows_the_customers_other_interactions_in_the_history(desk):
    other = ContactFactory(email="someone@else.example")
    Touchpoint.objects.create(
        kind="web_visit", channel="web", contact=desk.inquiry.contact, summary="Pricing page"
    )
    Touchpoint.objects.create(kind="web_visit", channel="web", contact=other, summary="Elsewhere")

    html = client_for(desk.agent).get(_url(desk)).content.decode()

    assert "Pricing page" in html
    assert "Elsewhere" not in html
