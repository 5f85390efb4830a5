"""The deal services: create, update and every allowed and refused move, with its history row,
its timeline touchpoint and what winning does to the customer, or the absence of all of them."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import JourneyTransition, Touchpoint
from frontoffice.errors import ApplicationError, ConflictError, PermissionDeniedError
from pipeline import deal_stages
from pipeline.deals import deal_create, deal_move, deal_update, stage_probability
from pipeline.models import Deal, DealStageChange, DealStageSetting, DealStall
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    DealFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

STAGES = ["list", "proposal", "opportunity", "quote", "won", "lost"]
ALLOWED = [(a, b) for a, b in itertools.product(STAGES, STAGES) if deal_stages.classify_move(a, b)]
NO_MOVE = [
    (a, b) for a, b in itertools.product(STAGES, STAGES) if not deal_stages.classify_move(a, b)
]
NEEDS_REASON = [
    (a, b) for a, b in ALLOWED if deal_stages.classify_move(a, b) in deal_stages.REASON_REQUIRED
]


def _deal_at(stage: str, **kwargs) -> Deal:
    """A deal at `stage` (set up directly, with its first history row), begun an hour ago."""
    began = timezone.now() - timedelta(hours=1)
    closed_at = began if stage in ("won", "lost") else None
    return DealFactory(stage=stage, stage_changed_at=began, closed_at=closed_at, **kwargs)


def _history(deal: Deal) -> list[tuple[str, str]]:
    return list(
        DealStageChange.objects.filter(deal=deal)
        .order_by("created_at", "id")
        .values_list("from_stage", "to_stage")
    )


def _deal_touchpoints(deal: Deal, kind: str = "deal_update") -> list[Touchpoint]:
    return list(Touchpoint.objects.filter(source_id=deal.pk, kind=kind).order_by("id"))


# --- Create -------------------------------------------------------------------------------------


def test_it_opens_a_deal_with_its_first_history_row_and_a_timeline_touchpoint(sales_rep):
    account = AccountFactory(name="Acme")
    contact = ContactFactory(account=account)
    campaign = CampaignFactory()

    deal = deal_create(
        name=" Acme renewal ",
        owner=sales_rep,
        contact=contact,
        amount=Decimal("1200000"),
        currency="jpy",
        campaign=campaign,
        actor=sales_rep,
    )

    deal.refresh_from_db()
    assert (deal.name, deal.stage, deal.currency, deal.amount) == (
        "Acme renewal",
        "list",
        "JPY",
        Decimal("1200000.00"),
    )
    assert deal.account == account  # taken from the contact
    assert deal.probability == DealStageSetting.objects.get(stage="list").probability
    assert deal.closed_at is None
    change = DealStageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.actor, change.amount) == (
        "",
        "list",
        sales_rep,
        Decimal("1200000.00"),
    )
    [touchpoint] = _deal_touchpoints(deal)
    assert (touchpoint.contact, touchpoint.account, touchpoint.campaign, touchpoint.actor) == (
        contact,
        account,
        campaign,
        sales_rep,
    )
    assert touchpoint.summary == "Deal opened: Acme renewal"


def test_it_opens_a_deal_at_a_later_open_stage_with_that_stages_probability(sales_rep):
    DealStageSetting.objects.filter(stage="opportunity").update(probability=55)

    deal = deal_create(
        name="Big one", owner=sales_rep, stage="opportunity", account=AccountFactory()
    )

    assert (deal.stage, deal.probability) == ("opportunity", 55)
    assert _history(deal) == [("", "opportunity")]


@pytest.mark.parametrize("stage", ["won", "lost", "order", ""])
def test_it_refuses_to_open_a_deal_at_a_closed_or_unknown_stage(sales_rep, stage):
    with pytest.raises(ApplicationError) as refused:
        deal_create(name="Nope", owner=sales_rep, stage=stage)

    assert "stage" in refused.value.errors
    assert not Deal.objects.exists()


def test_it_puts_the_deal_in_the_owners_only_sales_team(sales_rep):
    team = TeamFactory(name="Tokyo sales")
    team.members.add(sales_rep)
    TeamFactory(name="Support", kind="support").members.add(sales_rep)

    deal = deal_create(name="Team deal", owner=sales_rep)

    assert deal.team == team


def test_it_leaves_the_team_empty_when_the_owner_is_in_two_sales_teams(sales_rep):
    TeamFactory(name="East").members.add(sales_rep)
    TeamFactory(name="West").members.add(sales_rep)

    assert deal_create(name="Which team?", owner=sales_rep).team is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Decimal("-1")}, "amount"),
        ({"currency": "YE"}, "currency"),
        ({"currency": "12€"}, "currency"),
        ({"name": "   "}, "name"),
        ({"probability": 101}, "probability"),
    ],
)
def test_it_refuses_bad_details_on_create_and_writes_nothing(sales_rep, changes, field):
    values = {"name": "Deal", "owner": sales_rep, **changes}

    with pytest.raises(ApplicationError) as refused:
        deal_create(**values)

    assert field in refused.value.errors
    assert not Deal.objects.exists()
    assert not DealStageChange.objects.exists()


def test_it_refuses_a_contact_of_another_account(sales_rep):
    contact = ContactFactory(account=AccountFactory(name="Globex"))

    with pytest.raises(ApplicationError) as refused:
        deal_create(name="Mixed", owner=sales_rep, account=AccountFactory(), contact=contact)

    assert refused.value.errors == {"contact": ["The contact belongs to another account."]}
    assert not Deal.objects.exists()


# --- Update -------------------------------------------------------------------------------------


def test_it_updates_the_details_but_never_the_stage(sales_rep):
    deal = _deal_at("proposal", owner=sales_rep)

    deal_update(deal=deal, name="Renamed", amount=Decimal("5000"), currency="usd", actor=sales_rep)

    deal.refresh_from_db()
    assert (deal.name, deal.amount, deal.currency, deal.stage) == (
        "Renamed",
        Decimal("5000.00"),
        "USD",
        "proposal",
    )
    with pytest.raises(ApplicationError) as refused:
        deal_update(deal=deal, stage="won")
    assert refused.value.errors == {"stage": ["Unknown field."]}


def test_an_update_from_a_stale_copy_does_not_undo_a_move(sales_rep):
    deal = _deal_at("list", owner=sales_rep)
    stale = Deal.objects.get(pk=deal.pk)
    deal_move(deal=deal, to_stage="proposal", actor=sales_rep)

    deal_update(deal=stale, name="Renamed meanwhile")

    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.stage, fresh.name) == ("proposal", "Renamed meanwhile")
    assert fresh.probability == stage_probability("proposal")


def test_it_refuses_to_change_the_amount_of_a_closed_deal(sales_rep):
    deal = _deal_at("won", owner=sales_rep, amount=Decimal("100"))

    with pytest.raises(ApplicationError) as refused:
        deal_update(deal=deal, amount=Decimal("200"))

    assert list(refused.value.errors) == ["amount"]
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("100.00")
    deal_update(deal=Deal.objects.get(pk=deal.pk), name="Other name is fine")


def test_it_refuses_to_change_the_amount_of_a_deal_won_since_it_was_read(sales_rep, manager):
    deal = _deal_at("quote", owner=sales_rep, amount=Decimal("100"))
    stale = Deal.objects.get(pk=deal.pk)
    deal_move(deal=deal, to_stage="won", actor=sales_rep)

    with pytest.raises(ApplicationError):
        deal_update(deal=stale, amount=Decimal("1"))

    assert Deal.objects.get(pk=deal.pk).amount == Decimal("100.00")


def test_it_refuses_an_update_that_puts_a_contact_of_another_account_on_the_deal(sales_rep):
    deal = _deal_at("list", owner=sales_rep)
    elsewhere = ContactFactory(account=AccountFactory())

    with pytest.raises(ApplicationError) as refused:
        deal_update(deal=deal, contact=elsewhere)

    assert list(refused.value.errors) == ["contact"]
    assert Deal.objects.get(pk=deal.pk).contact_id != elsewhere.pk


# --- Every allowed move -------------------------------------------------------------------------


@pytest.mark.parametrize(("from_stage", "to_stage"), ALLOWED)
def test_every_allowed_move_writes_one_history_row_and_a_touchpoint(manager, from_stage, to_stage):
    deal = _deal_at(from_stage, amount=Decimal("750000"))
    needs_reason = (from_stage, to_stage) in NEEDS_REASON
    note = "customer postponed" if needs_reason else ""
    before = _history(deal)

    change = deal_move(deal=deal, to_stage=to_stage, note=note, actor=manager)

    assert _history(deal) == [*before, (from_stage, to_stage)]
    assert (change.actor, change.note, change.amount) == (manager, note, Decimal("750000.00"))
    stored = Deal.objects.get(pk=deal.pk)
    assert stored.stage == to_stage
    assert stored.stage_changed_at == change.created_at
    assert stored.probability == DealStageSetting.objects.get(stage=to_stage).probability
    assert (stored.closed_at is not None) is (to_stage in ("won", "lost"))
    assert stored.lost_reason == (note if to_stage == "lost" else "")
    [touchpoint] = _deal_touchpoints(deal)
    assert touchpoint.actor == manager
    assert touchpoint.summary.startswith(f"Deal {deal.name}: {from_stage} → {to_stage}")
    assert len(_deal_touchpoints(deal, "order")) == (1 if to_stage == "won" else 0)


# --- Every refused move -------------------------------------------------------------------------


def _assert_nothing_written(deal: Deal, before: list) -> None:
    assert _history(deal) == before
    assert Deal.objects.get(pk=deal.pk).stage == before[-1][1]
    assert _deal_touchpoints(deal) == []


@pytest.mark.parametrize(("from_stage", "to_stage"), NO_MOVE)
def test_no_move_between_a_stage_and_itself_or_between_closed_stages(manager, from_stage, to_stage):
    deal = _deal_at(from_stage)
    before = _history(deal)

    with pytest.raises(ApplicationError) as refused:
        deal_move(deal=deal, to_stage=to_stage, note="a reason does not help", actor=manager)

    assert type(refused.value) is ApplicationError
    assert list(refused.value.errors) == ["to_stage"]
    _assert_nothing_written(deal, before)


@pytest.mark.parametrize(("from_stage", "to_stage"), NEEDS_REASON)
@pytest.mark.parametrize("note", ["", "   "])
def test_backward_lost_and_reopen_are_refused_without_a_reason(manager, from_stage, to_stage, note):
    deal = _deal_at(from_stage)
    before = _history(deal)

    with pytest.raises(ApplicationError) as refused:
        deal_move(deal=deal, to_stage=to_stage, note=note, actor=manager)

    assert type(refused.value) is ApplicationError
    assert list(refused.value.errors) == ["note"]
    _assert_nothing_written(deal, before)


@pytest.mark.parametrize(("from_stage", "to_stage"), [("won", "quote"), ("lost", "list")])
def test_only_a_manager_may_reopen_a_closed_deal(sales_rep, manager, from_stage, to_stage):
    deal = _deal_at(from_stage, owner=sales_rep)
    before = _history(deal)

    with pytest.raises(PermissionDeniedError) as refused:
        deal_move(deal=deal, to_stage=to_stage, note="customer came back", actor=sales_rep)

    assert refused.value.status_code == 403
    _assert_nothing_written(deal, before)

    deal_move(deal=deal, to_stage=to_stage, note="customer came back", actor=manager)
    assert _history(deal) == [*before, (from_stage, to_stage)]
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.stage, stored.closed_at, stored.lost_reason) == (to_stage, None, "")


@pytest.mark.parametrize("to_stage", ["order", "", "WON", "closed_won"])
def test_it_refuses_an_unknown_stage(sales_rep, to_stage):
    deal = _deal_at("list", owner=sales_rep)
    before = _history(deal)

    with pytest.raises(ApplicationError) as refused:
        deal_move(deal=deal, to_stage=to_stage, actor=sales_rep)

    assert list(refused.value.errors) == ["to_stage"]
    _assert_nothing_written(deal, before)


def test_it_refuses_a_reason_longer_than_500_characters(sales_rep):
    deal = _deal_at("quote", owner=sales_rep)
    before = _history(deal)

    with pytest.raises(ApplicationError) as refused:
        deal_move(deal=deal, to_stage="lost", note="x" * 501, actor=sales_rep)

    assert list(refused.value.errors) == ["note"]
    _assert_nothing_written(deal, before)


def test_it_refuses_to_win_a_deal_without_a_customer(sales_rep):
    deal = _deal_at("quote", owner=sales_rep, account=None, contact=None)
    before = _history(deal)

    with pytest.raises(ApplicationError) as refused:
        deal_move(deal=deal, to_stage="won", actor=sales_rep)

    assert list(refused.value.errors) == ["to_stage"]
    assert _history(deal) == before


def test_it_refuses_a_move_dated_before_the_current_stage_began(sales_rep):
    deal = _deal_at("list", owner=sales_rep)
    before = _history(deal)

    with pytest.raises(ApplicationError) as refused:
        deal_move(
            deal=deal,
            to_stage="proposal",
            actor=sales_rep,
            at=deal.stage_changed_at - timedelta(minutes=1),
        )

    assert list(refused.value.errors) == ["at"]
    _assert_nothing_written(deal, before)


# --- Compare-and-set ----------------------------------------------------------------------------


def test_a_move_from_a_stale_copy_is_a_conflict_and_writes_nothing(sales_rep):
    deal = _deal_at("list", owner=sales_rep)
    stale = Deal.objects.get(pk=deal.pk)
    deal_move(deal=deal, to_stage="proposal", actor=sales_rep)
    before = _history(deal)

    with pytest.raises(ConflictError) as refused:
        deal_move(deal=stale, to_stage="opportunity", actor=sales_rep)

    assert refused.value.status_code == 409
    assert _history(deal) == before
    assert Deal.objects.get(pk=deal.pk).stage == "proposal"


def test_a_deal_moved_away_and_back_meanwhile_is_still_a_conflict(sales_rep):
    deal = _deal_at("proposal", owner=sales_rep)
    stale = Deal.objects.get(pk=deal.pk)
    deal_move(deal=deal, to_stage="opportunity", actor=sales_rep)
    deal_move(deal=deal, to_stage="proposal", note="not ready", actor=sales_rep)
    before = _history(deal)

    with pytest.raises(ConflictError):
        deal_move(deal=stale, to_stage="quote", actor=sales_rep)

    assert _history(deal) == before


def test_a_move_expecting_another_stage_is_a_conflict(sales_rep):
    deal = _deal_at("opportunity", owner=sales_rep)
    before = _history(deal)

    with pytest.raises(ConflictError) as refused:
        deal_move(deal=deal, to_stage="quote", expected_stage="proposal", actor=sales_rep)

    assert list(refused.value.errors) == ["expected_stage"]
    _assert_nothing_written(deal, before)
    deal_move(deal=deal, to_stage="quote", expected_stage="opportunity", actor=sales_rep)
    assert Deal.objects.get(pk=deal.pk).stage == "quote"


# --- What a move does besides ------------------------------------------------------------------


def test_winning_records_the_order_and_makes_the_contact_and_account_customers(sales_rep):
    account = AccountFactory()
    contact = ContactFactory(account=account, stage="prospect")
    deal = _deal_at("quote", owner=sales_rep, account=account, contact=contact, currency="USD")
    deal_update(deal=deal, amount=Decimal("4321.50"))

    change = deal_move(deal=deal, to_stage="won", actor=sales_rep)

    [order] = _deal_touchpoints(deal, "order")
    assert (order.amount, order.currency, order.contact, order.account, order.actor) == (
        Decimal("4321.50"),
        "USD",
        contact,
        account,
        sales_rep,
    )
    assert order.occurred_at == change.created_at
    contact.refresh_from_db()
    assert contact.stage == "customer"
    transition = JourneyTransition.objects.filter(contact=contact).latest("created_at")
    assert (transition.from_stage, transition.to_stage, transition.actor) == (
        "prospect",
        "customer",
        sales_rep,
    )
    assert transition.cause == f"Deal won: {deal.name}"
    account.refresh_from_db()
    assert account.customer_since == change.created_at


def test_a_second_win_keeps_the_first_customer_date_and_a_promoter_stays_a_promoter(
    sales_rep,
):
    account = AccountFactory()
    contact = ContactFactory(account=account, stage="promoter")
    first = _deal_at("quote", owner=sales_rep, account=account, contact=contact)
    second = _deal_at("quote", owner=sales_rep, account=account, contact=contact)

    won_first = deal_move(deal=first, to_stage="won", actor=sales_rep)
    deal_move(deal=second, to_stage="won", actor=sales_rep)

    account.refresh_from_db()
    contact.refresh_from_db()
    assert account.customer_since == won_first.created_at
    assert contact.stage == "promoter"
    assert len(_deal_touchpoints(first, "order")) == len(_deal_touchpoints(second, "order")) == 1


def test_a_deal_without_contact_still_makes_its_account_a_customer(sales_rep):
    account = AccountFactory()
    deal = _deal_at("opportunity", owner=sales_rep, account=account, contact=None)

    change = deal_move(deal=deal, to_stage="won", actor=sales_rep)

    account.refresh_from_db()
    assert account.customer_since == change.created_at


def test_losing_keeps_the_reason_and_does_not_touch_the_journey(sales_rep):
    deal = _deal_at("quote", owner=sales_rep)
    stage_before = deal.contact.stage

    deal_move(deal=deal, to_stage="lost", note=" went with a competitor ", actor=sales_rep)

    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.stage, stored.lost_reason) == ("lost", "went with a competitor")
    assert DealStageChange.objects.filter(deal=deal).latest("created_at").note == (
        "went with a competitor"
    )
    deal.contact.refresh_from_db()
    assert deal.contact.stage == stage_before
    assert _deal_touchpoints(deal, "order") == []


def test_a_move_takes_the_admin_set_probability_of_the_new_stage(sales_rep):
    DealStageSetting.objects.filter(stage="proposal").update(probability=35)
    deal = _deal_at("list", owner=sales_rep, probability=90)

    deal_move(deal=deal, to_stage="proposal", actor=sales_rep)

    assert Deal.objects.get(pk=deal.pk).probability == 35


def test_a_missing_stage_setting_falls_back_to_the_built_in_probability(sales_rep):
    DealStageSetting.objects.filter(stage="quote").delete()
    deal = _deal_at("opportunity", owner=sales_rep)

    deal_move(deal=deal, to_stage="quote", actor=sales_rep)

    assert Deal.objects.get(pk=deal.pk).probability == deal_stages.FALLBACK_PROBABILITY["quote"]


def test_a_move_ends_the_deals_stall(sales_rep):
    deal = _deal_at("proposal", owner=sales_rep)
    Deal.objects.filter(pk=deal.pk).update(is_stalled=True)
    stall = DealStall.objects.create(deal=deal, reason="time_in_stage", stage="proposal")

    change = deal_move(deal=deal, to_stage="opportunity", actor=sales_rep)

    stall.refresh_from_db()
    assert stall.ended_at == change.created_at
    assert Deal.objects.get(pk=deal.pk).is_stalled is False


def test_a_deal_without_customer_moves_without_a_timeline_touchpoint(sales_rep):
    deal = _deal_at("list", owner=sales_rep, account=None, contact=None)

    deal_move(deal=deal, to_stage="proposal", actor=sales_rep)

    assert _history(deal) == [("", "list"), ("list", "proposal")]
    assert not Touchpoint.objects.exists()
