"""The inquiry services: status moves with their history rows, messages on the timeline, first
response and reopening, assignment compare-and-set, routing rules and visibility per role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import roles
from accounts.models import Notification, Touchpoint
from frontoffice.errors import ApplicationError, ConflictError
from inquiries import channels, services
from inquiries.models import (
    AssignmentRule,
    Inquiry,
    InquiryAssignment,
    InquiryStatusChange,
    Message,
    SlaPolicy,
)
from inquiries.selectors import inquiries_visible_to, inquiries_workable_by
from tests.factories import ContactFactory, DealFactory, TeamFactory, user_with_role

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _open(contact=None, **kwargs) -> Inquiry:
    contact = contact or ContactFactory(email="hanako@kaisha.co.jp", name="Hanako")
    kwargs.setdefault("channel", "email")
    kwargs.setdefault("subject", "Invoice is wrong")
    kwargs.setdefault("body", "The March invoice double-counts the licence.")
    return services.inquiry_open(customer=services.Customer(contact=contact), **kwargs)


def _history(inquiry) -> list[tuple[str, str]]:
    return list(
        InquiryStatusChange.objects.filter(inquiry=inquiry)
        .order_by("id")
        .values_list("from_status", "to_status")
    )


def _at(inquiry, status: str, agent) -> Inquiry:
    """Bring the inquiry to `status` through real moves."""
    path = {
        "new": [],
        "open": ["open"],
        "pending": ["open", "pending"],
        "resolved": ["open", "resolved"],
        "closed": ["open", "resolved", "closed"],
    }[status]
    for step in path:
        services.inquiry_move(inquiry=inquiry, to_status=step, actor=agent)
    return inquiry


# --- Status moves -------------------------------------------------------------------------------

ALLOWED = [
    ("new", "open", ""),
    ("new", "pending", ""),
    ("new", "resolved", ""),
    ("new", "closed", "spam"),
    ("open", "pending", ""),
    ("open", "resolved", ""),
    ("open", "closed", "duplicate of #1"),
    ("pending", "open", ""),
    ("pending", "resolved", ""),
    ("pending", "closed", "no answer for a month"),
    ("resolved", "open", "not fixed after all"),
    ("resolved", "closed", ""),
]
REFUSED = [
    ("new", "closed", "", "note"),
    ("open", "closed", "", "note"),
    ("pending", "closed", "", "note"),
    ("resolved", "open", "", "note"),
    ("new", "escalated", "why", "to_status"),
    ("open", "new", "why", "to_status"),
    ("resolved", "pending", "why", "to_status"),
    ("closed", "open", "why", "to_status"),
    ("closed", "resolved", "why", "to_status"),
    ("open", "open", "", "to_status"),
    ("open", "archived", "", "to_status"),
]


@pytest.mark.parametrize(("from_status", "to_status", "note"), ALLOWED)
def test_it_moves_the_status_and_writes_the_history_row(from_status, to_status, note):
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _at(_open(), from_status, agent)
    before = _history(inquiry)

    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        row = services.inquiry_move(inquiry=inquiry, to_status=to_status, actor=agent, note=note)

    inquiry.refresh_from_db()
    assert inquiry.status == to_status
    assert inquiry.status_changed_at == T0 + timedelta(days=1)
    assert _history(inquiry) == [*before, (from_status, to_status)]
    assert (row.actor, row.note, row.created_at) == (agent, note, T0 + timedelta(days=1))


@pytest.mark.parametrize(("from_status", "to_status", "note", "field"), REFUSED)
def test_it_refuses_a_move_and_writes_nothing(from_status, to_status, note, field):
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _at(_open(), from_status, agent)
    before = _history(inquiry)

    with pytest.raises(ApplicationError) as caught:
        services.inquiry_move(inquiry=inquiry, to_status=to_status, actor=agent, note=note)

    assert list(caught.value.errors) == [field]
    inquiry.refresh_from_db()
    assert inquiry.status == from_status
    assert _history(inquiry) == before


def test_it_sets_and_clears_the_resolution_time():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _at(_open(), "open", agent)

    with time_machine.travel(T0, tick=False):
        services.inquiry_move(inquiry=inquiry, to_status="resolved", actor=agent)
    inquiry.refresh_from_db()
    assert inquiry.resolved_at == T0

    services.inquiry_move(inquiry=inquiry, to_status="open", actor=agent, note="came back")
    inquiry.refresh_from_db()
    assert inquiry.resolved_at is None


def test_it_refuses_a_move_from_a_stale_status_with_a_conflict():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _open()
    stale = Inquiry.objects.get(pk=inquiry.pk)
    services.inquiry_move(inquiry=inquiry, to_status="open", actor=agent)

    with pytest.raises(ConflictError):
        services.inquiry_move(inquiry=stale, to_status="pending", actor=agent)

    assert _history(inquiry) == [("", "new"), ("new", "open")]


# --- Messages, timeline, first response, reopening ----------------------------------------------


def test_it_opens_an_inquiry_with_its_first_message_on_the_timeline():
    contact = ContactFactory(email="hanako@kaisha.co.jp")

    with time_machine.travel(T0, tick=False):
        inquiry = _open(contact, channel="email")

    message = Message.objects.get(inquiry=inquiry)
    touchpoint = Touchpoint.objects.get(contact=contact)
    assert (message.direction, message.author_contact, message.created_at) == (
        "inbound",
        contact,
        T0,
    )
    assert (touchpoint.kind, touchpoint.channel, touchpoint.occurred_at) == (
        "inquiry_message",
        "email",
        T0,
    )
    assert touchpoint.summary == (
        f"[#{inquiry.pk}] Invoice is wrong: The March invoice double-counts the licence."
    )
    assert message.touchpoint == touchpoint
    assert _history(inquiry) == [("", "new")]


def test_it_puts_replies_on_the_timeline_but_not_internal_notes():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _open()

    channels.inquiry_note_add(inquiry=inquiry, author=agent, body="Customer is a VIP")
    reply = channels.inquiry_reply_send(inquiry=inquiry, author=agent, body="We fixed it.")

    touchpoints = Touchpoint.objects.filter(contact=inquiry.contact).order_by("id")
    assert [(t.kind, t.actor) for t in touchpoints] == [
        ("inquiry_message", None),
        ("inquiry_message", agent),
    ]
    assert reply.touchpoint == touchpoints.last()
    note = Message.objects.get(inquiry=inquiry, direction="note")
    assert note.touchpoint is None


def test_it_sets_the_first_response_time_on_the_first_reply_only():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _open(channel="chat")

    with time_machine.travel(T0, tick=False):
        channels.inquiry_reply_send(inquiry=inquiry, author=agent, body="Looking into it.")
    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        channels.inquiry_reply_send(inquiry=inquiry, author=agent, body="Fixed.")

    inquiry.refresh_from_db()
    assert inquiry.first_responded_at == T0
    assert inquiry.status == "open"
    assert _history(inquiry) == [("", "new"), ("new", "open")]


def test_it_does_not_count_an_internal_note_as_the_first_response():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _open()

    channels.inquiry_note_add(inquiry=inquiry, author=agent, body="Checking with billing")

    inquiry.refresh_from_db()
    assert (inquiry.first_responded_at, inquiry.status) == (None, "new")


@pytest.mark.parametrize("status", ["pending", "resolved"])
def test_it_reopens_on_a_customer_message(status):
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _at(_open(), status, agent)
    before = _history(inquiry)

    services.message_add(
        inquiry=inquiry,
        direction="inbound",
        body="Still broken.",
        author_contact=inquiry.contact,
    )

    inquiry.refresh_from_db()
    assert inquiry.status == "open"
    assert _history(inquiry) == [*before, (status, "open")]
    row = InquiryStatusChange.objects.filter(inquiry=inquiry).order_by("-id").first()
    assert (row.actor, row.note) == (None, "the customer wrote again")


def test_it_reopens_what_the_status_became_meanwhile_when_the_customer_writes():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _at(_open(), "pending", agent)
    stale = Inquiry.objects.get(pk=inquiry.pk)
    services.inquiry_move(inquiry=inquiry, to_status="resolved", actor=agent)
    before = _history(inquiry)

    services.message_add(
        inquiry=stale, direction="inbound", body="Any news?", author_contact=inquiry.contact
    )

    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.resolved_at) == ("open", None)
    assert _history(inquiry) == [*before, ("resolved", "open")]
    assert inquiry.messages.filter(body="Any news?").count() == 1


def test_it_keeps_the_status_when_the_inquiry_was_reopened_meanwhile():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _at(_open(), "pending", agent)
    stale = Inquiry.objects.get(pk=inquiry.pk)
    services.inquiry_move(inquiry=inquiry, to_status="open", actor=agent)
    before = _history(inquiry)

    services.message_add(
        inquiry=stale, direction="inbound", body="Any news?", author_contact=inquiry.contact
    )

    assert Inquiry.objects.get(pk=inquiry.pk).status == "open"
    assert _history(inquiry) == before


def test_it_refuses_messages_on_a_closed_inquiry():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _at(_open(), "closed", agent)

    with pytest.raises(ApplicationError) as caught:
        channels.inquiry_reply_send(inquiry=inquiry, author=agent, body="Hello?")

    assert list(caught.value.errors) == ["inquiry"]
    assert Message.objects.filter(inquiry=inquiry).count() == 1


def test_it_refuses_an_empty_reply_and_writes_nothing():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _open()

    with pytest.raises(ApplicationError) as caught:
        channels.inquiry_reply_send(inquiry=inquiry, author=agent, body="   ")

    assert list(caught.value.errors) == ["body"]
    assert Message.objects.filter(inquiry=inquiry).count() == 1


def test_it_computes_sla_due_times_from_the_policy():
    SlaPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=480
    )

    with time_machine.travel(T0, tick=False):
        inquiry = _open()

    assert inquiry.first_response_due_at == T0 + timedelta(minutes=60)
    assert inquiry.resolution_due_at == T0 + timedelta(minutes=480)


# --- Assignment ---------------------------------------------------------------------------------


def test_it_takes_an_unassigned_inquiry_and_writes_the_assignment_row():
    agent = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _open()

    row = channels.inquiry_take(inquiry=inquiry, actor=agent)

    inquiry.refresh_from_db()
    assert inquiry.assignee == agent
    assert (row.from_assignee, row.to_assignee, row.actor, row.note) == (
        None,
        agent,
        agent,
        "taken",
    )


def test_it_refuses_to_take_an_inquiry_someone_else_took_meanwhile():
    first = user_with_role(roles.SUPPORT_AGENT)
    second = user_with_role(roles.SUPPORT_AGENT)
    inquiry = _open()
    stale = Inquiry.objects.get(pk=inquiry.pk)
    channels.inquiry_take(inquiry=inquiry, actor=first)

    with pytest.raises(ConflictError):
        channels.inquiry_take(inquiry=stale, actor=second)

    assert Inquiry.objects.get(pk=inquiry.pk).assignee == first
    assert InquiryAssignment.objects.filter(inquiry=inquiry).count() == 1


def test_it_reassigns_to_another_team_with_a_row():
    agent = user_with_role(roles.SUPPORT_AGENT)
    other = user_with_role(roles.SUPPORT_AGENT)
    billing = TeamFactory(name="Billing", kind="support")
    inquiry = _open()
    channels.inquiry_take(inquiry=inquiry, actor=agent)

    services.inquiry_assign(inquiry=inquiry, assignee=other, team=billing, actor=agent)

    inquiry.refresh_from_db()
    assert (inquiry.assignee, inquiry.team) == (other, billing)
    assert list(
        InquiryAssignment.objects.filter(inquiry=inquiry)
        .order_by("id")
        .values_list("from_assignee", "to_assignee", "team")
    ) == [(None, agent.pk, None), (agent.pk, other.pk, billing.pk)]


# --- Routing rules ------------------------------------------------------------------------------


@pytest.fixture
def support_team():
    team = TeamFactory(name="Support", kind="support")
    agents = [user_with_role(roles.SUPPORT_AGENT, username=f"agent{n}") for n in range(3)]
    team.members.add(*agents)
    return team, agents


def test_it_assigns_by_round_robin_in_turn(support_team):
    team, agents = support_team
    AssignmentRule.objects.create(name="All", team=team, strategy="round_robin")

    assignees = [_open(ContactFactory()).assignee for _ in range(4)]

    assert assignees == [agents[0], agents[1], agents[2], agents[0]]
    inquiry = Inquiry.objects.order_by("id").first()
    row = InquiryAssignment.objects.get(inquiry=inquiry)
    assert (row.to_assignee, row.team, row.actor, row.rule.name) == (agents[0], team, None, "All")


def test_it_assigns_to_the_agent_with_the_least_open_work(support_team):
    team, agents = support_team
    busy = _open(ContactFactory())
    services.inquiry_assign(inquiry=busy, assignee=agents[0])
    done = _open(ContactFactory())
    services.inquiry_assign(inquiry=done, assignee=agents[1])
    services.inquiry_move(inquiry=done, to_status="resolved")
    AssignmentRule.objects.create(name="Least", team=team, strategy="least_open")

    first = _open(ContactFactory())
    second = _open(ContactFactory())

    assert (first.assignee, first.team) == (agents[1], team)
    assert second.assignee == agents[2]


def test_it_puts_an_inquiry_in_the_team_queue_only(support_team):
    team, _agents = support_team
    AssignmentRule.objects.create(name="Queue", team=team, strategy="queue_only")

    inquiry = _open()

    inquiry.refresh_from_db()
    assert (inquiry.team, inquiry.assignee) == (team, None)
    assert InquiryAssignment.objects.get(inquiry=inquiry).rule.name == "Queue"


def test_it_uses_the_first_rule_matching_channel_and_category(support_team):
    team, agents = support_team
    billing = TeamFactory(name="Billing", kind="support")
    AssignmentRule.objects.create(
        name="Chat billing",
        team=billing,
        channel="chat",
        category="billing",
        position=1,
        strategy="queue_only",
    )
    AssignmentRule.objects.create(name="Rest", team=team, strategy="round_robin", position=2)

    chat_billing = _open(ContactFactory(), channel="chat", category="Billing")
    email_billing = _open(ContactFactory(), channel="email", category="billing")

    assert (chat_billing.team, chat_billing.assignee) == (billing, None)
    assert (email_billing.team, email_billing.assignee) == (team, agents[0])


# --- Via a sales rep ----------------------------------------------------------------------------


def test_it_queues_an_inquiry_a_rep_logged_and_tells_the_rep(support_team):
    team, _agents = support_team
    AssignmentRule.objects.create(name="Queue", team=team, strategy="queue_only")
    rep = user_with_role(roles.SALES_REP, username="rep")
    contact = ContactFactory(name="Taro Sato")

    inquiry = channels.inquiry_log(
        actor=rep,
        channel="sales_rep",
        customer=services.Customer(contact=contact),
        subject="Asked about the warranty",
        body="Told me at the visit that the warranty card is missing.",
    )

    assert (inquiry.source_rep, inquiry.team, inquiry.assignee) == (rep, team, None)
    note = Notification.objects.get(recipient=rep)
    assert (note.kind, note.key) == ("inquiry_logged", f"inquiry-logged:{inquiry.pk}")
    assert inquiries_visible_to(rep).filter(pk=inquiry.pk).exists()
    assert not inquiries_workable_by(rep).filter(pk=inquiry.pk).exists()
    message = Message.objects.get(inquiry=inquiry)
    assert (message.author_user, message.author_contact) == (rep, contact)
    assert Touchpoint.objects.get(contact=contact).channel == "sales_rep"


def test_it_refuses_a_rep_logging_by_another_channel():
    rep = user_with_role(roles.SALES_REP, username="rep")

    with pytest.raises(ApplicationError) as caught:
        channels.inquiry_log(
            actor=rep,
            channel="phone",
            customer=services.Customer(contact=ContactFactory()),
            subject="x",
            body="y",
        )

    assert list(caught.value.errors) == ["channel"]
    assert Inquiry.objects.count() == 0


# --- Visibility ---------------------------------------------------------------------------------


INQUIRY_NAMES = ("team_queue", "other_team", "own_customer", "deal_customer", "nobodys", "unrouted")


@pytest.fixture
def world():
    supervisor = user_with_role(roles.MANAGER, username="boss")
    agent = user_with_role(roles.SUPPORT_AGENT, username="agent")
    outsider = user_with_role(roles.SUPPORT_AGENT, username="outsider")
    rep = user_with_role(roles.SALES_REP, username="rep")
    admin = user_with_role(roles.ADMIN, username="admin")
    support = TeamFactory(name="Support", kind="support", supervisor=supervisor)
    support.members.add(agent, supervisor)
    other = TeamFactory(name="Hardware", kind="specialist")
    other.members.add(outsider)
    own_customer = ContactFactory(owner=rep)
    deal_customer = DealFactory(owner=rep).contact
    inquiries = {
        "team_queue": _open(ContactFactory(), team=support),
        "other_team": _open(ContactFactory(), team=other),
        "own_customer": _open(own_customer, team=other),
        "deal_customer": _open(deal_customer, team=other),
        "nobodys": _open(ContactFactory()),
        "unrouted": _open(ContactFactory()),
    }
    services.inquiry_assign(inquiry=inquiries["nobodys"], assignee=agent)
    users = {"boss": supervisor, "agent": agent, "outsider": outsider, "rep": rep, "admin": admin}
    return users, inquiries


def _names(queryset, inquiries) -> set[str]:
    ids = set(queryset.values_list("pk", flat=True))
    return {name for name, inquiry in inquiries.items() if inquiry.pk in ids}


@pytest.mark.parametrize(
    ("user", "visible"),
    [
        ("agent", {"team_queue", "nobodys", "unrouted"}),
        ("boss", {"team_queue", "unrouted"}),
        ("outsider", {"other_team", "own_customer", "deal_customer", "unrouted"}),
        ("rep", {"own_customer", "deal_customer"}),
        ("admin", {*INQUIRY_NAMES}),
    ],
)
def test_it_shows_each_role_its_inquiries(world, user, visible):
    users, inquiries = world

    assert _names(inquiries_visible_to(users[user]), inquiries) == visible


@pytest.mark.parametrize(
    ("user", "workable"),
    [
        ("agent", {"team_queue", "nobodys", "unrouted"}),
        ("rep", set()),
        ("admin", {*INQUIRY_NAMES}),
    ],
)
def test_it_lets_only_those_who_answer_work_on_inquiries(world, user, workable):
    users, inquiries = world

    assert _names(inquiries_workable_by(users[user]), inquiries) == workable
