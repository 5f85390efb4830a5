"""accounts.bulk: identity resolution, journey moves and timeline writes for many at once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from accounts import bulk
from accounts.identity import normalize_email
from accounts.models import (
    Account,
    Contact,
    CustomerMerge,
    JourneyStage,
    JourneyTransition,
    Touchpoint,
)
from frontoffice.errors import ApplicationError, ConflictError
from tests.factories import ContactFactory

TOKYO = ZoneInfo("Asia/Tokyo")
AT = datetime(2025, 10, 21, 10, 0, tzinfo=TOKYO)


def _outcome(function, value):
    try:
        return function(value)
    except ApplicationError as exc:
        return exc.errors


@pytest.mark.parametrize(
    "value",
    [
        "",
        " Hanako@Kaisha.co.jp ",
        "a@b",
        "a@localhost",
        "no-at-sign",
        "a b@kaisha.co.jp",
        "x@[127.0.0.1]",
        "a@-kaisha.co.jp",
        '"quoted"@kaisha.co.jp',
        "a@" + "x" * 320 + ".com",
        "ä@kaisha.co.jp",
        "taro@例え.jp",
        "a@@kaisha.co.jp",
    ],
)
def test_it_accepts_and_refuses_addresses_exactly_as_normalize_email(value):
    assert _outcome(bulk._normalized_email, value) == _outcome(normalize_email, value)


def test_it_reports_every_field_at_fault_in_a_person_record():
    with pytest.raises(ApplicationError) as raised:
        bulk.person_record(email="bad", phone="12", name="x" * 201, domain="not a domain")

    assert raised.value.errors == {
        "name": ["At most 200 characters (it has 201)."],
        "email": ["Enter a valid email address."],
        "phone": ["Not a phone number (fewer than 5 digits)."],
        "domain": ["Enter a valid domain name."],
    }


def test_it_takes_no_organisation_from_a_free_mail_or_synthetic_address():
    assert bulk.person_record(email="a@gmail.com", domain="https://www.gmail.com").domain == ""
    assert bulk.person_record(email="x@olist-mql.invalid", domain_from_email=False).domain == ""
    assert bulk.person_record(email="a@Kaisha.co.jp").domain == "kaisha.co.jp"


@pytest.mark.django_db
def test_it_resolves_records_in_order_as_one_contact_resolve_after_another():
    records = [
        bulk.person_record(phone="03-1234-5678", name="Hanako"),
        bulk.person_record(email="hanako@kaisha.co.jp", phone="+81 3 1234 5678"),
        bulk.person_record(email="HANAKO@kaisha.co.jp", title="CTO"),
    ]

    resolution = bulk.contacts_resolve_bulk(records=records, stage=JourneyStage.LEAD)

    contact = Contact.objects.get()
    assert resolution.matched_on == ["created", "same_as_earlier", "same_as_earlier"]
    assert [c.pk for c in resolution.contacts] == [contact.pk] * 3
    # Blanks filled from the later records, the account from the address they brought.
    assert (contact.name, contact.email, contact.title, contact.account.domain) == (
        "Hanako",
        "hanako@kaisha.co.jp",
        "CTO",
        "kaisha.co.jp",
    )
    assert resolution.merged_records == 2


@pytest.mark.django_db
def test_it_finds_a_merged_contact_by_its_old_phone():
    survivor = ContactFactory(email="new@kaisha.co.jp")
    CustomerMerge.objects.create(
        kind="contact",
        survivor_contact=survivor,
        duplicate_id=999,
        duplicate_phone_normalized="+81312345678",
    )

    resolution = bulk.contacts_resolve_bulk(records=[bulk.person_record(phone="03-1234-5678")])

    assert (resolution.contacts[0].pk, resolution.matched_on) == (survivor.pk, ["merged_phone"])
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_it_writes_nothing_when_resolving_as_a_dry_run():
    resolution = bulk.contacts_resolve_bulk(
        records=[bulk.person_record(email="a@kaisha.co.jp")], dry_run=True
    )

    assert (len(resolution.new_contacts), len(resolution.new_accounts)) == (1, 1)
    assert (Contact.objects.count(), Account.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_it_refuses_a_move_when_the_stage_changed_meanwhile_and_keeps_nothing():
    contact = ContactFactory(stage=JourneyStage.AWARENESS)
    [seen] = bulk.contacts_resolve_bulk(records=[bulk.person_record(email=contact.email)]).contacts
    Contact.objects.filter(pk=contact.pk).update(stage=JourneyStage.PROSPECT)

    with pytest.raises(ConflictError), transaction.atomic():
        bulk.journey_advance_bulk(moves=[(seen, AT)], to_stage=JourneyStage.LEAD)

    assert Contact.objects.get().stage == JourneyStage.PROSPECT
    assert JourneyTransition.objects.filter(to_stage=JourneyStage.LEAD).count() == 0


@pytest.mark.django_db
def test_it_dates_a_move_no_earlier_than_the_stage_it_leaves():
    contact = ContactFactory(stage=JourneyStage.AWARENESS)
    [seen] = bulk.contacts_resolve_bulk(records=[bulk.person_record(email=contact.email)]).contacts

    moved = bulk.journey_advance_bulk(
        moves=[(seen, AT), (seen, AT)], to_stage=JourneyStage.LEAD, cause="fair"
    )

    transition = JourneyTransition.objects.get(to_stage=JourneyStage.LEAD)
    assert (moved, transition.from_stage, transition.cause) == (1, "awareness", "fair")
    assert transition.created_at == contact.stage_changed_at


@pytest.mark.django_db
def test_it_refuses_unknown_touchpoint_kinds_and_channels():
    contact = ContactFactory()
    [seen] = bulk.contacts_resolve_bulk(records=[bulk.person_record(email=contact.email)]).contacts
    entry = bulk.TimelineEntry(contact=seen, kind="fax", channel="pigeon", occurred_at=AT)

    with pytest.raises(ApplicationError) as raised:
        bulk.touchpoints_record_bulk(entries=[entry])

    assert raised.value.errors == {
        "kind": ["Unknown kind: fax."],
        "channel": ["Unknown channel: pigeon."],
    }
    assert Touchpoint.objects.count() == 0


@pytest.mark.django_db
def test_it_looks_up_values_with_quotes_commas_braces_and_backslashes():
    account = Account.objects.create(name="Kaisha", domain="kaisha.co.jp")
    odd_name = 'Back\\slash "Q", {x}'
    by_email = ContactFactory(email='"a,{b}"@kaisha.co.jp')
    by_name = ContactFactory(email="", name=odd_name, account=account)

    resolution = bulk.contacts_resolve_bulk(
        records=[
            bulk.person_record(email='"a,{b}"@kaisha.co.jp'),
            bulk.person_record(phone="03-1234-5678", name=odd_name, domain="kaisha.co.jp"),
        ]
    )

    assert [c.pk for c in resolution.contacts] == [by_email.pk, by_name.pk]
    assert resolution.matched_on == ["email", "name"]
