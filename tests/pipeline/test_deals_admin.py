"""The deal admin: the same visibility and edit rights as the API, writes through the services,
the stage changed only by the "Move stage" action, read-only history, and the settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from pipeline.models import Deal, DealStageChange, DealStageSetting, DealStall, SalesPolicy
from tests.factories import AccountFactory, ContactFactory, TeamFactory, TouchpointFactory
from tests.pipeline.test_deals_api import VISIBLE, deal_at, deal_world

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/pipeline/deal/"
NO_INLINE_FORMS = {
    "stage_changes-TOTAL_FORMS": 0,
    "stage_changes-INITIAL_FORMS": 0,
    "stalls-TOTAL_FORMS": 0,
    "stalls-INITIAL_FORMS": 0,
}


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _history(deal: Deal) -> list[tuple[str, str]]:
    return list(
        DealStageChange.objects.filter(deal=deal)
        .order_by("created_at", "id")
        .values_list("from_stage", "to_stage")
    )


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def world(sales_rep, manager, support_agent, marketer, admin_user):
    world = deal_world(rep=sales_rep, manager=manager, agent=support_agent)
    world.marketer, world.admin = marketer, admin_user
    return world


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_each_role_sees_the_same_deals_in_the_changelist_as_in_the_api(world, role):
    response = _browser(getattr(world, role)).get(CHANGELIST, {"o": "1"})

    assert response.status_code == 200
    assert sorted(deal.name for deal in response.context["cl"].result_list) == VISIBLE[role]


@pytest.mark.parametrize("role", sorted(VISIBLE))
def test_the_stage_history_changelist_is_scoped_the_same_way(world, role):
    response = _browser(getattr(world, role)).get("/admin/pipeline/dealstagechange/")

    assert response.status_code == 200
    names = sorted(change.deal.name for change in response.context["cl"].result_list)
    assert names == VISIBLE[role]


def test_a_rep_cannot_open_a_colleaguesdeal_at(world):
    response = _browser(world.rep).get(f"{CHANGELIST}{world.colleagues.pk}/change/")

    assert response.status_code == 302
    assert response.url == "/admin/"


def test_an_agent_reads_a_served_customers_deal_without_a_save_button(world):
    response = _browser(world.agent).get(f"{CHANGELIST}{world.osakas.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Initech rollout" in page
    assert 'name="_save"' not in page
    assert "stage history" in page.lower()


def test_a_deal_one_may_see_but_not_edit_opens_read_only(world):
    world.rep.user_permissions.add(Permission.objects.get(codename="view_served_customer_deals"))
    TouchpointFactory(contact=world.osakas.contact, actor=world.rep)
    browser = _browser(world.rep)

    page = browser.get(f"{CHANGELIST}{world.osakas.pk}/change/")
    posted = browser.post(
        f"{CHANGELIST}{world.osakas.pk}/change/",
        {"name": "Taken", "currency": "JPY", "amount": "1", "probability": 10, **NO_INLINE_FORMS},
    )

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert Deal.objects.get(pk=world.osakas.pk).name == "Initech rollout"


def test_the_changelist_costs_no_query_per_row(world, django_assert_max_num_queries):
    account = AccountFactory()
    for _ in range(40):
        deal_at(owner=world.rep, team=TeamFactory(), account=account)
    browser = _browser(world.admin)

    with django_assert_max_num_queries(20):
        response = browser.get(CHANGELIST)

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 43


# --- Add and change through the services --------------------------------------------------------


def _form(**values) -> dict:
    return {"currency": "JPY", "amount": "0", "probability": 10, **NO_INLINE_FORMS, **values}


def test_a_rep_adds_a_deal_they_own_with_its_first_history_row(world):
    account = AccountFactory(name="Acme")
    contact = ContactFactory(account=account)
    browser = _browser(world.rep)

    page = browser.get(f"{CHANGELIST}add/")
    assert page.context["adminform"].form.initial["owner"] == world.rep.pk
    owners = list(page.context["adminform"].form.fields["owner"].queryset)
    assert owners == [world.rep]
    response = browser.post(
        f"{CHANGELIST}add/",
        _form(name="Acme expansion", contact=contact.pk, owner=world.rep.pk, currency="usd"),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    deal = Deal.objects.get(name="Acme expansion")
    assert (deal.owner, deal.account, deal.stage, deal.currency, deal.team) == (
        world.rep,
        account,
        "list",
        "USD",
        world.tokyo,
    )
    assert _history(deal) == [("", "list")]
    assert DealStageChange.objects.get(deal=deal).actor == world.rep


def test_a_rep_may_not_add_a_deal_for_someone_else(world):
    response = _browser(world.rep).post(
        f"{CHANGELIST}add/", _form(name="For a colleague", owner=world.colleague.pk)
    )

    assert response.status_code == 200
    assert "owner" in response.context["adminform"].form.errors
    assert not Deal.objects.filter(name="For a colleague").exists()


def test_a_manager_may_pick_any_member_of_the_team_as_owner(world):
    page = _browser(world.manager).get(f"{CHANGELIST}add/")

    owners = set(page.context["adminform"].form.fields["owner"].queryset)
    assert owners == {world.manager, world.rep, world.colleague}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"currency": "J1Y"}, "currency"),
        ({"amount": "-1"}, "amount"),
        ({"probability": 101}, "probability"),
    ],
)
def test_bad_input_in_the_add_form_is_a_field_error(world, values, field):
    response = _browser(world.rep).post(
        f"{CHANGELIST}add/", _form(name="Bad", owner=world.rep.pk, **values)
    )

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Deal.objects.filter(name="Bad").exists()


def test_a_contact_of_another_account_is_a_field_error(world):
    contact = ContactFactory(account=AccountFactory(name="Globex"))

    response = _browser(world.rep).post(
        f"{CHANGELIST}add/",
        _form(name="Mixed", owner=world.rep.pk, account=AccountFactory().pk, contact=contact.pk),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["contact"] == [
        "The contact belongs to another account."
    ]


def test_a_rep_changes_their_deal_but_the_posted_stage_is_ignored(world):
    deal = world.mine

    response = _browser(world.rep).post(
        f"{CHANGELIST}{deal.pk}/change/",
        _form(
            name="Acme renewal 2027",
            account=deal.account_id,
            contact=deal.contact_id,
            owner=world.rep.pk,
            team=world.tokyo.pk,
            amount="2000000",
            stage="won",
        ),
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.name, stored.amount, stored.stage) == (
        "Acme renewal 2027",
        Decimal("2000000.00"),
        "list",
    )
    assert _history(stored) == [("", "list")]


def test_a_won_deals_amount_cannot_be_changed_in_the_admin(world):
    won = deal_at("won", owner=world.rep, team=world.tokyo, amount=100)

    response = _browser(world.rep).post(
        f"{CHANGELIST}{won.pk}/change/",
        _form(
            name=won.name,
            account=won.account_id,
            contact=won.contact_id,
            owner=world.rep.pk,
            amount="999",
            probability=100,
        ),
    )

    assert response.status_code == 200
    assert "amount" in response.context["adminform"].form.errors
    assert Deal.objects.get(pk=won.pk).amount == Decimal("100.00")


def test_the_change_page_shows_the_history_and_the_stalls(world):
    DealStall.objects.create(deal=world.mine, reason="no_activity", stage="list")

    page = _browser(world.rep).get(f"{CHANGELIST}{world.mine.pk}/change/").content.decode()

    assert "stage history" in page.lower()
    assert "No activity" in page
    assert 'name="stage"' not in page  # read-only


# --- The "Move stage" action --------------------------------------------------------------------


def _move(browser, deals, **values):
    data = {"action": "move_stage", "_selected_action": [deal.pk for deal in deals]}
    if values:
        data.update({"apply": "1", **values})
    return browser.post(CHANGELIST, data)


def test_the_move_action_asks_for_the_stage_and_reason_first(world):
    response = _move(_browser(world.rep), [world.mine])

    assert response.status_code == 200
    assert set(response.context["form"].fields) == {"to_stage", "note"}
    assert _history(world.mine) == [("", "list")]


def test_the_move_action_moves_through_the_service(world):
    response = _move(_browser(world.manager), [world.mine, world.colleagues], to_stage="quote")

    assert response.status_code == 302
    assert "Moved 2 deal(s)." in _messages(response)
    for deal in (world.mine, world.colleagues):
        assert _history(deal) == [("", "list"), ("list", "quote")]
        change = DealStageChange.objects.filter(deal=deal).latest("id")
        assert change.actor == world.manager


def test_a_refused_move_in_the_admin_is_a_warning_and_writes_nothing(world):
    Deal.objects.filter(pk=world.mine.pk).update(stage="quote")

    response = _move(_browser(world.rep), [world.mine], to_stage="proposal", note="")

    assert "Moved 0 deal(s)." in _messages(response)
    assert any("needs a reason" in message for message in _messages(response))
    assert Deal.objects.get(pk=world.mine.pk).stage == "quote"
    assert _history(world.mine) == [("", "list")]


def test_reopening_in_the_admin_is_a_managers_move(world):
    won = deal_at("won", owner=world.rep, team=world.tokyo)

    by_rep = _move(_browser(world.rep), [won], to_stage="quote", note="revised")
    assert any("manager" in message for message in _messages(by_rep))
    assert Deal.objects.get(pk=won.pk).stage == "won"

    by_manager = _move(_browser(world.manager), [won], to_stage="quote", note="revised")
    assert "Moved 1 deal(s)." in _messages(by_manager)
    assert _history(won) == [("", "won"), ("won", "quote")]


def test_the_move_action_skips_deals_one_may_see_but_not_edit(world):
    world.rep.user_permissions.add(Permission.objects.get(codename="view_served_customer_deals"))
    TouchpointFactory(contact=world.osakas.contact, actor=world.rep)

    response = _move(_browser(world.rep), [world.mine, world.osakas], to_stage="proposal")

    assert "Moved 1 deal(s)." in _messages(response)
    assert _history(world.mine) == [("", "list"), ("list", "proposal")]
    assert _history(world.osakas) == [("", "list")]


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_readers_have_no_move_action(world, role):
    response = _browser(getattr(world, role)).get(CHANGELIST)

    action_form = response.context["action_form"]
    actions = dict(action_form.fields["action"].choices) if action_form else {}
    assert "move_stage" not in actions
    moved = _move(_browser(getattr(world, role)), [world.osakas], to_stage="proposal")
    assert moved.status_code in (200, 302, 403)
    assert _history(world.osakas) == [("", "list")]


def test_the_stage_history_admin_is_read_only(world):
    change = DealStageChange.objects.get(deal=world.mine)
    browser = _browser(world.admin)

    assert browser.get("/admin/pipeline/dealstagechange/add/").status_code == 403
    assert browser.post(f"/admin/pipeline/dealstagechange/{change.pk}/delete/").status_code == 403
    page = browser.get(f"/admin/pipeline/dealstagechange/{change.pk}/change/")
    assert 'name="_save"' not in page.content.decode()


# --- Settings -----------------------------------------------------------------------------------


def test_the_admin_sets_a_stage_probability_that_the_next_move_takes(world):
    browser = _browser(world.admin)

    response = browser.post(
        "/admin/pipeline/dealstagesetting/proposal/change/",
        {"probability": 33, "stall_after_days": 7},
    )
    assert response.status_code == 302
    _move(_browser(world.rep), [world.mine], to_stage="proposal")

    assert DealStageSetting.objects.get(stage="proposal").stall_after_days == 7
    assert Deal.objects.get(pk=world.mine.pk).probability == 33


def test_stage_settings_are_neither_added_nor_deleted_and_reps_only_read_them(world):
    admin = _browser(world.admin)
    rep = _browser(world.rep)

    assert admin.get("/admin/pipeline/dealstagesetting/add/").status_code == 403
    assert admin.post("/admin/pipeline/dealstagesetting/won/delete/").status_code == 403
    assert rep.get("/admin/pipeline/dealstagesetting/").status_code == 200
    assert (
        rep.post(
            "/admin/pipeline/dealstagesetting/won/change/",
            {"probability": 1},
        ).status_code
        == 403
    )
    assert DealStageSetting.objects.count() == 6


def test_the_sales_policy_is_one_row_edited_in_place(world):
    browser = _browser(world.admin)

    listing = browser.get("/admin/pipeline/salespolicy/")
    assert (listing.status_code, listing.url) == (302, "/admin/pipeline/salespolicy/1/change/")
    assert browser.get("/admin/pipeline/salespolicy/add/").status_code == 403
    assert browser.post("/admin/pipeline/salespolicy/1/delete/").status_code == 403

    response = browser.post(
        "/admin/pipeline/salespolicy/1/change/",
        {
            "idle_after_days": 10,
            "report_due_time": "17:30",
            "summary_time": "19:00",
            "working_days": ["6", "1", "2"],
        },
    )

    assert response.status_code == 302
    policy = SalesPolicy.objects.get()
    assert (policy.pk, policy.idle_after_days, policy.working_days) == (1, 10, [1, 2, 6])


def test_a_missing_sales_policy_may_be_added_once_as_row_one(world):
    SalesPolicy.objects.all().delete()
    browser = _browser(world.admin)

    response = browser.post(
        "/admin/pipeline/salespolicy/add/",
        {
            "idle_after_days": 21,
            "report_due_time": "18:00",
            "summary_time": "19:00",
            "working_days": ["1"],
        },
    )

    assert response.status_code == 302
    assert list(SalesPolicy.objects.values_list("pk", "idle_after_days")) == [(1, 21)]
    assert browser.get("/admin/pipeline/salespolicy/add/").status_code == 403


def test_a_rep_reads_the_sales_policy_but_cannot_change_it(world):
    browser = _browser(world.rep)

    page = browser.get("/admin/pipeline/salespolicy/1/change/")
    posted = browser.post(
        "/admin/pipeline/salespolicy/1/change/",
        {"idle_after_days": 1, "report_due_time": "18:00", "summary_time": "19:00"},
    )

    assert page.status_code == 200
    assert posted.status_code == 403
    assert SalesPolicy.objects.get().idle_after_days == 14
