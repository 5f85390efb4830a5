"""A support inquiry from email to resolution, in a real headless Chromium: the agent answers an
email inquiry (the inquiry came in through the inbound email service; the reply goes out
through Django's email backend, threaded) and asks the supervisor for an approval; the
supervisor approves it; the agent resolves the inquiry. With JavaScript (htmx) on, at laptop
and tablet widths; the resolve button is pressed with the keyboard."""

from __future__ import annotations

import pytest
from django.core import mail

from inquiries.models import Escalation, EscalationChange, InquiryStatusChange, Message
from tests.e2e.browser import chromium_page, requires_chromium, sign_in
from tests.frontoffice.workspace.support_desk import CUSTOMER, make_desk

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
pytestmark = requires_chromium

# Does the page need sideways scrolling at this width?
OVERFLOWS = "() => document.documentElement.scrollWidth > window.innerWidth + 1"


def _sign_out(page) -> None:
    page.click("header.topbar form[action$='/logout/'] button")
    page.wait_for_url("**/app/login/**")


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 900}, {"width": 820, "height": 1180}], ids=str
)
def test_it_answers_escalates_approves_and_resolves_an_email_inquiry(
    role_groups, live_server, viewport
):
    desk = make_desk()
    inquiry = desk.inquiry
    mail.outbox.clear()
    errors: list[str] = []
    overflowing: list[str] = []

    with chromium_page(viewport=viewport) as page:
        page.on("pageerror", lambda error: errors.append(str(error)))

        # The agent finds the inquiry in their inbox and opens it.
        sign_in(page, live_server.url, desk.agent.username, next_path="/app/support/")
        page.wait_for_selector(f"tr[data-inquiry='{inquiry.pk}']")
        if page.evaluate(OVERFLOWS):
            overflowing.append("inbox")
        page.click(f"tr[data-inquiry='{inquiry.pk}'] a")
        page.wait_for_selector("#thread")
        if page.evaluate(OVERFLOWS):
            overflowing.append("inquiry")

        # Reply by email (htmx posts the form and swaps the page's main part: the page itself
        # is not reloaded, so a mark left on the window survives).
        page.evaluate("() => { window.stillThisPage = true; }")
        page.fill("#reply-body", "We have changed the address on your invoices.")
        page.click("#send-reply")
        page.wait_for_selector(".messages .message.success")
        replied = page.inner_text(".messages")
        thread_after_reply = page.inner_text("#thread")
        swapped_in_place = page.evaluate("() => window.stillThisPage === true")

        # Ask the supervisor for an approval.
        page.click("#panel-escalate summary")
        page.check("#panel-escalate input[name=kind][value=approval]")
        page.fill("#escalate-reason", "May we waive this month's fee?")
        page.click("#escalate")
        page.wait_for_selector("#inquiry-status[data-status=escalated]")
        escalated = page.inner_text(".messages")
        _sign_out(page)

        # The supervisor approves it from the escalations addressed to them.
        sign_in(page, live_server.url, desk.supervisor.username, next_path="/app/escalations/")
        page.wait_for_selector("table.escalations")
        page.click("table.escalations tbody tr a")
        page.wait_for_selector("#decision-form")
        if page.evaluate(OVERFLOWS):
            overflowing.append("escalation")
        page.fill("#id_comment", "Approved: waive it once.")
        page.click("#approve")
        page.wait_for_selector("#escalation-status[data-status=approved]")
        approved = page.inner_text(".messages")
        _sign_out(page)

        # The agent sees the answer and resolves the inquiry with the keyboard.
        sign_in(
            page, live_server.url, desk.agent.username, next_path=f"/app/inquiries/{inquiry.pk}/"
        )
        page.wait_for_selector("#inquiry-status[data-status=open]")
        answer_seen = page.inner_text("#escalations")
        page.focus("#resolve")
        page.keyboard.press("Enter")
        page.wait_for_selector("#inquiry-status[data-status=resolved]")
        resolved = page.inner_text(".messages")

    assert errors == []
    assert overflowing == []
    assert f"Your reply is on its way to {CUSTOMER}." in replied
    assert swapped_in_place
    assert "We have changed the address on your invoices." in thread_after_reply
    assert "Approval request sent to Sachiko Sato." in escalated
    assert "Approved." in approved
    assert "Approved: waive it once." in answer_seen
    assert "The inquiry is now Resolved." in resolved

    # The reply went out through Django's email backend, threaded on the customer's mail.
    reply = Message.objects.get(inquiry=inquiry, direction="outbound")
    assert (reply.author_user, reply.delivery) == (desk.agent, "sent")
    assert len(mail.outbox) == 3  # the reply, the approval request, the approval
    sent = next(message for message in mail.outbox if message.to == [CUSTOMER])
    assert sent.subject == f"Re: Invoice address change [#{inquiry.pk}]"
    assert sent.extra_headers["In-Reply-To"] == "<q1@kaisha.co.jp>"
    assert sent.body == "We have changed the address on your invoices."

    escalation = Escalation.objects.get(inquiry=inquiry)
    assert (escalation.kind, escalation.status, escalation.owner, escalation.answer) == (
        "approval",
        "approved",
        desk.supervisor,
        "Approved: waive it once.",
    )
    assert list(
        EscalationChange.objects.filter(escalation=escalation)
        .order_by("created_at", "id")
        .values_list("to_status", "actor__username")
    ) == [("open", "agent1"), ("approved", "sup")]
    assert list(
        InquiryStatusChange.objects.filter(inquiry=inquiry)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status", "actor__username")
    ) == [
        ("", "new", None),
        ("new", "open", "agent1"),
        ("open", "escalated", "agent1"),
        ("escalated", "open", "sup"),
        ("open", "resolved", "agent1"),
    ]
