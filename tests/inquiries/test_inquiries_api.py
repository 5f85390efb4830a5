"""The inquiries API: the queue per role, filters, SLA state, query counts, the thread and
history, the agents' actions, saved replies, and bad input answered with a 400."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import roles
from inquiries import channels, services
from inquiries.models import Inquiry, InquiryAssignment, InquiryStatusChange, Message, SavedReply
from tests.api_helpers import result_ids
from tests.factories import ContactFactory, DealFactory, TeamFactory, user_with_role

pytestmark = pytest.mark.django_db

URL = "/api/v1/inquiries/"
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def team(support_agent, manager):
    team = TeamFactory(name="Support", kind="support", supervisor=manager)
    team.members.add(support_agent, manager)
    return team


def _open(team=None, contact=None, **kwargs) -> Inquiry:
    kwargs.setdefault("channel", "chat")
    kwargs.setdefault("subject", "Order missing")
    kwargs.setdefault("body", "Where is my order?")
    return services.inquiry_open(
        customer=services.Customer(contact=contact or ContactFactory()), team=team, **kwargs
    )


# --- The list -----------------------------------------------------------------------------------


def test_it_lists_the_agents_queue_with_names_and_due_times(agent_client, team):
    contact = ContactFactory(name="Hanako Yamada", email="hanako@kaisha.co.jp")
    inquiry = _open(team, contact)
    _open(TeamFactory())  # another team's

    response = agent_client.get(URL)

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["id"], row["contact_name"], row["contact_email"], row["team_name"]) == (
        inquiry.pk,
        "Hanako Yamada",
        "hanako@kaisha.co.jp",
        "Support",
    )
    assert (row["status"], row["sla_state"], row["first_response_due_at"]) == ("new", "ok", None)
    assert row["next_moves"] == ["open", "pending", "resolved", "closed"]


def test_it_answers_404_for_another_teams_inquiry(agent_client, team):
    other = _open(TeamFactory())

    assert agent_client.get(f"{URL}{other.pk}/").status_code == 404
    assert agent_client.post(f"{URL}{other.pk}/take/").status_code == 404
    assert Inquiry.objects.get(pk=other.pk).assignee is None


def test_it_shows_the_manager_the_team_and_the_admin_everything(
    manager_client, admin_client_api, team
):
    mine = _open(team)
    other = _open(TeamFactory())

    assert result_ids(manager_client.get(URL)) == [mine.pk]
    assert result_ids(admin_client_api.get(URL)) == [other.pk, mine.pk]


def test_it_shows_the_rep_their_customers_inquiries_read_only(rep_client, sales_rep, team):
    own = _open(team, ContactFactory(owner=sales_rep))
    deal = _open(team, DealFactory(owner=sales_rep).contact)
    _open(team)

    assert sorted(result_ids(rep_client.get(URL))) == [own.pk, deal.pk]
    assert rep_client.get(f"{URL}{own.pk}/").status_code == 200
    assert (
        rep_client.post(f"{URL}{own.pk}/reply/", {"body": "Hi"}, format="json").status_code == 403
    )
    assert rep_client.patch(f"{URL}{own.pk}/", {"subject": "x"}, format="json").status_code == 403
    assert rep_client.post(f"{URL}{own.pk}/take/").status_code == 403
    assert Message.objects.filter(inquiry=own).count() == 1


def test_it_filters_the_list(agent_client, support_agent, team):
    contact = ContactFactory(name="Jiro Suzuki")
    phone = _open(team, contact, channel="phone", priority="high", category="Billing")
    chat = _open(team)
    channels.inquiry_take(inquiry=chat, actor=support_agent)
    services.inquiry_move(inquiry=phone, to_status="pending", actor=support_agent)

    def ids(query: str) -> list[int]:
        response = agent_client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.json()
        return result_ids(response)

    assert ids("channel=phone") == [phone.pk]
    assert ids("status=pending&status=new") == [chat.pk, phone.pk]
    assert ids("priority=high") == [phone.pk]
    assert ids("category=billing") == [phone.pk]
    assert ids("assignee=me") == [chat.pk]
    assert ids(f"assignee={support_agent.pk}") == [chat.pk]
    assert ids("unassigned=true") == [phone.pk]
    assert ids(f"contact={contact.pk}") == [phone.pk]
    assert ids(f"team={team.pk}") == [chat.pk, phone.pk]
    assert ids("q=suzuki") == [phone.pk]
    assert ids("ordering=priority_rank") == [chat.pk, phone.pk]
    assert ids("ordering=-priority_rank") == [phone.pk, chat.pk]


def test_it_filters_by_sla_state(agent_client, team):
    from inquiries.models import SlaPolicy

    SlaPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=600
    )
    with time_machine.travel(T0, tick=False):
        late = _open(team)
    with time_machine.travel(T0 + timedelta(minutes=90), tick=False):
        soon = _open(team)
    with time_machine.travel(T0 + timedelta(minutes=150), tick=False):
        fresh = _open(team)

    with time_machine.travel(T0 + timedelta(minutes=150), tick=False):
        states = {
            state: result_ids(agent_client.get(f"{URL}?sla={state}"))
            for state in ("breached", "due_soon", "ok")
        }
        rows = {row["id"]: row["sla_state"] for row in agent_client.get(URL).json()["results"]}

    assert states == {"breached": [late.pk], "due_soon": [soon.pk], "ok": [fresh.pk]}
    assert rows == {late.pk: "breached", soon.pk: "due_soon", fresh.pk: "ok"}


def test_it_orders_by_first_response_due(agent_client, team):
    from inquiries.models import SlaPolicy

    SlaPolicy.objects.create(
        name="Urgent", priority="urgent", first_response_minutes=10, resolution_minutes=60
    )
    SlaPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=600
    )
    normal = _open(team)
    urgent = _open(team, priority="urgent")

    assert result_ids(agent_client.get(f"{URL}?ordering=first_response_due_at")) == [
        urgent.pk,
        normal.pk,
    ]


@pytest.mark.parametrize(
    "query",
    [
        "status=archived",
        "channel=fax",
        "priority=critical",
        "assignee=someone",
        "assignee=99999999999999999999",
        "unassigned=maybe",
        "team=abc",
        "contact=0",
        "created_at_after=yesterday",
        "sla=late",
    ],
)
def test_it_answers_a_bad_filter_with_a_400(agent_client, team, query):
    response = agent_client.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert response.json()["errors"]


def test_it_lists_with_a_query_count_independent_of_page_size(
    admin_client_api, team, django_assert_max_num_queries
):
    agent = user_with_role(roles.SUPPORT_AGENT)
    deal = DealFactory()
    for n in range(25):
        inquiry = _open(team, ContactFactory(), deal=deal if n % 2 else None)
        if n % 3 == 0:
            channels.inquiry_take(inquiry=inquiry, actor=agent)

    admin_client_api.get(URL)  # the user's permissions are cached after the first request
    with django_assert_max_num_queries(8) as small:
        assert len(admin_client_api.get(f"{URL}?page_size=2").json()["results"]) == 2
    with django_assert_max_num_queries(8) as large:
        assert len(admin_client_api.get(f"{URL}?page_size=25").json()["results"]) == 25

    assert len(large.captured_queries) == len(small.captured_queries)


# --- One inquiry, its thread and history --------------------------------------------------------


def test_it_shows_an_inquiry_with_its_thread(
    agent_client, support_agent, team, django_assert_max_num_queries
):
    inquiry = _open(team, ContactFactory(name="Hanako"))
    for n in range(5):
        channels.inquiry_reply_send(inquiry=inquiry, author=support_agent, body=f"Answer {n}")
    channels.phone_call_log(
        inquiry=inquiry,
        actor=support_agent,
        direction="outbound",
        duration_seconds=60,
        outcome="answered",
    )

    with django_assert_max_num_queries(10):
        response = agent_client.get(f"{URL}{inquiry.pk}/")

    assert response.status_code == 200
    thread = response.json()["messages"]
    assert [m["body"] for m in thread] == [
        "Where is my order?",
        *[f"Answer {n}" for n in range(5)],
        "Outgoing call, 60 s, Answered",
    ]
    assert (thread[0]["author_contact_name"], thread[0]["author_name"]) == ("Hanako", None)
    assert thread[1]["author_name"] == support_agent.get_full_name()
    assert thread[-1]["phone_call"] == {
        "direction": "outbound",
        "duration_seconds": 60,
        "outcome": "answered",
    }


def test_it_pages_the_thread_oldest_first_without_a_query_per_message(
    agent_client, support_agent, team, django_assert_max_num_queries
):
    inquiry = _open(team)
    for n in range(12):
        channels.inquiry_note_add(inquiry=inquiry, author=support_agent, body=f"Note {n}")

    agent_client.get(f"{URL}{inquiry.pk}/messages/")  # permissions cached from here on
    with django_assert_max_num_queries(10) as small:
        first = agent_client.get(f"{URL}{inquiry.pk}/messages/?page_size=3")
    with django_assert_max_num_queries(10) as large:
        agent_client.get(f"{URL}{inquiry.pk}/messages/?page_size=13")

    assert [m["body"] for m in first.json()["results"]] == [
        "Where is my order?",
        "Note 0",
        "Note 1",
    ]
    assert first.json()["count"] == 13
    assert len(small.captured_queries) == len(large.captured_queries)


def test_it_shows_the_history_of_status_changes_and_assignments(agent_client, support_agent, team):
    inquiry = _open(team)
    channels.inquiry_take(inquiry=inquiry, actor=support_agent)
    services.inquiry_move(inquiry=inquiry, to_status="open", actor=support_agent)

    body = agent_client.get(f"{URL}{inquiry.pk}/history/").json()

    assert [(c["from_status"], c["to_status"]) for c in body["status_changes"]] == [
        ("new", "open"),
        ("", "new"),
    ]
    assert [(a["from_assignee"], a["to_assignee"], a["note"]) for a in body["assignments"]] == [
        (None, support_agent.pk, "taken")
    ]
    assert body["status_changes"][0]["actor_name"] == support_agent.get_full_name()


# --- Actions ------------------------------------------------------------------------------------


def test_it_replies_with_a_saved_reply_and_counts_its_use(agent_client, support_agent, team):
    inquiry = _open(team)
    saved = SavedReply.objects.create(title="Shipping", body="It ships in 3 days.", team=team)

    response = agent_client.post(
        f"{URL}{inquiry.pk}/reply/", {"saved_reply": saved.pk}, format="json"
    )

    assert response.status_code == 201
    assert (response.json()["body"], response.json()["direction"]) == (
        "It ships in 3 days.",
        "outbound",
    )
    saved.refresh_from_db()
    assert saved.usage_count == 1
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.first_responded_at is not None) == ("open", True)


def test_it_refuses_another_teams_saved_reply(agent_client, team):
    inquiry = _open(team)
    saved = SavedReply.objects.create(title="Theirs", body="x", team=TeamFactory())

    response = agent_client.post(
        f"{URL}{inquiry.pk}/reply/", {"saved_reply": saved.pk}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["saved_reply"]
    assert SavedReply.objects.get(pk=saved.pk).usage_count == 0
    assert Message.objects.filter(inquiry=inquiry).count() == 1


def test_it_adds_an_internal_note(agent_client, support_agent, team):
    inquiry = _open(team)

    response = agent_client.post(f"{URL}{inquiry.pk}/note/", {"body": "VIP"}, format="json")

    assert response.status_code == 201
    note = Message.objects.get(pk=response.json()["id"])
    assert (note.direction, note.author_user, note.touchpoint) == ("note", support_agent, None)


def test_it_moves_the_status_with_the_history_row(agent_client, support_agent, team):
    inquiry = _open(team)

    response = agent_client.post(
        f"{URL}{inquiry.pk}/move/", {"to_status": "closed", "note": "spam"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    row = InquiryStatusChange.objects.filter(inquiry=inquiry).order_by("-id").first()
    assert (row.from_status, row.to_status, row.actor, row.note) == (
        "new",
        "closed",
        support_agent,
        "spam",
    )


def test_it_refuses_a_move_without_its_reason(agent_client, team):
    inquiry = _open(team)

    response = agent_client.post(f"{URL}{inquiry.pk}/move/", {"to_status": "closed"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["note"]
    assert InquiryStatusChange.objects.filter(inquiry=inquiry).count() == 1


def test_it_takes_an_inquiry_and_answers_409_to_the_second_taker(agent_client, support_agent, team):
    other = user_with_role(roles.SUPPORT_AGENT, username="other")
    team.members.add(other)
    inquiry = _open(team)
    channels.inquiry_take(inquiry=inquiry, actor=other)

    response = agent_client.post(f"{URL}{inquiry.pk}/take/")

    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["assignee"]
    assert InquiryAssignment.objects.filter(inquiry=inquiry).count() == 1


def test_it_assigns_to_another_team_and_shows_the_result(agent_client, support_agent, team):
    specialist = user_with_role(roles.SUPPORT_AGENT, username="specialist")
    hardware = TeamFactory(name="Hardware", kind="specialist")
    inquiry = _open(team)

    response = agent_client.post(
        f"{URL}{inquiry.pk}/assign/",
        {"assignee": specialist.pk, "team": hardware.pk, "note": "hardware fault"},
        format="json",
    )

    assert response.status_code == 200
    assert (response.json()["assignee"], response.json()["team_name"]) == (
        specialist.pk,
        "Hardware",
    )
    row = InquiryAssignment.objects.get(inquiry=inquiry)
    assert (row.to_assignee, row.team, row.actor, row.note) == (
        specialist,
        hardware,
        support_agent,
        "hardware fault",
    )
    assert agent_client.get(f"{URL}{inquiry.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("reply", {}, "body"),
        ("reply", {"body": "x", "sent": True}, "sent"),
        ("reply", {"saved_reply": 999999}, "saved_reply"),
        ("reply", {"saved_reply": 1.5}, "saved_reply"),
        ("note", {"body": ""}, "body"),
        ("move", {"to_status": "escalated"}, "to_status"),
        ("move", {"to_status": "gone"}, "to_status"),
        ("move", {"to_status": "open", "note": "x" * 501}, "note"),
        ("assign", {}, "assignee"),
        ("assign", {"assignee": "me"}, "assignee"),
        ("assign", {"assignee": None, "team": 999999}, "team"),
    ],
)
def test_it_answers_bad_action_input_with_a_400(agent_client, team, action, payload, field):
    inquiry = _open(team)

    response = agent_client.post(f"{URL}{inquiry.pk}/{action}/", payload, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert Message.objects.filter(inquiry=inquiry).count() == 1
    assert InquiryStatusChange.objects.filter(inquiry=inquiry).count() == 1


def test_it_refuses_to_assign_someone_who_does_not_answer_inquiries(agent_client, sales_rep, team):
    inquiry = _open(team)

    response = agent_client.post(
        f"{URL}{inquiry.pk}/assign/", {"assignee": sales_rep.pk}, format="json"
    )

    assert response.status_code == 400
    assert InquiryAssignment.objects.count() == 0


def test_it_patches_the_priority_and_the_due_times_follow(agent_client, team):
    from inquiries.models import SlaPolicy

    SlaPolicy.objects.create(
        name="Urgent", priority="urgent", first_response_minutes=15, resolution_minutes=60
    )
    with time_machine.travel(T0, tick=False):
        inquiry = _open(team)

    response = agent_client.patch(f"{URL}{inquiry.pk}/", {"priority": "urgent"}, format="json")

    assert response.status_code == 200
    inquiry.refresh_from_db()
    assert (inquiry.priority, inquiry.first_response_due_at) == (
        "urgent",
        T0 + timedelta(minutes=15),
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "closed"},
        {"assignee": 1},
        {"priority": "critical"},
        {"subject": "x" * 301},
        {"colour": "red"},
    ],
)
def test_it_refuses_a_bad_patch(agent_client, team, payload):
    inquiry = _open(team)

    response = agent_client.patch(f"{URL}{inquiry.pk}/", payload, format="json")

    assert response.status_code == 400
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.priority, inquiry.subject) == ("new", "normal", "Order missing")


# --- Logging an inquiry -------------------------------------------------------------------------


def test_it_logs_a_social_media_inquiry_for_a_known_contact(agent_client, support_agent):
    contact = ContactFactory()

    response = agent_client.post(
        URL,
        {
            "channel": "social",
            "contact": contact.pk,
            "subject": "Tweet",
            "body": "Your app is down",
        },
        format="json",
    )

    assert response.status_code == 201
    inquiry = Inquiry.objects.get()
    assert (inquiry.channel, inquiry.contact, inquiry.assignee) == (
        "social",
        contact,
        support_agent,
    )
    assert Message.objects.get().author_user == support_agent


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"channel": "social", "body": "x"}, ["contact", "customer"]),
        ({"channel": "fax", "customer": {"name": "X"}, "body": "x"}, ["channel"]),
        ({"channel": "social", "customer": {"name": "X"}}, ["body"]),
        ({"channel": "social", "customer": {"name": "X", "age": 3}, "body": "x"}, ["customer"]),
        ({"channel": "social", "customer": {}, "body": "x"}, ["customer"]),
        ({"channel": "social", "contact": 99999, "body": "x"}, ["contact"]),
        ({"channel": "social", "customer": {"email": "nope"}, "body": "x"}, ["email"]),
        (
            {
                "channel": "email",
                "customer": {"name": "X"},
                "body": "x",
                "call": {"direction": "inbound", "duration_seconds": 1, "outcome": "answered"},
            },
            ["call"],
        ),
        ({"channel": "phone", "customer": {"name": "X"}, "call": {"direction": "up"}}, ["call"]),
    ],
)
def test_it_answers_a_bad_inquiry_to_log_with_a_400(agent_client, payload, fields):
    response = agent_client.post(URL, payload, format="json")

    assert response.status_code == 400, response.json()
    assert sorted(response.json()["errors"]) == sorted(fields)
    assert Inquiry.objects.count() == 0


def test_it_refuses_a_rep_logging_by_phone(rep_client):
    response = rep_client.post(
        URL, {"channel": "phone", "customer": {"name": "X"}, "body": "x"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["channel"]


def test_it_refuses_the_marketer(marketer_client):
    assert marketer_client.get(URL).status_code == 403


# --- Saved replies ------------------------------------------------------------------------------


def test_it_lists_the_teams_and_global_saved_replies_most_used_first(
    agent_client, team, django_assert_max_num_queries
):
    used = SavedReply.objects.create(title="Refund", body="x", team=team, usage_count=5)
    common = SavedReply.objects.create(title="Greeting", body="Hello", usage_count=2)
    SavedReply.objects.create(title="Theirs", body="x", team=TeamFactory(), usage_count=9)

    with django_assert_max_num_queries(6):
        response = agent_client.get("/api/v1/saved-replies/")

    assert result_ids(response) == [used.pk, common.pk]
    assert result_ids(agent_client.get("/api/v1/saved-replies/?q=hello")) == [common.pk]
    assert result_ids(agent_client.get(f"/api/v1/saved-replies/?team={team.pk}")) == [used.pk]


def test_it_creates_a_team_saved_reply_and_refuses_a_global_one(agent_client, support_agent, team):
    created = agent_client.post(
        "/api/v1/saved-replies/",
        {"title": " Thanks ", "body": "Thank you!", "team": team.pk},
        format="json",
    )
    refused = agent_client.post(
        "/api/v1/saved-replies/", {"title": "All", "body": "x"}, format="json"
    )

    assert created.status_code == 201
    saved = SavedReply.objects.get()
    assert (saved.title, saved.team, saved.created_by, saved.usage_count) == (
        "Thanks",
        team,
        support_agent,
        0,
    )
    assert refused.status_code == 403
    assert list(refused.json()["errors"]) == ["team"]


@pytest.mark.parametrize(
    "payload",
    [{"title": "", "body": "x"}, {"title": "x"}, {"title": "x", "body": "y", "usage_count": 100}],
)
def test_it_answers_a_bad_saved_reply_with_a_400(agent_client, team, payload):
    response = agent_client.post(
        "/api/v1/saved-replies/", {**payload, "team": team.pk}, format="json"
    )

    assert response.status_code == 400
    assert SavedReply.objects.count() == 0
