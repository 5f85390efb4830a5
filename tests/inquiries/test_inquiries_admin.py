"""The inquiries admin: scoped like the API, highlighted breaches, and actions through the
services (take, assign, move, log a call, rotate a channel key)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from accounts import roles
from inquiries import channels, services
from inquiries.models import (
    InboundChannel,
    Inquiry,
    InquiryAssignment,
    InquiryStatusChange,
    PhoneCall,
    SavedReply,
    SlaPolicy,
)
from tests.factories import ContactFactory, TeamFactory, user_with_role

pytestmark = pytest.mark.django_db

LIST = "/admin/inquiries/inquiry/"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def team(support_agent):
    team = TeamFactory(name="Support", kind="support")
    team.members.add(support_agent)
    return team


@pytest.fixture
def agent_browser(support_agent):
    return _browser(support_agent)


def _open(team=None, subject="Order missing", **kwargs) -> Inquiry:
    return services.inquiry_open(
        channel="chat",
        subject=subject,
        body="Where is it?",
        customer=services.Customer(contact=ContactFactory()),
        team=team,
        **kwargs,
    )


def _action(browser, action: str, inquiries, **form):
    data = {"action": action, "_selected_action": [i.pk for i in inquiries], **form}
    if form:
        data["apply"] = "1"
    return browser.post(LIST, data)


@pytest.mark.parametrize(
    "url",
    [
        LIST,
        "/admin/inquiries/message/",
        "/admin/inquiries/phonecall/",
        "/admin/inquiries/savedreply/",
        "/admin/inquiries/inboundchannel/",
    ],
)
def test_it_shows_every_changelist_without_a_query_per_row(
    admin_user, url, django_assert_max_num_queries
):
    agent = user_with_role(roles.SUPPORT_AGENT)
    team = TeamFactory()
    for n in range(20):
        inquiry = _open(team)
        channels.phone_call_log(
            inquiry=inquiry,
            actor=agent,
            direction="inbound",
            duration_seconds=n,
            outcome="answered",
        )
        SavedReply.objects.create(title=f"Reply {n}", body="x", team=team)
        InboundChannel.objects.create(name=f"Chat {n}", kind="chat", team=team)

    with django_assert_max_num_queries(30):
        response = _browser(admin_user).get(url)

    assert response.status_code == 200


def test_it_lists_only_the_agents_inquiries(agent_browser, team):
    _open(team, subject="Ours to answer")
    _open(TeamFactory(), subject="Someone else's")

    page = agent_browser.get(LIST).content.decode()

    assert "Ours to answer" in page
    assert "Someone else" not in page


def test_it_highlights_a_breached_due_time(admin_user):
    SlaPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=30, resolution_minutes=600
    )
    with time_machine.travel(T0, tick=False):
        _open(TeamFactory())

    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        page = _browser(admin_user).get(LIST).content.decode()

    assert page.count("⚠") == 1


def test_it_shows_an_inquiry_with_its_thread_and_history(agent_browser, team):
    inquiry = _open(team)

    page = agent_browser.get(f"{LIST}{inquiry.pk}/change/").content.decode()

    assert "Where is it?" in page
    assert "status history" in page.lower()


def test_it_refuses_another_teams_inquiry_page(agent_browser, team):
    other = _open(TeamFactory())

    response = agent_browser.get(f"{LIST}{other.pk}/change/")

    assert response.status_code == 302  # the admin redirects a missing object to the index


def test_it_takes_inquiries_with_the_assign_to_me_action(agent_browser, support_agent, team):
    inquiry = _open(team)

    response = _action(agent_browser, "assign_to_me", [inquiry])

    assert response.status_code == 302
    inquiry.refresh_from_db()
    assert inquiry.assignee == support_agent
    assert InquiryAssignment.objects.get(inquiry=inquiry).actor == support_agent


def test_it_asks_for_the_assignee_then_assigns(agent_browser, support_agent, team):
    other = user_with_role(roles.SUPPORT_AGENT, username="other")
    inquiry = _open(team)

    form_page = _action(agent_browser, "assign", [inquiry])
    response = _action(agent_browser, "assign", [inquiry], assignee=other.pk, note="yours")

    assert form_page.status_code == 200
    assert "Assign inquiries" in form_page.content.decode()
    assert response.status_code == 302
    row = InquiryAssignment.objects.get(inquiry=inquiry)
    assert (row.to_assignee, row.actor, row.note) == (other, support_agent, "yours")


def test_it_moves_the_status_from_the_admin_and_reports_refusals(
    agent_browser, support_agent, team
):
    inquiry = _open(team)

    _action(agent_browser, "move_status", [inquiry], to_status="closed", note="")
    assert Inquiry.objects.get(pk=inquiry.pk).status == "new"

    _action(agent_browser, "move_status", [inquiry], to_status="closed", note="spam")
    row = InquiryStatusChange.objects.filter(inquiry=inquiry).order_by("-id").first()
    assert (row.from_status, row.to_status, row.actor, row.note) == (
        "new",
        "closed",
        support_agent,
        "spam",
    )


def test_it_logs_a_call_from_the_admin(agent_browser, support_agent, team):
    inquiry = _open(team)

    _action(
        agent_browser,
        "log_call",
        [inquiry],
        direction="outbound",
        duration_seconds=120,
        outcome="callback",
        notes="Will call back tomorrow",
    )

    call = PhoneCall.objects.get()
    assert (call.direction, call.duration_seconds, call.outcome) == ("outbound", 120, "callback")
    assert (call.message.inquiry, call.message.author_user, call.message.body) == (
        inquiry,
        support_agent,
        "Will call back tomorrow",
    )


def test_it_leaves_a_reps_actions_out(sales_rep):
    owner = ContactFactory(owner=sales_rep)
    inquiry = services.inquiry_open(
        channel="chat", subject="x", body="y", customer=services.Customer(contact=owner)
    )

    response = _action(_browser(sales_rep), "assign_to_me", [inquiry])

    assert Inquiry.objects.get(pk=inquiry.pk).assignee is None
    # "No action selected": a rep's only action is "Export selected as CSV".
    assert response.status_code == 302


def test_it_logs_an_inquiry_from_the_admin_add_page(agent_browser, support_agent, team):
    contact = ContactFactory()

    response = agent_browser.post(
        f"{LIST}add/",
        {
            "contact": contact.pk,
            "channel": "phone",
            "subject": "Called about the invoice",
            "body": "Wants a copy",
            "category": "",
            "priority": "normal",
            "team": team.pk,
            "deal": "",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    inquiry = Inquiry.objects.get()
    assert (inquiry.contact, inquiry.channel, inquiry.team, inquiry.assignee) == (
        contact,
        "phone",
        team,
        support_agent,
    )
    assert inquiry.messages.get().body == "Wants a copy"


def test_it_rotates_an_inbound_channel_key(manager):
    InboundChannel.objects.create(name="Chat", kind="chat")
    channel = InboundChannel.objects.get()
    old = channel.key
    admin = user_with_role(roles.ADMIN)

    _browser(admin).post(
        "/admin/inquiries/inboundchannel/",
        {"action": "rotate_key", "_selected_action": [channel.pk]},
    )

    channel.refresh_from_db()
    assert channel.key != old
