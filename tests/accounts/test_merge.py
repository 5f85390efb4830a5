"""Merging duplicate customers: every related row moves to the survivor, none is lost, and an
audit row says what happened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import models

from accounts.models import Account, Contact, CustomerMerge, JourneyTransition, Touchpoint
from accounts.services import (
    account_become_customer,
    account_create,
    account_merge,
    contact_create,
    contact_merge,
    contact_resolve,
    journey_move,
    touchpoint_record,
)
from frontoffice.errors import ApplicationError, ConflictError
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
MERGED_AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


@pytest.fixture
def actor(settings):
    return UserFactory(username="manager")


def _contact(at: datetime, **fields) -> Contact:
    with time_machine.travel(at, tick=False):
        return contact_create(**fields)


def _move(contact: Contact, to_stage: str, at: datetime, cause: str = "") -> None:
    with time_machine.travel(at, tick=False):
        journey_move(contact=contact, to_stage=to_stage, cause=cause)


def _touch(at: datetime, **target) -> Touchpoint:
    return touchpoint_record(kind="web_visit", channel="web", occurred_at=at, **target)


def _merge_contacts(**kwargs) -> CustomerMerge:
    with time_machine.travel(MERGED_AT, tick=False):
        return contact_merge(**kwargs)


def _merge_accounts(**kwargs) -> CustomerMerge:
    with time_machine.travel(MERGED_AT, tick=False):
        return account_merge(**kwargs)


def _rows_per_related_table(model: type[models.Model]) -> dict[str, int]:
    """Every row of every table that can reference `model`, whichever app it belongs to."""
    return {
        relation.related_model._meta.label: relation.related_model._base_manager.count()
        for relation in model._meta.related_objects
    }


def _rows_pointing_at(model: type[models.Model], pk: int) -> dict[str, int]:
    return {
        f"{relation.related_model._meta.label}.{relation.field.name}": (
            relation.related_model._base_manager.filter(**{relation.field.name: pk}).count()
        )
        for relation in model._meta.related_objects
        if not relation.many_to_many
    }


def _history(contact: Contact) -> list[tuple]:
    return list(
        JourneyTransition.objects.filter(contact_id=contact.pk)
        .order_by("created_at", "id")
        .values_list("from_stage", "to_stage", "cause", "created_at")
    )


# --- contact_merge: rows ------------------------------------------------------------------------


def test_it_moves_every_touchpoint_of_the_duplicate_contact():
    survivor = _contact(_at(0), name="Taro Yamada", email="taro@acme.co.jp")
    duplicate = _contact(_at(1), name="T. Yamada", email="yamada@acme.co.jp")
    kept = _touch(_at(2), contact=survivor)
    moved = [_touch(_at(3), contact=duplicate), _touch(_at(4), contact=duplicate)]

    _merge_contacts(survivor=survivor, duplicate=duplicate)

    assert set(Touchpoint.objects.filter(contact=survivor).values_list("id", flat=True)) == {
        kept.pk,
        *(touchpoint.pk for touchpoint in moved),
    }
    assert Touchpoint.objects.count() == 3


def test_it_moves_every_journey_transition_of_the_duplicate_contact():
    survivor = _contact(_at(0), name="Taro Yamada", stage="lead")
    duplicate = _contact(_at(1), name="T. Yamada", stage="awareness")
    _move(duplicate, "lead", _at(2))
    _move(survivor, "prospect", _at(3))

    _merge_contacts(survivor=survivor, duplicate=duplicate)

    assert _history(survivor) == [
        ("", "lead", "created", _at(0)),
        ("", "awareness", "created", _at(1)),
        ("awareness", "lead", "", _at(2)),
        ("lead", "prospect", "", _at(3)),
    ]
    assert JourneyTransition.objects.count() == 4


def test_it_moves_earlier_merge_audit_rows_of_the_duplicate_contact():
    survivor = _contact(_at(0), name="Taro Yamada")
    duplicate = _contact(_at(1), name="T. Yamada")
    older = _contact(_at(2), name="Yamada T.")
    earlier_merge = _merge_contacts(survivor=duplicate, duplicate=older)

    merge = _merge_contacts(survivor=survivor, duplicate=duplicate)

    assert set(CustomerMerge.objects.values_list("id", "survivor_contact_id")) == {
        (earlier_merge.pk, survivor.pk),
        (merge.pk, survivor.pk),
    }


def test_it_loses_no_row_of_any_table_referencing_contacts(actor):
    survivor = _contact(_at(0), name="Taro Yamada", email="taro@acme.co.jp", stage="lead")
    duplicate = _contact(_at(1), name="T. Yamada", email="yamada@acme.co.jp")
    older = _contact(_at(2), name="Yamada T.")
    _merge_contacts(survivor=duplicate, duplicate=older)
    _move(duplicate, "lead", _at(3))
    _move(survivor, "customer", _at(4))
    _touch(_at(5), contact=survivor)
    _touch(_at(6), contact=duplicate)
    _touch(_at(7), contact=duplicate)
    before = _rows_per_related_table(Contact)
    pointing_before = _rows_pointing_at(Contact, survivor.pk)
    duplicate_rows = _rows_pointing_at(Contact, duplicate.pk)

    _merge_contacts(survivor=survivor, duplicate=duplicate, actor=actor)

    # The one new audit row is the only difference, in every table.
    assert _rows_per_related_table(Contact) == {
        **before,
        "accounts.CustomerMerge": before["accounts.CustomerMerge"] + 1,
    }
    assert _rows_pointing_at(Contact, duplicate.pk) == dict.fromkeys(duplicate_rows, 0)
    assert _rows_pointing_at(Contact, survivor.pk) == {
        label: pointing_before[label]
        + duplicate_rows[label]
        + (1 if label == "accounts.CustomerMerge.survivor_contact" else 0)
        for label in duplicate_rows
    }


def test_it_deletes_the_duplicate_contact():
    survivor = _contact(_at(0), name="Taro Yamada")
    duplicate = _contact(_at(1), name="T. Yamada")

    _merge_contacts(survivor=survivor, duplicate=duplicate)

    assert list(Contact.objects.values_list("id", flat=True)) == [survivor.pk]


# --- contact_merge: details and journey ---------------------------------------------------------


def test_it_fills_the_survivors_blank_details_from_the_duplicate(actor):
    acme = account_create(name="Acme Corp", domain="acme.co.jp")
    survivor = _contact(_at(0), name="Taro Yamada", department="Sales")
    duplicate = _contact(
        _at(1),
        name="T. Yamada",
        email="taro@acme.co.jp",
        phone="03-1234-5678",
        title="Manager",
        department="Marketing",
        account=acme,
        owner=actor,
    )

    _merge_contacts(survivor=survivor, duplicate=duplicate)

    stored = Contact.objects.get(pk=survivor.pk)
    assert (stored.name, stored.department) == ("Taro Yamada", "Sales")
    assert (stored.email, stored.phone, stored.phone_normalized, stored.title) == (
        "taro@acme.co.jp",
        "03-1234-5678",
        "+81312345678",
        "Manager",
    )
    assert (stored.account, stored.owner) == (acme, actor)


def test_it_keeps_the_survivors_details_when_both_have_them():
    survivor = _contact(_at(0), name="Taro Yamada", email="taro@acme.co.jp", phone="03-1111-2222")
    duplicate = _contact(_at(1), name="T. Yamada", email="yamada@acme.co.jp", phone="0333334444")

    _merge_contacts(survivor=survivor, duplicate=duplicate)

    stored = Contact.objects.get(pk=survivor.pk)
    assert (stored.name, stored.email, stored.phone, stored.phone_normalized) == (
        "Taro Yamada",
        "taro@acme.co.jp",
        "03-1111-2222",
        "+81311112222",
    )


@pytest.mark.parametrize(
    ("survivor_stage", "duplicate_stage", "kept"),
    [
        ("lead", "customer", "customer"),
        ("customer", "lead", "customer"),
        ("awareness", "promoter", "promoter"),
        ("prospect", "prospect", "prospect"),
    ],
)
def test_it_keeps_the_furthest_journey_stage(survivor_stage, duplicate_stage, kept):
    survivor = _contact(_at(0), name="Taro Yamada", stage=survivor_stage)
    duplicate = _contact(_at(1), name="T. Yamada", stage=duplicate_stage)

    _merge_contacts(survivor=survivor, duplicate=duplicate)

    stored = Contact.objects.get(pk=survivor.pk)
    assert stored.stage == kept
    last = stored.journey_transitions.order_by("-created_at", "-id").first()
    assert last.to_stage == kept


def test_it_closes_the_joined_history_at_the_survivors_stage(actor):
    survivor = _contact(_at(0), name="Taro Yamada", stage="lead")
    _move(survivor, "customer", _at(1))
    duplicate = _contact(_at(2), name="T. Yamada", stage="awareness")
    _move(duplicate, "lead", _at(3))

    _merge_contacts(survivor=survivor, duplicate=duplicate, actor=actor)

    assert _history(survivor)[-1] == ("lead", "customer", f"merged with #{duplicate.pk}", MERGED_AT)
    closing = JourneyTransition.objects.filter(contact=survivor).first()
    assert closing.actor == actor
    stored = Contact.objects.get(pk=survivor.pk)
    assert (stored.stage, stored.stage_changed_at) == ("customer", MERGED_AT)
    assert JourneyTransition.objects.count() == 5


def test_it_takes_the_duplicates_stage_with_the_time_it_was_reached():
    survivor = _contact(_at(0), name="Taro Yamada", stage="lead")
    duplicate = _contact(_at(1), name="T. Yamada", stage="lead")
    _move(duplicate, "customer", _at(2))

    _merge_contacts(survivor=survivor, duplicate=duplicate)

    stored = Contact.objects.get(pk=survivor.pk)
    assert (stored.stage, stored.stage_changed_at) == ("customer", _at(2))
    assert _history(survivor)[-1] == ("lead", "customer", "", _at(2))
    assert JourneyTransition.objects.count() == 3


def test_it_writes_no_closing_row_when_the_history_already_ends_at_the_stage():
    survivor = _contact(_at(0), name="Taro Yamada", stage="lead")
    duplicate = _contact(_at(1), name="T. Yamada", stage="awareness")
    _move(survivor, "prospect", _at(2))

    _merge_contacts(survivor=survivor, duplicate=duplicate)

    stored = Contact.objects.get(pk=survivor.pk)
    assert (stored.stage, stored.stage_changed_at) == ("prospect", _at(2))
    assert JourneyTransition.objects.count() == 3


# --- contact_merge: audit row, refusals, chains -------------------------------------------------


def test_it_keeps_an_audit_row_of_the_contact_merge(actor):
    acme = account_create(name="Acme Corp", domain="acme.co.jp")
    survivor = _contact(_at(0), name="Taro Yamada", email="taro@acme.co.jp")
    duplicate = _contact(
        _at(1),
        name="T. Yamada",
        email="yamada@acme.co.jp",
        phone="03-1234-5678",
        title="Manager",
        account=acme,
        owner=actor,
        stage="lead",
    )
    _touch(_at(2), contact=duplicate)

    merge = _merge_contacts(
        survivor=survivor, duplicate=duplicate, actor=actor, reason="  same person  "
    )

    merge.refresh_from_db()
    assert (merge.kind, merge.survivor_contact, merge.survivor_account) == (
        "contact",
        survivor,
        None,
    )
    assert (merge.duplicate_id, merge.duplicate_email, merge.duplicate_phone_normalized) == (
        duplicate.pk,
        "yamada@acme.co.jp",
        "+81312345678",
    )
    assert (merge.actor, merge.reason, merge.created_at) == (actor, "same person", MERGED_AT)
    assert merge.moved == {
        "accounts.JourneyTransition.contact": 1,
        "accounts.Touchpoint.contact": 1,
    }
    assert merge.duplicate_snapshot == {
        "id": duplicate.pk,
        "created_at": "2024-04-01T10:00:00Z",
        "updated_at": "2024-04-01T10:00:00Z",
        "name": "T. Yamada",
        "email": "yamada@acme.co.jp",
        "phone": "03-1234-5678",
        "phone_normalized": "+81312345678",
        "title": "Manager",
        "department": "",
        "account_id": acme.pk,
        "owner_id": actor.pk,
        "stage": "lead",
        "stage_changed_at": "2024-04-01T10:00:00Z",
    }


def test_it_refuses_to_merge_a_contact_into_itself():
    contact = _contact(_at(0), name="Taro Yamada")
    _touch(_at(1), contact=contact)

    with pytest.raises(ApplicationError) as excinfo:
        _merge_contacts(survivor=contact, duplicate=contact)

    assert excinfo.value.errors == {"duplicate": ["A contact cannot be merged into itself."]}
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert (Touchpoint.objects.filter(contact=contact).count(), _history(contact)) == (
        1,
        [("", "awareness", "created", _at(0))],
    )
    assert CustomerMerge.objects.count() == 0


def test_it_refuses_to_merge_a_contact_that_was_merged_already():
    survivor = _contact(_at(0), name="Taro Yamada")
    duplicate = _contact(_at(1), name="T. Yamada")
    other = _contact(_at(2), name="Taro Y.")
    _merge_contacts(survivor=survivor, duplicate=duplicate)

    with pytest.raises(ConflictError):
        _merge_contacts(survivor=other, duplicate=duplicate)

    assert CustomerMerge.objects.count() == 1
    assert _history(other) == [("", "awareness", "created", _at(2))]


def test_it_resolves_the_first_duplicate_of_a_merge_chain_to_the_last_survivor():
    first = _contact(_at(0), name="Taro Yamada", email="taro@acme.co.jp")
    middle = _contact(_at(1), name="T. Yamada", email="yamada@acme.co.jp")
    last = _contact(_at(2), name="Yamada Taro", email="t.yamada@acme.co.jp")
    _merge_contacts(survivor=middle, duplicate=first)
    _merge_contacts(survivor=last, duplicate=middle)

    resolved = contact_resolve(email="taro@acme.co.jp")

    assert (resolved.contact.pk, resolved.created, resolved.matched_on) == (
        last.pk,
        False,
        "merged_email",
    )
    assert list(Contact.objects.values_list("id", flat=True)) == [last.pk]
    assert set(CustomerMerge.objects.values_list("survivor_contact_id", flat=True)) == {last.pk}


# --- account_merge ------------------------------------------------------------------------------


def _account(name: str, domain: str, **fields) -> Account:
    with time_machine.travel(T0, tick=False):
        return account_create(name=name, domain=domain, **fields)


def test_it_moves_every_contact_and_touchpoint_of_the_duplicate_account():
    survivor = _account("Acme Corp", "acme.co.jp")
    duplicate = _account("ACME Corporation", "acme.com")
    kept = _contact(_at(0), name="Taro Yamada", account=survivor)
    moved = _contact(_at(1), name="Hanako Sato", account=duplicate)
    contact_touch = _touch(_at(2), contact=moved)
    account_touch = _touch(_at(3), account=duplicate)

    _merge_accounts(survivor=survivor, duplicate=duplicate)

    assert set(survivor.contacts.values_list("id", flat=True)) == {kept.pk, moved.pk}
    assert set(Touchpoint.objects.filter(account=survivor).values_list("id", flat=True)) == {
        contact_touch.pk,
        account_touch.pk,
    }
    assert list(Account.objects.values_list("id", flat=True)) == [survivor.pk]


def test_it_loses_no_row_of_any_table_referencing_accounts(actor):
    survivor = _account("Acme Corp", "acme.co.jp")
    duplicate = _account("ACME Corporation", "acme.com")
    older = _account("Acme KK", "acme.jp")
    _merge_accounts(survivor=duplicate, duplicate=older)
    _contact(_at(0), name="Taro Yamada", account=survivor)
    hanako = _contact(_at(1), name="Hanako Sato", account=duplicate)
    _contact(_at(2), name="Jiro Suzuki", account=duplicate)
    _touch(_at(3), contact=hanako)
    _touch(_at(4), account=duplicate)
    before = _rows_per_related_table(Account)
    contacts_before = _rows_per_related_table(Contact)
    pointing_before = _rows_pointing_at(Account, survivor.pk)
    duplicate_rows = _rows_pointing_at(Account, duplicate.pk)

    merge = _merge_accounts(survivor=survivor, duplicate=duplicate, actor=actor)

    assert _rows_per_related_table(Account) == {
        **before,
        "accounts.CustomerMerge": before["accounts.CustomerMerge"] + 1,
    }
    assert _rows_per_related_table(Contact) == {
        **contacts_before,
        "accounts.CustomerMerge": contacts_before["accounts.CustomerMerge"] + 1,
    }
    assert _rows_pointing_at(Account, duplicate.pk) == dict.fromkeys(duplicate_rows, 0)
    assert _rows_pointing_at(Account, survivor.pk) == {
        label: pointing_before[label]
        + duplicate_rows[label]
        + (1 if label == "accounts.CustomerMerge.survivor_account" else 0)
        for label in duplicate_rows
    }
    assert merge.moved == {
        "accounts.Contact.account": 2,
        "accounts.Touchpoint.account": 2,
        "accounts.CustomerMerge.survivor_account": 1,
    }


def test_it_fills_the_survivor_accounts_blank_details(actor):
    survivor = _account("Acme Corp", "", region="Kanto")
    duplicate = _account(
        "ACME Corporation",
        "acme.co.jp",
        industry="Machinery",
        size="50-249",
        region="Kansai",
        owner=actor,
    )

    _merge_accounts(survivor=survivor, duplicate=duplicate)

    stored = Account.objects.get(pk=survivor.pk)
    assert (stored.name, stored.domain, stored.industry, stored.size, stored.region) == (
        "Acme Corp",
        "acme.co.jp",
        "Machinery",
        "50-249",
        "Kanto",
    )
    assert stored.owner == actor


def test_it_keeps_an_audit_row_of_the_account_merge(actor):
    survivor = _account("Acme Corp", "acme.co.jp")
    duplicate = _account("ACME Corporation", "acme.com", industry="Machinery", region="Kanto")
    _contact(_at(1), name="Hanako Sato", account=duplicate)

    merge = _merge_accounts(
        survivor=survivor, duplicate=duplicate, actor=actor, reason="same company"
    )

    merge.refresh_from_db()
    assert (merge.kind, merge.survivor_account, merge.survivor_contact) == (
        "account",
        survivor,
        None,
    )
    assert (merge.duplicate_id, merge.duplicate_email, merge.duplicate_phone_normalized) == (
        duplicate.pk,
        "",
        "",
    )
    assert (merge.actor, merge.reason, merge.created_at) == (actor, "same company", MERGED_AT)
    assert merge.moved == {"accounts.Contact.account": 1}
    assert merge.duplicate_snapshot == {
        "id": duplicate.pk,
        "created_at": "2024-04-01T09:00:00Z",
        "updated_at": "2024-04-01T09:00:00Z",
        "name": "ACME Corporation",
        "domain": "acme.com",
        "industry": "Machinery",
        "size": "",
        "region": "Kanto",
        "owner_id": None,
        "customer_since": None,
    }


def test_it_keeps_the_earlier_customer_since_of_the_two_accounts():
    survivor = _account("Acme Corp", "acme.co.jp")
    duplicate = _account("ACME Corporation", "acme.com")
    account_become_customer(account=survivor, at=_at(48))
    account_become_customer(account=duplicate, at=_at(24))

    _merge_accounts(survivor=survivor, duplicate=duplicate)

    assert Account.objects.get(pk=survivor.pk).customer_since == _at(24)


def test_it_makes_the_survivor_a_customer_when_only_the_duplicate_was():
    survivor = _account("Acme Corp", "acme.co.jp")
    duplicate = _account("ACME Corporation", "acme.com")
    account_become_customer(account=duplicate, at=_at(24))

    _merge_accounts(survivor=survivor, duplicate=duplicate)

    assert Account.objects.get(pk=survivor.pk).customer_since == _at(24)


def test_it_refuses_to_merge_an_account_into_itself():
    account = _account("Acme Corp", "acme.co.jp")
    contact = _contact(_at(0), name="Taro Yamada", account=account)

    with pytest.raises(ApplicationError) as excinfo:
        _merge_accounts(survivor=account, duplicate=account)

    assert excinfo.value.errors == {"duplicate": ["An account cannot be merged into itself."]}
    assert Contact.objects.get(pk=contact.pk).account == account
    assert CustomerMerge.objects.count() == 0


def test_it_moves_account_merge_rows_along_a_merge_chain():
    first = _account("Acme KK", "acme.jp")
    middle = _account("ACME Corporation", "acme.com")
    last = _account("Acme Corp", "acme.co.jp")
    contact = _contact(_at(0), name="Taro Yamada", account=first)
    _merge_accounts(survivor=middle, duplicate=first)

    _merge_accounts(survivor=last, duplicate=middle)

    assert list(Account.objects.values_list("id", flat=True)) == [last.pk]
    assert Contact.objects.get(pk=contact.pk).account == last
    assert set(CustomerMerge.objects.values_list("survivor_account_id", flat=True)) == {last.pk}
