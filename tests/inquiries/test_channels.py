"""Channel intake: chat (one conversation is one inquiry), the public web form, phone calls an
agent logs, and inquiries a sales rep records for a customer."""

from __future__ import annotations

from datetime import UTC, datetime
from unittest import mock

import pytest

from accounts import roles
from accounts.models import Contact, Notification, Touchpoint
from inquiries import channels
from inquiries.models import (
    AssignmentRule,
    InboundChannel,
    Inquiry,
    InquiryStatusChange,
    Message,
    PhoneCall,
)
from tests.factories import ContactFactory, TeamFactory, user_with_role

pytestmark = pytest.mark.django_db

CHAT_URL = "/api/v1/inbound/chat/"
FORM_URL = "/api/v1/inbound/web-form/"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def support():
    return TeamFactory(name="Support", kind="support")


@pytest.fixture
def chat(support):
    return InboundChannel.objects.create(
        name="Website chat", kind="chat", team=support, category="general"
    )


@pytest.fixture
def web_form(support):
    return InboundChannel.objects.create(name="Contact form", kind="web_form", team=support)


def _chat(api_client, chat, **payload):
    body = {
        "conversation_id": "conv-1",
        "message": "Hello, my order has not arrived",
        "customer": {"email": "hanako@kaisha.co.jp", "name": "Hanako Yamada"},
        **payload,
    }
    return api_client.post(CHAT_URL, body, format="json", HTTP_X_CHANNEL_KEY=chat.key)


# --- Chat ---------------------------------------------------------------------------------------


def test_it_opens_an_inquiry_with_the_first_chat_message(api_client, chat, support):
    response = _chat(api_client, chat, sent_at="2026-03-02T10:00:00+09:00")

    assert response.status_code == 201
    inquiry = Inquiry.objects.get()
    message = Message.objects.get()
    assert response.json() == {"inquiry": inquiry.pk, "message": message.pk, "opened": True}
    contact = Contact.objects.get()
    assert (contact.email, contact.name) == ("hanako@kaisha.co.jp", "Hanako Yamada")
    assert (inquiry.channel, inquiry.conversation_id, inquiry.inbound_channel) == (
        "chat",
        "conv-1",
        chat,
    )
    assert (inquiry.team, inquiry.category, inquiry.subject, inquiry.created_at) == (
        support,
        "general",
        "Hello, my order has not arrived",
        T0,
    )
    assert (message.direction, message.channel, message.author_contact) == (
        "inbound",
        "chat",
        contact,
    )
    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.channel, touchpoint.contact, touchpoint.occurred_at) == ("chat", contact, T0)


def test_it_threads_later_messages_of_the_conversation_onto_its_inquiry(api_client, chat):
    _chat(api_client, chat)

    response = _chat(api_client, chat, message="Order number is 1234", customer={})

    assert response.status_code == 201
    inquiry = Inquiry.objects.get()
    assert response.json()["opened"] is False
    assert list(inquiry.messages.order_by("id").values_list("body", "author_contact")) == [
        ("Hello, my order has not arrived", inquiry.contact_id),
        ("Order number is 1234", inquiry.contact_id),
    ]
    assert Touchpoint.objects.filter(contact=inquiry.contact).count() == 2


def test_it_opens_one_inquiry_per_conversation(api_client, chat):
    _chat(api_client, chat)
    _chat(api_client, chat, conversation_id="conv-2")

    assert list(Inquiry.objects.order_by("id").values_list("conversation_id", flat=True)) == [
        "conv-1",
        "conv-2",
    ]
    assert Contact.objects.count() == 1


def test_it_reopens_a_resolved_chat_inquiry_when_the_customer_writes(api_client, chat):
    agent = user_with_role(roles.SUPPORT_AGENT)
    _chat(api_client, chat)
    inquiry = Inquiry.objects.get()
    channels.inquiry_reply_send(inquiry=inquiry, author=agent, body="Shipped today.")
    from inquiries.services import inquiry_move

    inquiry_move(inquiry=inquiry, to_status="resolved", actor=agent)

    _chat(api_client, chat, message="It did not come")

    inquiry.refresh_from_db()
    assert inquiry.status == "open"
    assert list(
        InquiryStatusChange.objects.filter(inquiry=inquiry)
        .order_by("id")
        .values_list("from_status", "to_status")
    ) == [("", "new"), ("new", "open"), ("open", "resolved"), ("resolved", "open")]


def test_it_opens_a_new_inquiry_when_a_closed_conversation_continues(api_client, chat):
    agent = user_with_role(roles.SUPPORT_AGENT)
    _chat(api_client, chat)
    closed = Inquiry.objects.get()
    from inquiries.services import inquiry_move

    inquiry_move(inquiry=closed, to_status="closed", actor=agent, note="spam")

    response = _chat(api_client, chat, message="Hello again", customer={})

    assert response.status_code == 201, response.json()
    reopened = Inquiry.objects.exclude(pk=closed.pk).get()
    assert (reopened.conversation_id, reopened.status, reopened.contact_id) == (
        "conv-1",
        "new",
        closed.contact_id,
    )
    assert list(reopened.messages.values_list("body", flat=True)) == ["Hello again"]
    assert Message.objects.filter(inquiry=closed).count() == 1


def test_it_threads_onto_the_inquiry_a_simultaneous_first_message_opened(chat):
    first = channels.chat_message_receive(
        inbound_channel=chat,
        conversation_id="conv-1",
        message="Hello",
        customer=channels.services.Customer(email="hanako@kaisha.co.jp"),
    )
    real_lookup = channels._conversation_inquiry
    calls = []

    def lookup_missing_the_winner_once(inbound_channel, conversation_id):
        calls.append(conversation_id)
        return None if len(calls) == 1 else real_lookup(inbound_channel, conversation_id)

    with mock.patch.object(channels, "_conversation_inquiry", lookup_missing_the_winner_once):
        second = channels.chat_message_receive(
            inbound_channel=chat,
            conversation_id="conv-1",
            message="Anyone there?",
            customer=channels.services.Customer(email="hanako@kaisha.co.jp"),
        )

    assert (second.inquiry.pk, second.opened) == (first.inquiry.pk, False)
    assert Inquiry.objects.count() == 1
    assert list(Message.objects.order_by("id").values_list("body", flat=True)) == [
        "Hello",
        "Anyone there?",
    ]


def test_it_accepts_the_key_in_the_body(api_client, chat):
    response = api_client.post(
        CHAT_URL,
        {
            "channel_key": chat.key,
            "conversation_id": "c",
            "message": "Hi",
            "customer": {"name": "X"},
        },
        format="json",
    )

    assert response.status_code == 201


@pytest.mark.parametrize("key", ["", "not-a-key"])
def test_it_refuses_a_chat_message_with_a_bad_key(api_client, chat, key):
    response = api_client.post(
        CHAT_URL,
        {"conversation_id": "c", "message": "Hi", "customer": {"name": "X"}},
        format="json",
        HTTP_X_CHANNEL_KEY=key,
    )

    assert response.status_code == 403
    assert Inquiry.objects.count() == 0


def test_it_refuses_a_web_form_key_on_the_chat_endpoint(api_client, chat, web_form):
    response = _chat(api_client, web_form)

    assert response.status_code == 403


def test_it_refuses_an_inactive_channel(api_client, chat):
    InboundChannel.objects.filter(pk=chat.pk).update(is_active=False)

    response = _chat(api_client, chat)

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"message": "Hi", "customer": {"name": "X"}}, ["conversation_id"]),
        ({"conversation_id": "c", "customer": {"name": "X"}}, ["message"]),
        ({"conversation_id": "c", "message": "   ", "customer": {"name": "X"}}, ["message"]),
        ({"conversation_id": "c", "message": "Hi", "colour": "red"}, ["colour"]),
        ({"conversation_id": "c", "message": "Hi", "customer": {"nick": "X"}}, ["customer"]),
        ({"conversation_id": "c", "message": "Hi", "customer": "X"}, ["customer"]),
        ({"conversation_id": "c", "message": "Hi", "sent_at": "yesterday"}, ["sent_at"]),
        ({"conversation_id": "c" * 201, "message": "Hi"}, ["conversation_id"]),
        ({"conversation_id": "c", "message": "Hi", "customer": {}}, ["email", "phone", "name"]),
        ({"conversation_id": ["c"], "message": "Hi"}, ["conversation_id"]),
    ],
)
def test_it_answers_bad_chat_input_with_field_errors(api_client, chat, payload, fields):
    response = api_client.post(CHAT_URL, payload, format="json", HTTP_X_CHANNEL_KEY=chat.key)

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == sorted(fields)
    assert Inquiry.objects.count() == 0


def test_it_answers_invalid_json_with_a_400(api_client, chat):
    response = api_client.post(
        CHAT_URL, "{not json", content_type="application/json", HTTP_X_CHANNEL_KEY=chat.key
    )

    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


# --- Web form -----------------------------------------------------------------------------------


def test_it_opens_an_inquiry_from_the_web_form(api_client, web_form, support):
    response = api_client.post(
        FORM_URL,
        {
            "name": "Taro Sato",
            "email": "Taro@Example.co.jp",
            "phone": "03-1234-5678",
            "company": "Example KK",
            "subject": "Cannot log in",
            "message": "The password reset mail never arrives.",
            "category": "account",
        },
        format="json",
        HTTP_X_CHANNEL_KEY=web_form.key,
    )

    assert response.status_code == 201
    inquiry = Inquiry.objects.get()
    assert response.json() == {"result": "received", "reference": f"#{inquiry.pk}"}
    assert (inquiry.channel, inquiry.subject, inquiry.category, inquiry.team) == (
        "web_form",
        "Cannot log in",
        "account",
        support,
    )
    assert (inquiry.contact.email, inquiry.account.name) == ("taro@example.co.jp", "Example KK")
    message = Message.objects.get()
    assert (message.body, message.author_contact) == (
        "The password reset mail never arrives.",
        inquiry.contact,
    )
    assert Touchpoint.objects.get().channel == "web"


def test_it_finds_the_known_customer_from_the_web_form(api_client, web_form):
    known = ContactFactory(email="taro@example.co.jp")

    api_client.post(
        FORM_URL,
        {"channel_key": web_form.key, "email": "TARO@example.co.jp", "message": "Help"},
        format="json",
    )

    assert Inquiry.objects.get().contact == known
    assert Contact.objects.count() == 1


def test_it_routes_a_web_form_without_a_team_by_the_rules(api_client):
    team = TeamFactory(name="Routing", kind="support")
    agent = user_with_role(roles.SUPPORT_AGENT)
    team.members.add(agent)
    AssignmentRule.objects.create(name="Web", team=team, channel="web_form")
    form = InboundChannel.objects.create(name="No team", kind="web_form")

    api_client.post(
        FORM_URL,
        {"email": "a@b.example", "message": "Help"},
        format="json",
        HTTP_X_CHANNEL_KEY=form.key,
    )

    inquiry = Inquiry.objects.get()
    assert (inquiry.team, inquiry.assignee) == (team, agent)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"name": "X", "message": "Help"}, ["email", "phone"]),
        ({"email": "a@b.example"}, ["message"]),
        ({"email": "a@b.example", "message": "Help", "website": "http://spam"}, ["website"]),
        ({"email": "a@b.example", "message": "Help", "priority": "urgent"}, ["priority"]),
        ({"email": "not an address", "message": "Help"}, ["email"]),
        ({"email": "a@b.example", "message": "x" * 20001}, ["message"]),
    ],
)
def test_it_answers_bad_web_form_input_with_field_errors(api_client, web_form, payload, fields):
    response = api_client.post(FORM_URL, payload, format="json", HTTP_X_CHANNEL_KEY=web_form.key)

    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == sorted(fields)
    assert Inquiry.objects.count() == 0


def test_it_refuses_a_web_form_with_a_chat_key(api_client, chat):
    response = api_client.post(
        FORM_URL,
        {"email": "a@b.example", "message": "Help"},
        format="json",
        HTTP_X_CHANNEL_KEY=chat.key,
    )

    assert response.status_code == 403
    assert Inquiry.objects.count() == 0


def test_it_throttles_the_web_form_per_client(api_client, web_form, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "lead_capture": "2/minute",
        },
    }
    from rest_framework.throttling import ScopedRateThrottle

    with mock.patch.object(
        ScopedRateThrottle, "THROTTLE_RATES", settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    ):
        codes = [
            api_client.post(
                FORM_URL,
                {"email": f"p{n}@b.example", "message": "Help"},
                format="json",
                HTTP_X_CHANNEL_KEY=web_form.key,
            ).status_code
            for n in range(3)
        ]

    assert codes == [201, 201, 429]
    assert Inquiry.objects.count() == 2


def test_it_rotates_a_channel_key(api_client, web_form):
    old = web_form.key

    channels.inbound_channel_rotate_key(inbound_channel=web_form)

    response = api_client.post(
        FORM_URL, {"email": "a@b.example", "message": "Help"}, format="json", HTTP_X_CHANNEL_KEY=old
    )
    assert response.status_code == 403
    assert InboundChannel.objects.get(pk=web_form.pk).key not in ("", old)


# --- Phone --------------------------------------------------------------------------------------


def test_it_logs_a_call_on_an_inquiry_as_a_phone_message_on_the_timeline(
    support_agent, agent_client, support
):
    agent = support_agent
    support.members.add(agent)
    contact = ContactFactory()
    inquiry = channels.services.inquiry_open(
        channel="email",
        subject="Broken",
        body="It broke",
        customer=channels.services.Customer(contact=contact),
        team=support,
    )

    response = agent_client.post(
        f"/api/v1/inquiries/{inquiry.pk}/log-call/",
        {
            "direction": "outbound",
            "duration_seconds": 300,
            "outcome": "answered",
            "notes": "Walked",
        },
        format="json",
    )

    assert response.status_code == 201
    message = Message.objects.get(pk=response.json()["id"])
    call = PhoneCall.objects.get()
    assert response.json()["phone_call"] == {
        "direction": "outbound",
        "duration_seconds": 300,
        "outcome": "answered",
    }
    assert (message.direction, message.channel, message.author_user, message.body) == (
        "outbound",
        "phone",
        agent,
        "Walked",
    )
    assert call.message == message
    touchpoint = message.touchpoint
    assert (touchpoint.kind, touchpoint.channel, touchpoint.actor) == ("call", "phone", agent)
    inquiry.refresh_from_db()
    assert inquiry.first_responded_at == message.created_at
    assert inquiry.status == "open"


def test_it_logs_an_incoming_call_as_the_customers_message():
    agent = user_with_role(roles.SUPPORT_AGENT)
    contact = ContactFactory()
    inquiry = channels.services.inquiry_open(
        channel="phone", subject="Call", customer=channels.services.Customer(contact=contact)
    )

    message = channels.phone_call_log(
        inquiry=inquiry, actor=agent, direction="inbound", duration_seconds=61, outcome="voicemail"
    )

    assert (message.direction, message.author_contact, message.author_user) == (
        "inbound",
        contact,
        agent,
    )
    assert message.body == "Incoming call, 61 s, Voicemail"
    inquiry.refresh_from_db()
    assert inquiry.first_responded_at is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"direction": "sideways", "duration_seconds": 1, "outcome": "answered"}, "direction"),
        (
            {"direction": "inbound", "duration_seconds": -1, "outcome": "answered"},
            "duration_seconds",
        ),
        (
            {"direction": "inbound", "duration_seconds": 90000, "outcome": "answered"},
            "duration_seconds",
        ),
        (
            {"direction": "inbound", "duration_seconds": "long", "outcome": "answered"},
            "duration_seconds",
        ),
        ({"direction": "inbound", "duration_seconds": 1, "outcome": "hung"}, "outcome"),
        ({"direction": "inbound", "duration_seconds": 1}, "outcome"),
    ],
)
def test_it_answers_a_bad_call_with_field_errors(support_agent, agent_client, payload, field):
    agent = support_agent
    team = TeamFactory()
    team.members.add(agent)
    inquiry = channels.services.inquiry_open(
        channel="phone",
        subject="Call",
        customer=channels.services.Customer(contact=ContactFactory()),
        team=team,
    )

    response = agent_client.post(
        f"/api/v1/inquiries/{inquiry.pk}/log-call/", payload, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert PhoneCall.objects.count() == 0
    assert Message.objects.count() == 0


def test_it_logs_a_new_phone_inquiry_with_its_call_from_the_api(support_agent, agent_client):
    agent = support_agent

    response = agent_client.post(
        "/api/v1/inquiries/",
        {
            "channel": "phone",
            "customer": {"phone": "090-1111-2222", "name": "Jiro Suzuki"},
            "subject": "Delivery date",
            "body": "Asked when the order ships.",
            "call": {"direction": "inbound", "duration_seconds": 240, "outcome": "answered"},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    inquiry = Inquiry.objects.get()
    assert response.json()["id"] == inquiry.pk
    assert (inquiry.channel, inquiry.assignee, inquiry.contact.name) == (
        "phone",
        agent,
        "Jiro Suzuki",
    )
    message = Message.objects.get()
    assert (message.body, message.phone_call.duration_seconds) == (
        "Asked when the order ships.",
        240,
    )
    assert Touchpoint.objects.get().kind == "call"


# --- Via a sales rep ----------------------------------------------------------------------------


def test_it_takes_an_inquiry_a_rep_records_into_the_queue(rep_client, sales_rep):
    team = TeamFactory(name="Queue", kind="support")
    AssignmentRule.objects.create(name="Rep", team=team, channel="sales_rep", strategy="queue_only")

    response = rep_client.post(
        "/api/v1/inquiries/",
        {
            "channel": "sales_rep",
            "customer": {"email": "buyer@client.example", "name": "Buyer", "company": "Client"},
            "subject": "Wants a training session",
            "body": "Asked at our meeting for on-site training.",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    inquiry = Inquiry.objects.get()
    assert (inquiry.source_rep, inquiry.team, inquiry.assignee) == (sales_rep, team, None)
    assert response.json()["source_rep_name"] == sales_rep.get_full_name()
    assert Notification.objects.filter(recipient=sales_rep, kind="inquiry_logged").count() == 1
    listed = rep_client.get("/api/v1/inquiries/").json()["results"]
    assert [row["id"] for row in listed] == [inquiry.pk]
    reply = rep_client.post(f"/api/v1/inquiries/{inquiry.pk}/reply/", {"body": "x"}, format="json")
    assert reply.status_code == 403


def test_it_throttles_chat_messages_per_client(api_client, chat, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "inbound_chat": "2/minute"}
    from rest_framework.throttling import ScopedRateThrottle

    with mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", rates):
        codes = [_chat(api_client, chat, message=f"Hello {n}").status_code for n in range(3)]

    assert codes == [201, 201, 429]
    assert Message.objects.count() == 2
