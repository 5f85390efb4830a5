"""Races on PostgreSQL: several people move the same deal at the same moment.

Real threads, each with its own database connection, against committed data
(``transaction=True``); a barrier releases them together. Exactly one move wins, the others get
ConflictError (409 over the API), and the history has exactly one row per winning move: none
lost, none doubled. SQLite serialises writers, so there is no race to show there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import Account, Contact, JourneyTransition, Touchpoint
from frontoffice.errors import ConflictError
from pipeline.deals import deal_create, deal_move, deal_update
from pipeline.models import Deal, DealStageChange
from tests.concurrency import POSTGRES_ONLY, all_at_once
from tests.factories import AccountFactory, ContactFactory, TeamFactory, user_with_role

pytestmark = [
    pytest.mark.postgres,
    POSTGRES_ONLY,
    pytest.mark.django_db(transaction=True),
]

THREADS = 8


def _all_at_once(
    prepare: Callable[[int], Any], act: Callable[[int, Any], Any], threads: int = THREADS
) -> list[Any]:
    return all_at_once(act, prepare=prepare, threads=threads)


def _history(deal: Deal) -> list[tuple[str, str]]:
    return list(
        DealStageChange.objects.filter(deal=deal)
        .order_by("id")
        .values_list("from_stage", "to_stage")
    )


@pytest.fixture
def deal(role_groups):
    owner = user_with_role(roles.SALES_REP, username="owner")
    account = AccountFactory(name="Acme")
    contact = ContactFactory(account=account, stage="prospect")
    return deal_create(
        name="Acme renewal",
        owner=owner,
        contact=contact,
        amount=Decimal("1500000"),
        stage="quote",
        actor=owner,
    )


def test_of_many_identical_moves_exactly_one_is_written(deal):
    outcomes = _all_at_once(
        prepare=lambda _i: Deal.objects.get(pk=deal.pk),
        act=lambda _i, mine: deal_move(deal=mine, to_stage="won"),
    )

    won = [o for o in outcomes if isinstance(o, DealStageChange)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert (len(won), len(refused)) == (1, THREADS - 1)
    assert all(exc.status_code == 409 for exc in refused)
    assert _history(deal) == [("", "quote"), ("quote", "won")]
    # Winning happened once: one order, one journey move, one customer date.
    assert Touchpoint.objects.filter(source_id=deal.pk, kind="order").count() == 1
    assert list(
        JourneyTransition.objects.filter(contact=deal.contact)
        .order_by("id")
        .values_list("from_stage", "to_stage")
    ) == [("", "prospect"), ("prospect", "customer")]
    assert Contact.objects.get(pk=deal.contact_id).stage == "customer"
    assert Account.objects.get(pk=deal.account_id).customer_since == won[0].created_at


def test_of_many_people_moving_one_deal_to_different_stages_one_wins(deal):
    targets = ["won", "lost", "list", "proposal", "opportunity", "won", "lost", "list"]

    outcomes = _all_at_once(
        prepare=lambda _i: Deal.objects.get(pk=deal.pk),
        act=lambda i, mine: deal_move(deal=mine, to_stage=targets[i], note=f"person {i}"),
    )

    won = [o for o in outcomes if isinstance(o, DealStageChange)]
    assert len(won) == 1
    assert sum(isinstance(o, ConflictError) for o in outcomes) == THREADS - 1
    final = Deal.objects.get(pk=deal.pk)
    assert _history(deal) == [("", "quote"), ("quote", final.stage)]
    assert won[0].to_stage == final.stage
    assert won[0].note == DealStageChange.objects.filter(deal=deal).latest("id").note
    move_touchpoints = Touchpoint.objects.filter(source_id=deal.pk, kind="deal_update")
    assert move_touchpoints.count() == 2  # opened, and the one move


def test_an_update_racing_moves_never_puts_an_old_stage_back(deal):
    """Half the threads move the deal, the other half edit it from the same stale read."""

    def act(i: int, mine: Deal):
        if i % 2:
            return deal_update(deal=mine, name=f"Renamed by {i}")
        return deal_move(deal=mine, to_stage="lost", note=f"person {i}")

    outcomes = _all_at_once(prepare=lambda _i: Deal.objects.get(pk=deal.pk), act=act)

    assert sum(isinstance(o, DealStageChange) for o in outcomes) == 1
    assert sum(isinstance(o, Deal) for o in outcomes) == THREADS // 2
    assert Deal.objects.get(pk=deal.pk).stage == "lost"
    assert _history(deal) == [("", "quote"), ("quote", "lost")]


def test_people_moving_a_deal_back_and_forth_lose_no_row(deal):
    """Each thread keeps moving the deal between two stages from what it just read; every move
    that went through is exactly one history row, and the rows chain without a gap."""
    rounds = 12
    successes = [0] * THREADS

    def act(i: int, _prepared):
        for _round in range(rounds):
            mine = Deal.objects.get(pk=deal.pk)
            to_stage = "opportunity" if mine.stage == "quote" else "quote"
            try:
                deal_move(deal=mine, to_stage=to_stage, note=f"person {i}")
                successes[i] += 1
            except ConflictError:
                pass
        return None

    _all_at_once(prepare=lambda _i: None, act=act)

    history = _history(deal)
    assert len(history) == 1 + sum(successes)
    assert sum(successes) >= rounds  # somebody always gets through
    for (_before, previous_to), (from_stage, _to) in itertools.pairwise(history):
        assert from_stage == previous_to
    assert Deal.objects.get(pk=deal.pk).stage == history[-1][1]


def test_over_the_api_one_move_is_a_200_and_the_others_409(deal):
    team = TeamFactory(name="Tokyo")
    people = [deal.owner]
    for index in range(THREADS - 1):
        manager = user_with_role(roles.MANAGER, username=f"manager{index}")
        team.members.add(manager)
        people.append(manager)
    team.members.add(deal.owner)
    Deal.objects.filter(pk=deal.pk).update(team=team)

    def prepare(i: int) -> APIClient:
        client = APIClient()
        client.force_authenticate(people[i])
        return client

    def act(i: int, client: APIClient):
        stage = ["won", "opportunity"][i % 2]
        body = {"to_stage": stage, "note": f"by {i}", "expected_stage": "quote"}
        return client.post(f"/api/v1/deals/{deal.pk}/move/", body, format="json")

    responses = _all_at_once(prepare=prepare, act=act)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [409] * (THREADS - 1), [r.json() for r in responses]
    final = Deal.objects.get(pk=deal.pk)
    assert _history(deal) == [("", "quote"), ("quote", final.stage)]
    [winner] = [response for response in responses if response.status_code == 200]
    assert winner.json()["stage"] == final.stage
    assert all(response.json()["errors"] for response in responses if response.status_code == 409)
