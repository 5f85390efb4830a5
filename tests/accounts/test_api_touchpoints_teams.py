"""/api/v1/touchpoints/ (history: created, never edited), /api/v1/teams/ and /api/v1/users/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.models import Team, Touchpoint
from tests.api_helpers import result_ids, result_names
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    TeamFactory,
    TouchpointFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TOUCHPOINTS = "/api/v1/touchpoints/"
TEAMS = "/api/v1/teams/"
USERS = "/api/v1/users/"
JAN_10 = datetime(2024, 1, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo, the project's time zone


# --- Touchpoints --------------------------------------------------------------------------------


def test_it_records_a_touchpoint_on_the_contacts_account(rep_client, sales_rep):
    account = AccountFactory(name="Acme")
    contact = ContactFactory(name="Ken Ito", account=account)
    campaign = CampaignFactory(name="Expo 2024")

    response = rep_client.post(
        TOUCHPOINTS,
        {
            "kind": "event_visit",
            "channel": "in_person",
            "occurred_at": "2024-01-10T12:00:00+09:00",
            "contact": contact.pk,
            "campaign": campaign.pk,
            "amount": "1200.50",
            "currency": "jpy",
            "summary": "  Visited the booth  ",
        },
    )

    assert response.status_code == 201
    touchpoint = Touchpoint.objects.get()
    body = response.json()
    assert {key: value for key, value in body.items() if key != "created_at"} == {
        "id": touchpoint.pk,
        "kind": "event_visit",
        "channel": "in_person",
        "occurred_at": "2024-01-10T12:00:00+09:00",
        "contact": contact.pk,
        "contact_name": "Ken Ito",
        "account": account.pk,
        "account_name": "Acme",
        "campaign": campaign.pk,
        "campaign_name": "Expo 2024",
        "amount": "1200.50",
        "currency": "JPY",
        "summary": "Visited the booth",
        "actor": sales_rep.pk,
        "actor_name": sales_rep.get_full_name(),
        "source": None,
    }
    assert (touchpoint.account_id, touchpoint.actor, touchpoint.amount) == (
        account.pk,
        sales_rep,
        Decimal("1200.50"),
    )
    assert touchpoint.occurred_at == JAN_10


def test_it_records_a_touchpoint_on_an_account_alone(rep_client):
    account = AccountFactory()

    response = rep_client.post(
        TOUCHPOINTS, {"kind": "order", "channel": "sales_rep", "account": account.pk}
    )

    assert response.status_code == 201
    touchpoint = Touchpoint.objects.get()
    assert (touchpoint.contact_id, touchpoint.account_id) == (None, account.pk)


def test_it_reads_one_touchpoint(rep_client):
    touchpoint = TouchpointFactory(kind="call", channel="phone", summary="Follow-up")

    response = rep_client.get(f"{TOUCHPOINTS}{touchpoint.pk}/")

    assert response.status_code == 200
    assert (response.json()["kind"], response.json()["summary"]) == ("call", "Follow-up")


@pytest.mark.parametrize(
    ("method", "body"), [("patch", {"summary": "rewritten"}), ("put", {}), ("delete", None)]
)
def test_it_never_edits_or_deletes_a_touchpoint(admin_client_api, method, body):
    touchpoint = TouchpointFactory(summary="As it happened")

    response = getattr(admin_client_api, method)(f"{TOUCHPOINTS}{touchpoint.pk}/", body)

    assert response.status_code == 405
    assert list(response.json()) == ["detail", "errors"]
    touchpoint.refresh_from_db()
    assert touchpoint.summary == "As it happened"


def test_it_lists_touchpoints_newest_first_without_a_query_per_row(
    rep_client, django_assert_max_num_queries
):
    account = AccountFactory()
    campaign = CampaignFactory()
    actor = UserFactory()
    for number in range(40):
        TouchpointFactory(
            contact=ContactFactory(account=account),
            campaign=campaign,
            actor=actor,
            occurred_at=JAN_10 + timedelta(minutes=number % 20),
        )
    expected = list(Touchpoint.objects.order_by("-occurred_at", "-id").values_list("pk", flat=True))

    # 2 permission look-ups, the count, the page (contact, account, campaign, actor joined).
    with django_assert_max_num_queries(4):
        response = rep_client.get(TOUCHPOINTS)

    assert response.status_code == 200
    assert response.json()["count"] == 40
    assert result_ids(response) == expected


@pytest.fixture
def timeline():
    """Three touchpoints that differ in every filtered field."""
    east = TeamFactory(name="East")
    caller, visitor = UserFactory(), UserFactory()
    east.members.add(caller)
    acme = AccountFactory(name="Acme")
    ken = ContactFactory(account=acme)
    campaign = CampaignFactory()
    return {
        "team": east,
        "caller": caller,
        "acme": acme,
        "ken": ken,
        "campaign": campaign,
        "call": TouchpointFactory(
            kind="call",
            channel="phone",
            contact=ken,
            actor=caller,
            summary="Asked for a quote",
            occurred_at=JAN_10,
        ),
        "visit": TouchpointFactory(
            kind="event_visit",
            channel="in_person",
            contact=ContactFactory(),
            campaign=campaign,
            actor=visitor,
            summary="Booth visit",
            occurred_at=JAN_10 + timedelta(days=5),
        ),
        "order": TouchpointFactory(
            kind="order",
            channel="web",
            contact=None,
            account=acme,
            summary="Web order",
            occurred_at=JAN_10 + timedelta(days=10),
        ),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda t: {"kind": ["call", "order"]}, ["order", "call"]),
        (lambda t: {"channel": "in_person"}, ["visit"]),
        (lambda t: {"contact": t["ken"].pk}, ["call"]),
        (lambda t: {"account": t["acme"].pk}, ["order", "call"]),
        (lambda t: {"campaign": t["campaign"].pk}, ["visit"]),
        (lambda t: {"actor": t["caller"].pk}, ["call"]),
        (lambda t: {"team": t["team"].pk}, ["call"]),
        (lambda t: {"occurred_at_after": "2024-01-15"}, ["order", "visit"]),
        (lambda t: {"occurred_at_before": "2024-01-15"}, ["visit", "call"]),
        (lambda t: {"q": "QUOTE"}, ["call"]),
    ],
    ids=[
        "kind",
        "channel",
        "contact",
        "account",
        "campaign",
        "actor",
        "team",
        "after",
        "before",
        "q",
    ],
)
def test_it_filters_touchpoints(rep_client, timeline, params, expected):
    response = rep_client.get(TOUCHPOINTS, params(timeline))

    assert response.status_code == 200
    assert result_ids(response) == [timeline[name].pk for name in expected]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("occurred_at", ["call", "visit", "order"]),
        ("kind,-occurred_at", ["call", "visit", "order"]),
    ],
)
def test_it_orders_touchpoints(rep_client, timeline, ordering, expected):
    response = rep_client.get(TOUCHPOINTS, {"ordering": ordering})

    assert result_ids(response) == [timeline[name].pk for name in expected]


# --- Teams --------------------------------------------------------------------------------------


def test_it_creates_a_team_with_its_supervisor_among_the_members(manager_client, manager):
    rep = UserFactory()

    response = manager_client.post(
        TEAMS,
        {"name": " Tokyo Sales ", "kind": "sales", "supervisor": manager.pk, "members": [rep.pk]},
    )

    assert response.status_code == 201
    team = Team.objects.get()
    body = response.json()
    assert {key: value for key, value in body.items() if key != "created_at"} == {
        "id": team.pk,
        "name": "Tokyo Sales",
        "kind": "sales",
        "supervisor": manager.pk,
        "supervisor_name": manager.get_full_name(),
        "members": sorted([rep.pk, manager.pk]),
    }
    assert set(team.members.all()) == {rep, manager}


def test_it_renames_a_team_and_keeps_its_members(manager_client):
    member = UserFactory()
    team = TeamFactory(name="Tokyo", kind="support")
    team.members.add(member)

    response = manager_client.patch(f"{TEAMS}{team.pk}/", {"name": "Tokyo Support"})

    assert response.status_code == 200
    team.refresh_from_db()
    assert (team.name, team.kind) == ("Tokyo Support", "support")
    assert list(team.members.all()) == [member]


def test_it_replaces_a_teams_members_but_keeps_the_supervisor(manager_client):
    boss, old, new = UserFactory(), UserFactory(), UserFactory()
    team = TeamFactory(supervisor=boss)
    team.members.add(boss, old)

    response = manager_client.patch(f"{TEAMS}{team.pk}/", {"members": [new.pk]})

    assert response.status_code == 200
    assert response.json()["members"] == sorted([boss.pk, new.pk])
    assert set(team.members.all()) == {boss, new}


def test_it_replaces_a_team_with_put(manager_client):
    team = TeamFactory(name="Tokyo", kind="sales")

    response = manager_client.put(f"{TEAMS}{team.pk}/", {"name": "Osaka", "kind": "marketing"})

    assert response.status_code == 200
    team.refresh_from_db()
    assert (team.name, team.kind) == ("Osaka", "marketing")


def test_it_refuses_a_team_name_taken_in_another_case_with_non_ascii_letters(admin_client_api):
    # Found by the API fuzzer: the name check lowered in Python, the unique index in the
    # database (SQLite lowers only ASCII), so the clash reached the index as a 500.
    TeamFactory(name="Ãé Support", kind="sales")
    other = TeamFactory(name="Osaka", kind="sales")

    response = admin_client_api.put(
        f"{TEAMS}{other.pk}/", {"name": "Ãé SUPPORT", "kind": "sales"}, format="json"
    )
    created = admin_client_api.post(TEAMS, {"name": "Ãé support", "kind": "sales"}, format="json")

    assert (response.status_code, created.status_code) == (400, 400)
    assert response.json()["errors"]["name"] == ["A team with this name exists."]
    other.refresh_from_db()
    assert other.name == "Osaka"


def test_it_deletes_a_team(admin_client_api):
    team = TeamFactory()
    team.members.add(UserFactory())

    response = admin_client_api.delete(f"{TEAMS}{team.pk}/")

    assert response.status_code == 204
    assert Team.objects.count() == 0


def test_it_lists_teams_by_name_without_a_query_per_row(rep_client, django_assert_max_num_queries):
    people = UserFactory.create_batch(3)
    for number in range(30):
        team = TeamFactory(name=f"Team {number:02d}", supervisor=people[0])
        team.members.add(*people)

    # 2 permission look-ups, the count, the page (supervisor joined), the members (prefetched).
    with django_assert_max_num_queries(5):
        response = rep_client.get(TEAMS)

    assert response.status_code == 200
    assert response.json()["count"] == 30
    assert result_names(response) == [f"Team {number:02d}" for number in range(30)]
    assert {tuple(row["members"]) for row in response.json()["results"]} == {
        tuple(sorted(person.pk for person in people))
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda boss, member: {"kind": ["support", "marketing"]}, ["Care", "Growth"]),
        (lambda boss, member: {"member": member.pk}, ["Care"]),
        (lambda boss, member: {"supervisor": boss.pk}, ["Sales"]),
        (lambda boss, member: {"q": "gro"}, ["Growth"]),
        (lambda boss, member: {"created_at_after": "2024-01-11"}, ["Growth"]),
    ],
    ids=["kind", "member", "supervisor", "q", "created_at"],
)
def test_it_filters_teams(rep_client, params, expected):
    boss, member = UserFactory(), UserFactory()
    TeamFactory(name="Sales", kind="sales", supervisor=boss, created_at=JAN_10)
    TeamFactory(name="Care", kind="support", created_at=JAN_10).members.add(member)
    TeamFactory(name="Growth", kind="marketing", created_at=JAN_10 + timedelta(days=2))

    response = rep_client.get(TEAMS, params(boss, member))

    assert response.status_code == 200
    assert result_names(response) == expected


def test_it_orders_teams(rep_client):
    TeamFactory(name="Alpha", kind="support")
    TeamFactory(name="Beta", kind="marketing")

    response = rep_client.get(TEAMS, {"ordering": "kind"})

    assert result_names(response) == ["Beta", "Alpha"]


# --- Staff users --------------------------------------------------------------------------------


def test_it_lists_active_staff_by_username_without_a_query_per_row(
    rep_client, sales_rep, django_assert_max_num_queries
):
    team = TeamFactory()
    for number in range(30):
        user = UserFactory(username=f"staff{number:02d}", role="Support agent")
        team.members.add(user)
    UserFactory(username="gone", is_active=False)

    # The count, the page, the roles and the teams (both prefetched).
    with django_assert_max_num_queries(4):
        response = rep_client.get(USERS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 31
    assert [row["username"] for row in body["results"]] == [
        "rep",
        *(f"staff{number:02d}" for number in range(30)),
    ]
    assert body["results"][1]["roles"] == ["Support agent"]
    assert body["results"][1]["teams"] == [team.pk]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (lambda team: {"role": "Manager"}, ["boss"]),
        (lambda team: {"team": team.pk}, ["boss", "rep"]),
        (lambda team: {"q": "YAMADA"}, ["boss"]),
    ],
    ids=["role", "team", "q"],
)
def test_it_filters_staff(rep_client, sales_rep, params, expected):
    boss = UserFactory(username="boss", last_name="Yamada", role="Manager")
    team = TeamFactory()
    team.members.add(boss, sales_rep)

    response = rep_client.get(USERS, params(team))

    assert [row["username"] for row in response.json()["results"]] == expected


def test_it_orders_staff(rep_client, sales_rep):
    UserFactory(username="aiko")

    response = rep_client.get(USERS, {"ordering": "-username"})

    assert [row["username"] for row in response.json()["results"]] == ["rep", "aiko"]


def test_it_reads_one_staff_member(rep_client, manager):
    response = rep_client.get(f"{USERS}{manager.pk}/")

    assert response.status_code == 200
    assert (response.json()["username"], response.json()["roles"]) == ("manager", ["Manager"])


def test_it_shows_the_signed_in_user(agent_client, support_agent, django_assert_num_queries):
    team = TeamFactory(name="Care")
    team.members.add(support_agent)

    # The user, the roles and the teams.
    with django_assert_num_queries(3):
        response = agent_client.get(f"{USERS}me/")

    assert response.status_code == 200
    assert response.json() == {
        "id": support_agent.pk,
        "username": "agent",
        "name": support_agent.get_full_name(),
        "email": "agent@frontoffice.test",
        "roles": ["Support agent"],
        "teams": [team.pk],
    }
