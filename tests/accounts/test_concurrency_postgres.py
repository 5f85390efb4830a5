"""Races on PostgreSQL: many requests at once on the same customer leave exactly one result.

Real threads, each with its own database connection, against committed data
(``transaction=True``). SQLite serialises writers, so there is no race to show there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts.models import Account, Contact, JourneyTransition
from accounts.services import contact_create, contact_resolve, journey_advance, journey_move
from frontoffice.errors import ConflictError
from tests.concurrency import POSTGRES_ONLY, all_at_once

pytestmark = [
    pytest.mark.postgres,
    POSTGRES_ONLY,
    pytest.mark.django_db(transaction=True),
]

THREADS = 10


def _all_at_once(prepare: Callable[[], Any], act: Callable[[Any], Any]) -> list[Any]:
    return all_at_once(lambda _i, mine: act(mine), prepare=lambda _i: prepare(), threads=THREADS)


def test_it_lets_exactly_one_of_many_simultaneous_moves_through():
    contact = contact_create(name="Taro Yamada", email="taro@acme.co.jp", stage="lead")

    outcomes = _all_at_once(
        prepare=lambda: Contact.objects.get(pk=contact.pk),
        act=lambda mine: journey_move(contact=mine, to_stage="prospect", cause="replied"),
    )

    moved = [o for o in outcomes if isinstance(o, JourneyTransition)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert (len(moved), len(refused)) == (1, THREADS - 1)
    assert Contact.objects.get(pk=contact.pk).stage == "prospect"
    assert list(
        JourneyTransition.objects.filter(contact=contact)
        .order_by("created_at", "id")
        .values_list("from_stage", "to_stage")
    ) == [("", "lead"), ("lead", "prospect")]


def test_it_advances_a_contact_once_when_many_advance_it_at_once():
    contact = contact_create(name="Taro Yamada", email="taro@acme.co.jp", stage="lead")

    outcomes = _all_at_once(
        prepare=lambda: Contact.objects.get(pk=contact.pk),
        act=lambda mine: journey_advance(contact=mine, to_stage="customer", cause="won deal"),
    )

    assert sum(isinstance(o, JourneyTransition) for o in outcomes) == 1
    assert sum(o is None for o in outcomes) == THREADS - 1
    assert list(
        JourneyTransition.objects.filter(contact=contact)
        .order_by("created_at", "id")
        .values_list("from_stage", "to_stage")
    ) == [("", "lead"), ("lead", "customer")]


def test_it_creates_one_contact_when_many_resolve_the_same_new_email_at_once():
    outcomes = _all_at_once(
        prepare=lambda: None,
        act=lambda _: contact_resolve(
            email="Hanako.Sato@Concurrent.co.jp", name="Hanako Sato", company="Concurrent KK"
        ),
    )

    contact = Contact.objects.get()
    assert contact.email == "hanako.sato@concurrent.co.jp"
    assert {resolved.contact.pk for resolved in outcomes} == {contact.pk}
    assert sorted(resolved.created for resolved in outcomes) == [False] * (THREADS - 1) + [True]
    assert list(Account.objects.values_list("name", "domain")) == [
        ("Concurrent KK", "concurrent.co.jp")
    ]
    assert contact.account == Account.objects.get()
    assert list(JourneyTransition.objects.values_list("contact_id", "from_stage", "to_stage")) == [
        (contact.pk, "", "awareness")
    ]
