"""Quote races on PostgreSQL: many quotes created at once get distinct consecutive numbers, and
two decisions on one deal at once leave exactly one outcome.

Real threads, each with its own database connection, against committed data
(``transaction=True``). SQLite serialises writers, so there is no race to show there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Touchpoint
from frontoffice.errors import ConflictError
from pipeline.models import Deal, DealStageChange, Quote, QuoteNumberSequence, QuoteStatusChange
from pipeline.quotes import quote_accept, quote_create, quote_send
from tests.concurrency import POSTGRES_ONLY, all_at_once
from tests.factories import DealFactory, ProductFactory, UserFactory

pytestmark = [
    pytest.mark.postgres,
    POSTGRES_ONLY,
    pytest.mark.django_db(transaction=True),
]

THREADS = 20
TOKYO = ZoneInfo("Asia/Tokyo")
AT = dt.datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)


def _all_at_once(act: Callable[[int], Any], threads: int = THREADS) -> list[Any]:
    return all_at_once(lambda index, _none: act(index), threads=threads, timeout=120)


@pytest.fixture
def deal():
    return DealFactory(owner=UserFactory(), stage="opportunity", stage_changed_at=AT)


@pytest.fixture
def licence():
    return ProductFactory(code="ERP-1", unit_price=Decimal("1000"))


def _create(deal: Deal, licence) -> Callable[[int], Quote]:
    def act(index: int) -> Quote:
        line = {"product": licence, "quantity": Decimal(index + 1)}
        return quote_create(deal=Deal.objects.get(pk=deal.pk), lines=[line], at=AT)

    return act


def test_it_gives_twenty_simultaneous_first_quotes_of_a_year_consecutive_numbers(deal, licence):
    assert not QuoteNumberSequence.objects.exists()

    created = _all_at_once(_create(deal, licence))

    numbers = sorted(quote.number for quote in created)
    assert numbers == [f"Q-2026-{n:05d}" for n in range(1, THREADS + 1)]
    assert sorted(Quote.objects.values_list("sequence", flat=True)) == list(range(1, THREADS + 1))
    assert list(QuoteNumberSequence.objects.values_list("year", "last_number")) == [(2026, THREADS)]


def test_it_continues_the_sequence_without_repeats_under_concurrency(deal, licence):
    quote_create(deal=deal, lines=[{"product": licence, "quantity": Decimal(1)}], at=AT)

    created = _all_at_once(_create(deal, licence))

    assert sorted(quote.sequence for quote in created) == list(range(2, THREADS + 2))
    assert Quote.objects.values("number").distinct().count() == THREADS + 1


def test_it_sends_a_quote_once_when_many_send_it_at_once(deal, licence):
    quote = quote_create(deal=deal, lines=[{"product": licence, "quantity": Decimal(1)}], at=AT)

    outcomes = _all_at_once(
        lambda _index: quote_send(quote=Quote.objects.get(pk=quote.pk), at=AT), threads=10
    )

    assert sum(isinstance(outcome, QuoteStatusChange) for outcome in outcomes) == 1
    assert sum(isinstance(outcome, ConflictError) for outcome in outcomes) == 9
    assert Touchpoint.objects.filter(kind="quote").count() == 1
    assert DealStageChange.objects.filter(deal=deal, to_stage="quote").count() == 1


def test_it_wins_the_deal_once_when_two_quotes_are_accepted_at_once(deal, licence):
    offers = []
    for quantity in (2, 3):
        offer = quote_create(
            deal=deal, lines=[{"product": licence, "quantity": Decimal(quantity)}], at=AT
        )
        quote_send(quote=offer, at=AT)
        offers.append(offer)

    outcomes = _all_at_once(
        lambda index: quote_accept(quote=Quote.objects.get(pk=offers[index].pk)), threads=2
    )

    accepted = [outcome for outcome in outcomes if isinstance(outcome, QuoteStatusChange)]
    assert len(accepted) == 1
    assert sorted(Quote.objects.values_list("status", flat=True)) == ["accepted", "sent"]
    winner = Quote.objects.get(status="accepted")
    deal.refresh_from_db()
    assert (deal.stage, deal.amount) == ("won", winner.total)
    assert DealStageChange.objects.filter(deal=deal, to_stage="won").count() == 1
