"""/api/v1/deals/ (list, create, edit, move, history, summary) and /api/v1/deal-stages/.

The `world`: team Tokyo (supervised by the manager) with the rep and a colleague, team Osaka with
another rep. The support agent has served the Osaka customer (a touchpoint they made), so
visibility differs per role: a rep sees their own deals, the manager Tokyo's, the agent the
served customer's, the marketer and the admin every deal.
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import Touchpoint
from pipeline.models import Deal, DealStageChange, DealStageSetting
from tests.api_helpers import result_ids, result_names
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    DealFactory,
    TeamFactory,
    TouchpointFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/deals/"
ALL_STAGES = ["list", "proposal", "opportunity", "quote", "won", "lost"]
MOVE_ONLY = "The stage changes only through POST /api/v1/deals/{id}/move/."


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def deal_at(stage: str = "list", **kwargs) -> Deal:
    """A deal set up at `stage` (closed ones with their closing time), with its first row."""
    closed_at = timezone.now() if stage in ("won", "lost") else None
    return DealFactory(stage=stage, closed_at=closed_at, **kwargs)


def deal_world(*, rep, manager, agent) -> SimpleNamespace:
    """Team Tokyo (the manager's: the rep and a colleague) and team Osaka, a deal each, and the
    agent's touchpoint on the Osaka customer (shared with the admin tests)."""
    colleague = user_with_role(roles.SALES_REP, username="colleague")
    osaka_rep = user_with_role(roles.SALES_REP, username="osaka-rep")
    tokyo = TeamFactory(name="Tokyo", supervisor=manager)
    tokyo.members.add(manager, rep, colleague)
    osaka = TeamFactory(name="Osaka")
    osaka.members.add(osaka_rep)
    acme = AccountFactory(name="Acme")
    globex = AccountFactory(name="Globex")
    initech = AccountFactory(name="Initech")
    mine = deal_at(name="Acme renewal", owner=rep, team=tokyo, account=acme)
    colleagues = deal_at(name="Globex pilot", owner=colleague, team=tokyo, account=globex)
    osakas = deal_at(name="Initech rollout", owner=osaka_rep, team=osaka, account=initech)
    # The agent answered the Initech contact's inquiry: they read that customer's deals.
    TouchpointFactory(contact=osakas.contact, kind="email", channel="email", actor=agent)
    return SimpleNamespace(
        rep=rep,
        colleague=colleague,
        osaka_rep=osaka_rep,
        manager=manager,
        agent=agent,
        tokyo=tokyo,
        osaka=osaka,
        acme=acme,
        globex=globex,
        initech=initech,
        mine=mine,
        colleagues=colleagues,
        osakas=osakas,
    )


@pytest.fixture
def world(sales_rep, manager, support_agent):
    return deal_world(rep=sales_rep, manager=manager, agent=support_agent)


def _detail(deal: Deal, suffix: str = "") -> str:
    return f"{URL}{deal.pk}/{suffix}"


# --- Visibility per role ------------------------------------------------------------------------

VISIBLE = {
    "rep": ["Acme renewal"],
    "manager": ["Acme renewal", "Globex pilot"],
    "agent": ["Initech rollout"],
    "marketer": ["Acme renewal", "Globex pilot", "Initech rollout"],
    "admin": ["Acme renewal", "Globex pilot", "Initech rollout"],
}


@pytest.fixture
def clients(world, marketer, admin_user):
    return {
        "rep": _client(world.rep),
        "manager": _client(world.manager),
        "agent": _client(world.agent),
        "marketer": _client(marketer),
        "admin": _client(admin_user),
    }


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_each_role_lists_the_deals_it_may_see(clients, role):
    response = clients[role].get(URL, {"ordering": "name"})

    assert response.status_code == 200, response.json()
    assert result_names(response) == VISIBLE[role]


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_a_deal_out_of_sight_is_a_404_for_every_read_and_write(world, clients, role):
    names = {"mine": "Acme renewal", "colleagues": "Globex pilot", "osakas": "Initech rollout"}
    client = clients[role]
    for key, name in names.items():
        deal = getattr(world, key)
        visible = name in VISIBLE[role]
        assert client.get(_detail(deal)).status_code == (200 if visible else 404)
        assert client.get(_detail(deal, "history/")).status_code == (200 if visible else 404)


def test_a_rep_gets_404_for_a_colleagues_deal_even_with_the_right_to_move(world, clients):
    rep = clients["rep"]

    assert rep.get(_detail(world.colleagues)).status_code == 404
    assert rep.patch(_detail(world.colleagues), {"name": "Mine now"}).status_code == 404
    response = rep.post(_detail(world.colleagues, "move/"), {"to_stage": "proposal"})
    assert response.status_code == 404
    assert Deal.objects.get(pk=world.colleagues.pk).stage == "list"


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_readers_may_not_edit_move_or_create(world, clients, role):
    deal = world.osakas
    client = clients[role]

    assert client.get(_detail(deal)).status_code == 200
    assert client.patch(_detail(deal), {"name": "X"}).status_code == 403
    assert client.post(_detail(deal, "move/"), {"to_stage": "proposal"}).status_code == 403
    assert client.post(URL, {"name": "New"}).status_code == 403
    assert Deal.objects.get(pk=deal.pk).stage == "list"
    assert DealStageChange.objects.filter(deal=deal).count() == 1


def test_a_deal_one_may_see_but_not_edit_is_a_403_on_patch_and_move(world):
    """A rep who may also read served customers' deals sees the Osaka deal, cannot change it."""
    world.rep.user_permissions.add(Permission.objects.get(codename="view_served_customer_deals"))
    TouchpointFactory(contact=world.osakas.contact, actor=world.rep)
    client = _client(world.rep)

    assert client.get(_detail(world.osakas)).status_code == 200
    patched = client.patch(_detail(world.osakas), {"name": "Taken"})
    moved = client.post(_detail(world.osakas, "move/"), {"to_stage": "proposal"})

    assert (patched.status_code, moved.status_code) == (403, 403)
    stored = Deal.objects.get(pk=world.osakas.pk)
    assert (stored.name, stored.stage) == ("Initech rollout", "list")


def test_a_manager_edits_and_moves_the_teams_deals(world, clients):
    manager = clients["manager"]

    patched = manager.patch(_detail(world.colleagues), {"amount": "2500000"})
    moved = manager.post(_detail(world.colleagues, "move/"), {"to_stage": "quote"})

    assert (patched.status_code, moved.status_code) == (200, 200)
    assert moved.json()["stage"] == "quote"
    change = DealStageChange.objects.filter(deal=world.colleagues).latest("id")
    assert (change.from_stage, change.to_stage, change.actor) == ("list", "quote", world.manager)


def test_only_the_admin_deletes_adeal_at(world, clients):
    for role in ("rep", "manager", "agent", "marketer"):
        deal = world.mine if role == "rep" else world.colleagues
        assert clients[role].delete(_detail(deal)).status_code == 403, role

    assert clients["admin"].delete(_detail(world.mine)).status_code == 204
    assert not Deal.objects.filter(pk=world.mine.pk).exists()
    assert not DealStageChange.objects.filter(deal_id=world.mine.pk).exists()


def test_put_is_not_offered(world, clients):
    response = clients["rep"].put(_detail(world.mine), {"name": "Whole"})

    assert response.status_code == 405


# --- Create -------------------------------------------------------------------------------------


def test_a_rep_creates_a_deal_they_own(world, clients):
    contact = ContactFactory(account=world.acme)
    campaign = CampaignFactory(name="Japan IT Week")

    response = clients["rep"].post(
        URL,
        {
            "name": "Acme expansion",
            "contact": contact.pk,
            "amount": "3000000",
            "currency": "jpy",
            "expected_close_on": "2026-12-20",
            "campaign": campaign.pk,
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    deal = Deal.objects.get(pk=body["id"])
    assert (deal.owner, deal.team, deal.account, deal.stage) == (
        world.rep,
        world.tokyo,
        world.acme,
        "list",
    )
    assert {key: body[key] for key in ("account_name", "contact_name", "team_name")} == {
        "account_name": "Acme",
        "contact_name": contact.name,
        "team_name": "Tokyo",
    }
    assert (body["amount"], body["currency"], body["campaign_name"]) == (
        "3000000.00",
        "JPY",
        "Japan IT Week",
    )
    assert body["owner_name"] == world.rep.get_full_name()
    assert body["probability"] == DealStageSetting.objects.get(stage="list").probability
    assert [option["to_stage"] for option in body["next_moves"]] == [
        "proposal",
        "opportunity",
        "quote",
        "won",
        "lost",
    ]
    assert list(
        DealStageChange.objects.filter(deal=deal).values_list("from_stage", "to_stage", "actor")
    ) == [("", "list", world.rep.pk)]


def test_a_deal_may_start_at_a_later_open_stage(world, clients):
    response = clients["rep"].post(URL, {"name": "Warm", "stage": "opportunity"})

    assert response.status_code == 201, response.json()
    assert (response.json()["stage"], response.json()["probability"]) == ("opportunity", 50)


def test_a_rep_may_not_create_a_deal_for_someone_else(world, clients):
    response = clients["rep"].post(URL, {"name": "For my colleague", "owner": world.colleague.pk})

    assert response.status_code == 403
    assert list(response.json()["errors"]) == ["owner"]
    assert not Deal.objects.filter(name="For my colleague").exists()


def test_a_manager_may_give_a_deal_to_a_team_member_but_not_to_another_team(world, clients):
    ours = clients["manager"].post(URL, {"name": "Ours", "owner": world.colleague.pk})
    theirs = clients["manager"].post(URL, {"name": "Theirs", "owner": world.osaka_rep.pk})

    assert ours.status_code == 201, ours.json()
    assert Deal.objects.get(name="Ours").owner == world.colleague
    assert theirs.status_code == 403
    assert list(theirs.json()["errors"]) == ["owner"]


def test_the_admin_may_give_a_deal_to_anyone(world, clients):
    response = clients["admin"].post(URL, {"name": "Anyone", "owner": world.osaka_rep.pk})

    assert response.status_code == 201, response.json()
    assert Deal.objects.get(name="Anyone").team == world.osaka


# --- Edit ---------------------------------------------------------------------------------------


def test_a_rep_edits_theirdeal_at(world, clients):
    response = clients["rep"].patch(
        _detail(world.mine), {"name": "Acme renewal 2027", "amount": "990000.50", "currency": "usd"}
    )

    assert response.status_code == 200, response.json()
    deal = Deal.objects.get(pk=world.mine.pk)
    assert (deal.name, deal.amount, deal.currency) == (
        "Acme renewal 2027",
        Decimal("990000.50"),
        "USD",
    )


def test_the_stage_is_not_a_field_to_patch(world, clients):
    response = clients["rep"].patch(_detail(world.mine), {"stage": "won"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"stage": [MOVE_ONLY]}
    assert Deal.objects.get(pk=world.mine.pk).stage == "list"


def test_a_rep_may_not_hand_their_deal_to_someone_else(world, clients):
    response = clients["rep"].patch(_detail(world.mine), {"owner": world.colleague.pk})

    assert response.status_code == 403
    assert Deal.objects.get(pk=world.mine.pk).owner == world.rep
    assert clients["rep"].patch(_detail(world.mine), {"owner": world.rep.pk}).status_code == 200


def test_a_manager_reassigns_a_deal_within_the_team(world, clients):
    response = clients["manager"].patch(_detail(world.mine), {"owner": world.colleague.pk})

    assert response.status_code == 200, response.json()
    assert response.json()["owner"] == world.colleague.pk


def test_a_won_deals_amount_is_fixed(world, clients):
    won = deal_at("won", owner=world.rep, team=world.tokyo)

    response = clients["rep"].patch(_detail(won), {"amount": "1"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["amount"]


# --- Move ---------------------------------------------------------------------------------------


def test_a_rep_moves_their_deal_forward(world, clients):
    response = clients["rep"].post(_detail(world.mine, "move/"), {"to_stage": "proposal"})

    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "proposal"
    assert response.json()["probability"] == 25
    assert list(
        DealStageChange.objects.filter(deal=world.mine)
        .order_by("id")
        .values_list("from_stage", "to_stage")
    ) == [("", "list"), ("list", "proposal")]
    assert Touchpoint.objects.filter(source_id=world.mine.pk, kind="deal_update").count() == 1


def test_winning_over_the_api_records_the_order_and_the_customer(world, clients):
    deal = world.mine
    Deal.objects.filter(pk=deal.pk).update(stage="quote")

    response = clients["rep"].post(_detail(deal, "move/"), {"to_stage": "won"})

    assert response.status_code == 200, response.json()
    assert response.json()["closed_at"] is not None
    order = Touchpoint.objects.get(source_id=deal.pk, kind="order")
    assert (order.amount, order.currency) == (deal.amount, "JPY")
    deal.contact.refresh_from_db()
    world.acme.refresh_from_db()
    assert deal.contact.stage == "customer"
    assert world.acme.customer_since is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to_stage": "lost"}, "note"),
        ({"to_stage": "lost", "note": "   "}, "note"),
        ({"to_stage": "order"}, "to_stage"),
        ({"to_stage": "list"}, "to_stage"),
        ({}, "to_stage"),
        ({"to_stage": "proposal", "reason": "typo of note"}, "reason"),
        ({"to_stage": "lost", "note": "x" * 501}, "note"),
        ({"to_stage": "proposal", "expected_stage": "done"}, "expected_stage"),
        ({"to_stage": 3}, "to_stage"),
    ],
)
def test_a_bad_move_is_a_400_with_a_field_message_and_no_history_row(world, clients, body, field):
    response = clients["rep"].post(_detail(world.mine, "move/"), body)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert response.json()["detail"]
    assert DealStageChange.objects.filter(deal=world.mine).count() == 1


def test_losing_needs_a_reason_and_keeps_it(world, clients):
    response = clients["rep"].post(
        _detail(world.mine, "move/"), {"to_stage": "lost", "note": "budget cut"}
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["stage"], response.json()["lost_reason"]) == ("lost", "budget cut")


def test_reopening_is_a_managers_move(world, clients):
    won = deal_at("won", owner=world.rep, team=world.tokyo)

    by_rep = clients["rep"].post(_detail(won, "move/"), {"to_stage": "quote", "note": "revised"})
    assert by_rep.status_code == 403
    assert Deal.objects.get(pk=won.pk).stage == "won"
    assert clients["rep"].get(_detail(won)).json()["next_moves"] == []

    assert [
        option["needs_reason"]
        for option in clients["manager"].get(_detail(won)).json()["next_moves"]
    ] == [True] * 4
    by_manager = clients["manager"].post(
        _detail(won, "move/"), {"to_stage": "quote", "note": "revised order"}
    )
    assert by_manager.status_code == 200, by_manager.json()
    assert by_manager.json()["closed_at"] is None


def test_a_stale_board_gets_a_409(world, clients):
    Deal.objects.filter(pk=world.mine.pk).update(stage="proposal")

    response = clients["rep"].post(
        _detail(world.mine, "move/"), {"to_stage": "opportunity", "expected_stage": "list"}
    )

    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["expected_stage"]
    assert Deal.objects.get(pk=world.mine.pk).stage == "proposal"
    assert DealStageChange.objects.filter(deal=world.mine).count() == 1


def test_the_history_lists_the_stage_changes_newest_first(world, clients):
    client = clients["manager"]
    client.post(_detail(world.mine, "move/"), {"to_stage": "quote"})
    client.post(_detail(world.mine, "move/"), {"to_stage": "proposal", "note": "rescoped"})

    response = client.get(_detail(world.mine, "history/"))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["from_stage"], row["to_stage"], row["note"]) for row in rows] == [
        ("quote", "proposal", "rescoped"),
        ("list", "quote", ""),
        ("", "list", ""),
    ]
    assert rows[0]["actor_name"] == world.manager.get_full_name()


# --- List: filters, ordering, queries -----------------------------------------------------------


@pytest.fixture
def board(sales_rep):
    """The rep's own deals, for filters and the summary."""
    acme = AccountFactory(name="Acme Corp")
    campaign = CampaignFactory()
    deals = {
        "a": deal_at("list", name="Alpha", owner=sales_rep, amount=100, account=acme),
        "b": deal_at("proposal", name="Bravo", owner=sales_rep, amount=250, campaign=campaign),
        "c": deal_at("quote", name="Charlie", owner=sales_rep, amount=1000, currency="USD"),
        "d": deal_at("won", name="Delta", owner=sales_rep, amount=5000),
        "e": deal_at("lost", name="Echo", owner=sales_rep, amount=70),
    }
    Deal.objects.filter(pk=deals["b"].pk).update(is_stalled=True, expected_close_on="2026-12-01")
    Deal.objects.filter(pk=deals["c"].pk).update(expected_close_on="2027-01-15")
    deal_at("list", name="Not mine", amount=999999)  # another rep's
    return SimpleNamespace(acme=acme, campaign=campaign, **deals)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]),
        ({"stage": ["list", "won"]}, ["Alpha", "Delta"]),
        ({"amount_min": "250", "amount_max": "1000"}, ["Bravo", "Charlie"]),
        ({"currency": "usd"}, ["Charlie"]),
        ({"stalled": "true"}, ["Bravo"]),
        ({"stalled": "false"}, ["Alpha", "Charlie", "Delta", "Echo"]),
        ({"expected_close_on_after": "2026-12-01"}, ["Bravo", "Charlie"]),
        ({"expected_close_on_before": "2026-12-31"}, ["Bravo"]),
        ({"q": "acme"}, ["Alpha"]),
        ({"q": "charl"}, ["Charlie"]),
    ],
)
def test_it_filters_the_list(board, rep_client, params, expected):
    response = rep_client.get(URL, {**params, "ordering": "name"})

    assert response.status_code == 200, response.json()
    assert result_names(response) == expected


def test_it_filters_by_related_ids(board, rep_client, sales_rep):
    def names(**params):
        return result_names(rep_client.get(URL, {**params, "ordering": "name"}))

    assert names(account=board.acme.pk) == ["Alpha"]
    assert names(contact=board.a.contact_id) == ["Alpha"]
    assert names(campaign=board.campaign.pk) == ["Bravo"]
    assert names(owner=sales_rep.pk) == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
    team = TeamFactory()
    Deal.objects.filter(pk=board.d.pk).update(team=team)
    assert names(team=team.pk) == ["Delta"]


def test_it_orders_the_list(board, rep_client):
    response = rep_client.get(URL, {"ordering": "-amount"})

    assert result_names(response) == ["Delta", "Charlie", "Bravo", "Alpha", "Echo"]


def test_the_list_costs_the_same_queries_for_any_page_size(sales_rep, rep_client):
    account = AccountFactory()
    for index in range(30):
        deal_at(
            ["list", "proposal", "won"][index % 3],
            owner=sales_rep,
            account=account,
            team=TeamFactory(),
            campaign=CampaignFactory(),
        )
    rep_client.get(URL)  # warm the permission cache

    counts = {}
    for size in (2, 30):
        with CaptureQueriesContext(connection) as queries:
            response = rep_client.get(URL, {"page_size": size})
        assert len(response.json()["results"]) == size
        counts[size] = len(queries)

    assert counts[2] == counts[30] <= 4


# --- Summary ------------------------------------------------------------------------------------


def test_the_summary_counts_and_sums_every_stage_per_currency(board, rep_client):
    deal_at("list", owner=board.a.owner, amount=Decimal("0.55"))
    deal_at("quote", owner=board.a.owner, amount=Decimal("20.25"), currency="USD")

    response = rep_client.get(f"{URL}summary/")

    assert response.status_code == 200, response.json()
    zero = {"JPY": "0.00", "USD": "0.00"}
    assert response.json() == {
        "currencies": ["JPY", "USD"],
        "stages": [
            {"stage": "list", "count": 2, "amounts": {**zero, "JPY": "100.55"}},
            {"stage": "proposal", "count": 1, "amounts": {**zero, "JPY": "250.00"}},
            {"stage": "opportunity", "count": 0, "amounts": zero},
            {"stage": "quote", "count": 2, "amounts": {**zero, "USD": "1020.25"}},
            {"stage": "won", "count": 1, "amounts": {**zero, "JPY": "5000.00"}},
            {"stage": "lost", "count": 1, "amounts": {**zero, "JPY": "70.00"}},
        ],
        "total": {"count": 7, "amounts": {"JPY": "5420.55", "USD": "1020.25"}},
    }


def test_the_summary_takes_the_lists_filters(board, rep_client):
    response = rep_client.get(f"{URL}summary/", {"stage": ["list", "proposal"]})

    body = response.json()
    assert body["currencies"] == ["JPY"]
    assert [(row["stage"], row["count"]) for row in body["stages"]] == [
        ("list", 1),
        ("proposal", 1),
        ("opportunity", 0),
        ("quote", 0),
        ("won", 0),
        ("lost", 0),
    ]
    assert body["total"] == {"count": 2, "amounts": {"JPY": "350.00"}}


def test_the_summary_of_nothing_has_every_stage_at_zero(rep_client):
    response = rep_client.get(f"{URL}summary/")

    assert response.json() == {
        "currencies": [],
        "stages": [{"stage": stage, "count": 0, "amounts": {}} for stage in ALL_STAGES],
        "total": {"count": 0, "amounts": {}},
    }


def test_the_summary_is_scoped_per_role(world, clients):
    counts = {
        role: clients[role].get(f"{URL}summary/").json()["total"]["count"] for role in VISIBLE
    }

    assert counts == {role: len(names) for role, names in VISIBLE.items()}


def test_the_summary_is_one_query(board, rep_client):
    rep_client.get(f"{URL}summary/")  # warm the permission cache

    with CaptureQueriesContext(connection) as queries:
        response = rep_client.get(f"{URL}summary/", {"stage": ["list", "quote"], "q": "a"})

    assert response.status_code == 200
    on_deals = [query["sql"] for query in queries if "pipeline_deal" in query["sql"]]
    assert len(on_deals) == 1
    assert "GROUP BY" in on_deals[0]


# --- Bad input ----------------------------------------------------------------------------------


@pytest.fixture
def elsewhere(db):
    return ContactFactory(account=AccountFactory(name="Elsewhere"))


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": "X", "stage": "order"}, "stage", '"order" is not a valid choice.'),
        ({"name": "X", "stage": "won"}, "stage", '"won" is not a valid choice.'),
        (
            {"name": "X", "amount": "-1"},
            "amount",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            {"name": "X", "currency": "JP¥"},
            "currency",
            "A currency is a three-letter code such as JPY or USD.",
        ),
        (
            {"name": "X", "currency": "JPYY"},
            "currency",
            "A currency is a three-letter code such as JPY or USD.",
        ),
        ({"name": "X", "budget": 5}, "budget", "Unknown field."),
        (
            {"name": "X", "account": 1.5},
            "account",
            "Incorrect type. Expected pk value, received float.",
        ),
        (
            {"name": "X", "owner": 2.0},
            "owner",
            "Incorrect type. Expected pk value, received float.",
        ),
        ({"name": "X", "probability": 101}, "probability", None),
        ({"name": "X", "amount": "1e20"}, "amount", None),
        ({"name": "X", "amount": "NaN"}, "amount", None),
        ({"name": "X", "expected_close_on": "soon"}, "expected_close_on", None),
        ({}, "name", "This field is required."),
        ({"name": ""}, "name", "This field may not be blank."),
        ({"name": "X", "account": 10**30}, "account", None),
    ],
)
def test_bad_input_on_create_is_a_400_with_a_field_message(rep_client, body, field, message):
    response = rep_client.post(URL, body)

    assert response.status_code == 400, response.json()
    errors = response.json()["errors"]
    assert field in errors
    if message is not None:
        assert message in errors[field]
    assert not Deal.objects.exists()


def test_a_contact_of_another_account_is_a_400_on_contact(rep_client, elsewhere):
    account = AccountFactory(name="Acme")

    response = rep_client.post(
        URL, {"name": "Mixed", "account": account.pk, "contact": elsewhere.pk}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"contact": ["The contact belongs to another account."]}
    assert not Deal.objects.exists()


def test_bad_input_on_patch_is_a_400_and_changes_nothing(world, clients, elsewhere):
    client = clients["rep"]
    for body, field in [
        ({"amount": "-5"}, "amount"),
        ({"currency": "12"}, "currency"),
        ({"contact": elsewhere.pk}, "contact"),
        ({"colour": "red"}, "colour"),
        ({"team": 1.5}, "team"),
        ({"name": ""}, "name"),
    ]:
        response = client.patch(_detail(world.mine), body)
        assert response.status_code == 400, (body, response.json())
        assert field in response.json()["errors"], body
    stored = Deal.objects.get(pk=world.mine.pk)
    assert (stored.name, stored.amount, stored.currency) == (
        "Acme renewal",
        world.mine.amount,
        "JPY",
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"stage": "order"}, "stage"),
        ({"owner": "1.5"}, "owner"),
        ({"team": "abc"}, "team"),
        ({"account": str(10**30)}, "account"),
        ({"amount_min": "abc"}, "amount_min"),
        ({"amount_max": "1e400"}, "amount_max"),
        ({"amount_min": "-1"}, "amount_min"),
        ({"stalled": "yes"}, "stalled"),
        ({"expected_close_on_after": "tomorrow"}, "expected_close_on"),
        ({"expected_close_on_before": "2026-13-01"}, "expected_close_on"),
    ],
)
@pytest.mark.parametrize("path", ["", "summary/"])
def test_a_bad_filter_is_a_400(rep_client, params, field, path):
    response = rep_client.get(f"{URL}{path}", params)

    assert response.status_code == 400, response.json()
    assert field in str(response.json()["errors"])


@pytest.mark.parametrize("pk", ["1.5", "abc", str(10**30)])
def test_a_bad_id_in_the_path_is_a_404(world, clients, pk):
    assert clients["rep"].get(f"{URL}{pk}/").status_code == 404
    assert clients["rep"].post(f"{URL}{pk}/move/", {"to_stage": "won"}).status_code == 404


def test_a_float_id_in_the_move_body_is_refused(world, clients):
    response = clients["rep"].post(
        _detail(world.mine, "move/"), {"to_stage": "proposal", "expected_stage": 1.5}
    )

    assert response.status_code == 400
    assert "expected_stage" in response.json()["errors"]


# --- Stage settings -----------------------------------------------------------------------------


def test_the_stage_settings_are_listed_in_pipeline_order(rep_client):
    DealStageSetting.objects.filter(stage="quote").update(probability=80, stall_after_days=10)

    response = rep_client.get("/api/v1/deal-stages/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["stage"] for row in rows] == ALL_STAGES
    assert rows[3] == {
        "stage": "quote",
        "label": "Quote",
        "probability": 80,
        "stall_after_days": 10,
    }
    assert rep_client.get("/api/v1/deal-stages/won/").json()["probability"] == 100


def test_the_stage_settings_are_read_only_over_the_api(admin_client_api):
    url = "/api/v1/deal-stages/quote/"

    assert admin_client_api.patch(url, {"probability": 1}).status_code == 405
    assert admin_client_api.post("/api/v1/deal-stages/", {"stage": "x"}).status_code == 405
    assert DealStageSetting.objects.get(stage="quote").probability == 75


def test_the_stage_settings_need_the_view_permission(agent_client):
    assert agent_client.get("/api/v1/deal-stages/").status_code == 403


def test_ids_listed_are_those_visible(world, clients):
    ids = result_ids(clients["manager"].get(URL, {"ordering": "id"}))

    assert ids == sorted([world.mine.pk, world.colleagues.pk])
