"""Races on PostgreSQL at fifty: fifty threads, each with its own connection, released together
(``tests.concurrency.all_at_once``) on committed data.

Where only one can win, exactly one does and the others get a ConflictError (409); every history
chain stays consistent with the current value (each row starts where the previous one ended and
the last one ends at the current value); no customer is created twice; no edit is lost.
SQLite serialises writers, so there is no race to show there.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import (
    Account,
    Contact,
    CustomerMerge,
    JourneyTransition,
    Touchpoint,
)
from accounts.services import (
    account_become_customer,
    account_merge,
    account_resolve,
    account_update,
    contact_merge,
    contact_update,
    journey_move,
    touchpoint_record,
)
from frontoffice.errors import ConflictError
from inquiries import channels, services
from inquiries.models import Inquiry, InquiryAssignment
from pipeline.capture import lead_capture
from pipeline.deals import deal_create, deal_move, deal_update
from pipeline.models import Campaign, Deal, DealStageChange, LeadForm, Quote, QuoteNumberSequence
from pipeline.quotes import quote_create
from tests.concurrency import POSTGRES_ONLY, all_at_once
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    ProductFactory,
    TeamFactory,
    user_with_role,
)

pytestmark = [
    pytest.mark.postgres,
    POSTGRES_ONLY,
    pytest.mark.django_db(transaction=True),
]

THREADS = 50
TOKYO = ZoneInfo("Asia/Tokyo")


def _at_once(act, *, prepare=None, threads: int = THREADS) -> list:
    return all_at_once(act, prepare=prepare, threads=threads, timeout=180)


def _split(outcomes: list, won_type: type) -> tuple[list, list]:
    won = [outcome for outcome in outcomes if isinstance(outcome, won_type)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, ConflictError)]
    return won, refused


def _assert_chain(rows: list[tuple], current) -> None:
    """History rows (from, to) in id order: each starts where the previous one ended, and the
    last ends at the current value."""
    for (_from, previous_to), (from_value, _to) in itertools.pairwise(rows):
        assert from_value == previous_to, rows
    assert rows[-1][1] == current, (rows, current)


def _deal_history(deal: Deal) -> list[tuple[str, str]]:
    return list(
        DealStageChange.objects.filter(deal=deal)
        .order_by("id")
        .values_list("from_stage", "to_stage")
    )


# --- Deals --------------------------------------------------------------------------------------


@pytest.fixture
def deal(role_groups):
    owner = user_with_role(roles.SALES_REP, username="owner")
    contact = ContactFactory(account=AccountFactory(name="Acme"), stage="prospect")
    return deal_create(
        name="Acme renewal",
        owner=owner,
        contact=contact,
        amount=Decimal("1500000"),
        stage="quote",
        actor=owner,
    )


def test_it_moves_a_deal_once_when_fifty_people_win_it_from_the_same_read(deal):
    outcomes = _at_once(
        lambda _i, mine: deal_move(deal=mine, to_stage="won"),
        prepare=lambda _i: Deal.objects.get(pk=deal.pk),
    )

    won, refused = _split(outcomes, DealStageChange)
    assert (len(won), len(refused)) == (1, THREADS - 1)
    assert _deal_history(deal) == [("", "quote"), ("quote", "won")]
    final = Deal.objects.get(pk=deal.pk)
    assert (final.stage, final.stage_changed_at) == ("won", won[0].created_at)
    assert Touchpoint.objects.filter(source_id=deal.pk, kind="order").count() == 1
    assert list(
        JourneyTransition.objects.filter(contact=deal.contact)
        .order_by("id")
        .values_list("from_stage", "to_stage")
    ) == [("", "prospect"), ("prospect", "customer")]


def test_it_lets_one_of_fifty_moves_to_different_stages_through(deal):
    targets = ["won", "lost", "list", "proposal", "opportunity"]

    outcomes = _at_once(
        lambda i, mine: deal_move(deal=mine, to_stage=targets[i % 5], note=f"person {i}"),
        prepare=lambda _i: Deal.objects.get(pk=deal.pk),
    )

    won, refused = _split(outcomes, DealStageChange)
    assert (len(won), len(refused)) == (1, THREADS - 1)
    final = Deal.objects.get(pk=deal.pk)
    assert _deal_history(deal) == [("", "quote"), ("quote", final.stage)]
    assert won[0].note == f"person {outcomes.index(won[0])}"
    assert Touchpoint.objects.filter(source_id=deal.pk, kind="deal_update").count() == 2


def test_fifty_people_moving_a_deal_back_and_forth_leave_one_unbroken_chain(deal):
    rounds = 3
    successes = Counter()

    def act(i: int, _none) -> None:
        for _round in range(rounds):
            mine = Deal.objects.get(pk=deal.pk)
            to_stage = "opportunity" if mine.stage == "quote" else "quote"
            try:
                deal_move(deal=mine, to_stage=to_stage, note=f"person {i}")
                successes[i] += 1
            except ConflictError:
                pass

    _at_once(act)

    history = _deal_history(deal)
    final = Deal.objects.get(pk=deal.pk)
    assert len(history) == 1 + sum(successes.values())
    _assert_chain(history, final.stage)
    by_time = list(
        DealStageChange.objects.filter(deal=deal)
        .order_by("created_at", "id")
        .values_list("from_stage", "to_stage")
    )
    assert by_time == history
    assert (
        final.stage_changed_at == DealStageChange.objects.filter(deal=deal).latest("id").created_at
    )
    # One timeline entry per move that went through, plus the opening.
    assert Touchpoint.objects.filter(source_id=deal.pk, kind="deal_update").count() == len(history)


def test_fifty_edits_of_different_fields_of_a_deal_all_persist_beside_a_move(deal):
    """Every thread edits one field from the same stale read; one more moves the deal. None of
    the edits and not the move may be lost to another thread writing its stale copy back."""
    # Not the probability: a move sets the new stage's default, so the later of the two wins.
    edits = {
        "name": lambda i: f"Renewal {i}",
        "amount": lambda i: Decimal(1_000_000 + i),
        "expected_close_on": lambda i: dt.date(2026, 12, 1) + dt.timedelta(days=i),
        "currency": lambda i: "USD",
    }
    fields = list(edits)

    def act(i: int, mine: Deal):
        if i == 0:
            return deal_move(deal=mine, to_stage="opportunity", note="back a step")
        field = fields[i % len(fields)]
        return deal_update(deal=mine, **{field: edits[field](i)})

    outcomes = _at_once(act, prepare=lambda _i: Deal.objects.get(pk=deal.pk))

    assert not [o for o in outcomes if isinstance(o, ConflictError)]
    final = Deal.objects.get(pk=deal.pk)
    for field in fields:
        written = {edits[field](i) for i in range(1, THREADS) if fields[i % len(fields)] == field}
        assert getattr(final, field) in written, field
    assert final.stage == "opportunity"
    assert _deal_history(deal) == [("", "quote"), ("quote", "opportunity")]


def test_fifty_patches_of_a_deal_over_the_api_all_persist(deal):
    values = {
        "name": lambda i: f"Renewal {i}",
        "amount": lambda i: f"{1_000_000 + i}.00",
        "probability": lambda i: i,
        "expected_close_on": lambda i: (dt.date(2026, 12, 1) + dt.timedelta(days=i)).isoformat(),
    }
    fields = list(values)

    def client(_i: int) -> APIClient:
        api = APIClient()
        api.force_authenticate(deal.owner)
        return api

    responses = _at_once(
        lambda i, api: api.patch(
            f"/api/v1/deals/{deal.pk}/",
            {fields[i % 4]: values[fields[i % 4]](i)},
            format="json",
        ),
        prepare=client,
    )

    assert [r.status_code for r in responses] == [200] * THREADS
    final = Deal.objects.get(pk=deal.pk)
    read_back = {
        "name": final.name,
        "amount": f"{final.amount:.2f}",
        "probability": final.probability,
        "expected_close_on": final.expected_close_on.isoformat(),
    }
    for field in fields:
        assert read_back[field] in {
            values[field](i) for i in range(THREADS) if i % 4 == fields.index(field)
        }
    assert final.stage == "quote"


# --- Inquiries ----------------------------------------------------------------------------------


@pytest.fixture
def support(role_groups):
    team = TeamFactory(name="Support", kind="support")
    agents = [user_with_role(roles.SUPPORT_AGENT, username=f"agent{n}") for n in range(THREADS)]
    team.members.add(*agents)
    inquiry = services.inquiry_open(
        channel="chat",
        subject="Help",
        body="Please",
        customer=services.Customer(contact=ContactFactory()),
        team=team,
    )
    return team, agents, inquiry


def _assignments(inquiry: Inquiry) -> list[tuple[int | None, int | None]]:
    return list(
        InquiryAssignment.objects.filter(inquiry=inquiry)
        .order_by("id")
        .values_list("from_assignee_id", "to_assignee_id")
    )


def test_it_assigns_an_inquiry_to_one_of_fifty_agents_taking_it(support):
    _team, agents, inquiry = support

    outcomes = _at_once(
        lambda n, mine: services.inquiry_assign(
            inquiry=mine, assignee=agents[n], actor=agents[n], expected_assignee=None
        ),
        prepare=lambda _n: Inquiry.objects.get(pk=inquiry.pk),
    )

    won, refused = _split(outcomes, InquiryAssignment)
    assert (len(won), len(refused)) == (1, THREADS - 1)
    assignee = Inquiry.objects.get(pk=inquiry.pk).assignee_id
    assert _assignments(inquiry) == [(None, assignee)]
    assert won[0].to_assignee_id == assignee == agents[outcomes.index(won[0])].pk


def test_fifty_agents_passing_an_inquiry_around_leave_one_unbroken_chain(support):
    _team, agents, inquiry = support
    rounds = 3
    successes = Counter()

    def act(n: int, _none) -> None:
        for _round in range(rounds):
            mine = Inquiry.objects.get(pk=inquiry.pk)
            if mine.assignee_id == agents[n].pk:
                continue
            try:
                services.inquiry_assign(inquiry=mine, assignee=agents[n], actor=agents[n])
                successes[n] += 1
            except ConflictError:
                pass

    _at_once(act)

    rows = _assignments(inquiry)
    assert len(rows) == sum(successes.values())
    assert rows[0][0] is None
    _assert_chain(rows, Inquiry.objects.get(pk=inquiry.pk).assignee_id)


def test_fifty_edits_of_an_inquiry_lose_neither_each_other_nor_the_assignee(support):
    _team, agents, inquiry = support
    edits = {
        "subject": lambda n: f"Subject {n}",
        "category": lambda n: f"category-{n}",
        "priority": lambda n: ["low", "high", "urgent"][n % 3],
    }
    fields = list(edits)

    def act(n: int, mine: Inquiry):
        if n == 0:
            return channels.inquiry_take(inquiry=mine, actor=agents[0])
        field = fields[n % 3]
        return services.inquiry_update(inquiry=mine, **{field: edits[field](n)})

    outcomes = _at_once(act, prepare=lambda _n: Inquiry.objects.get(pk=inquiry.pk))

    assert not [o for o in outcomes if isinstance(o, ConflictError)]
    final = Inquiry.objects.get(pk=inquiry.pk)
    assert final.assignee_id == agents[0].pk
    assert _assignments(inquiry) == [(None, agents[0].pk)]
    for field in fields:
        written = {edits[field](n) for n in range(1, THREADS) if fields[n % 3] == field}
        assert getattr(final, field) in written, field


# --- Quote numbers ------------------------------------------------------------------------------


def test_fifty_quotes_created_at_once_get_gap_free_unique_numbers(role_groups):
    at = dt.datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
    deals = [
        Deal.objects.get(pk=pk)
        for pk in [
            deal_create(
                name=f"Deal {n}",
                owner=user_with_role(roles.SALES_REP, username=f"rep{n}"),
                account=AccountFactory(),
                stage="opportunity",
                at=at,
            ).pk
            for n in range(5)
        ]
    ]
    licence = ProductFactory(code="ERP-1", unit_price=Decimal("1000"))
    # One number from before: the sequence continues from it.
    quote_create(deal=deals[0], lines=[{"product": licence, "quantity": Decimal(1)}], at=at)

    created = _at_once(
        lambda n, _none: quote_create(
            deal=Deal.objects.get(pk=deals[n % 5].pk),
            lines=[{"product": licence, "quantity": Decimal(n + 1)}],
            at=at,
        )
    )

    assert sorted(quote.number for quote in created) == [
        f"Q-2026-{n:05d}" for n in range(2, THREADS + 2)
    ]
    assert sorted(Quote.objects.values_list("sequence", flat=True)) == list(range(1, THREADS + 2))
    assert list(QuoteNumberSequence.objects.values_list("year", "last_number")) == [
        (2026, THREADS + 1)
    ]


# --- Lead capture -------------------------------------------------------------------------------


@pytest.fixture
def lead_form(transactional_db):
    campaign = CampaignFactory(name="Japan IT Week 2026", kind=Campaign.Kind.EXHIBITION)
    return LeadForm.objects.create(name="Booth sign-up", campaign=campaign)


def test_fifty_web_forms_of_one_new_person_make_one_contact(lead_form):
    spellings = [
        "Hanako.Sato@Concurrent.co.jp",
        " hanako.sato@concurrent.co.jp ",
        "HANAKO.SATO@CONCURRENT.CO.JP",
    ]

    def client(n: int) -> APIClient:
        # Each from its own address: the capture endpoint throttles per address.
        return APIClient(REMOTE_ADDR=f"10.0.{n // 200}.{n % 200 + 1}")

    responses = _at_once(
        lambda n, api: api.post(
            "/api/v1/leads/capture/",
            {
                "form_key": lead_form.key,
                "email": spellings[n % 3],
                "name": "Hanako Sato",
                "company": "Concurrent KK",
                "message": f"visit {n}",
            },
            format="json",
        ),
        prepare=client,
    )

    assert [r.status_code for r in responses] == [201] * THREADS, [r.json() for r in responses]
    contact = Contact.objects.get()
    assert (contact.email, contact.stage) == ("hanako.sato@concurrent.co.jp", "lead")
    assert list(Account.objects.values_list("name", "domain")) == [
        ("Concurrent KK", "concurrent.co.jp")
    ]
    assert contact.account == Account.objects.get()
    assert list(JourneyTransition.objects.values_list("contact_id", "from_stage", "to_stage")) == [
        (contact.pk, "", "lead")
    ]
    forms = Touchpoint.objects.filter(kind="form", contact=contact, campaign=lead_form.campaign)
    assert sorted(forms.values_list("summary", flat=True)) == sorted(
        f"Booth sign-up: visit {n}" for n in range(THREADS)
    )
    references = {r.json()["reference"] for r in responses}
    assert references == {f"T{pk}" for pk in forms.values_list("pk", flat=True)}


def test_fifty_captures_of_a_known_awareness_contact_move_the_journey_once(lead_form):
    known = ContactFactory(email="taro@acme.co.jp", stage="awareness")

    outcomes = _at_once(
        lambda n, _none: lead_capture(lead_form=lead_form, email="Taro@Acme.co.jp", title="CTO")
    )

    assert {captured.contact.pk for captured in outcomes} == {known.pk}
    assert not any(captured.contact_created for captured in outcomes)
    assert Contact.objects.count() == 1
    contact = Contact.objects.get()
    assert (contact.stage, contact.title) == ("lead", "CTO")
    rows = list(
        JourneyTransition.objects.filter(contact=known)
        .order_by("id")
        .values_list("from_stage", "to_stage")
    )
    assert rows == [("", "awareness"), ("awareness", "lead")]
    assert Touchpoint.objects.filter(kind="form", contact=known).count() == THREADS


# --- Contacts: edits and merges -----------------------------------------------------------------


def test_fifty_threads_resolving_the_same_new_organisations_get_one_account_each(
    transactional_db,
):
    """Each thread resolves the same twenty new organisations in turn, so the threads race on
    every one, at every step of find-or-create: none may get an error, all get the one row."""
    domains = [f"company{n}.co.jp" for n in range(20)]

    outcomes = _at_once(
        lambda _i, _none: [
            account_resolve(name=f"Company {n}", domain=domain).pk
            for n, domain in enumerate(domains)
        ]
    )

    by_domain = dict(Account.objects.values_list("domain", "pk"))
    assert sorted(by_domain) == sorted(domains)
    assert all(pks == [by_domain[domain] for domain in domains] for pks in outcomes)


def test_fifty_edits_of_different_fields_of_a_contact_all_persist_beside_a_journey_move(
    role_groups,
):
    owner = user_with_role(roles.SALES_REP, username="owner")
    contact = ContactFactory(email="taro@acme.co.jp", name="Taro", stage="lead")
    edits = {
        "name": lambda n: f"Taro {n}",
        "title": lambda n: f"Title {n}",
        "department": lambda n: f"Department {n}",
        "phone": lambda n: f"03-1234-{n:04d}",
        "owner": lambda n: owner,
    }
    fields = list(edits)

    def act(n: int, mine: Contact):
        if n == 0:
            return journey_move(contact=mine, to_stage="prospect", cause="replied")
        field = fields[n % 5]
        return contact_update(contact=mine, **{field: edits[field](n)})

    outcomes = _at_once(act, prepare=lambda _n: Contact.objects.get(pk=contact.pk))

    assert not [o for o in outcomes if isinstance(o, ConflictError)]
    final = Contact.objects.get(pk=contact.pk)
    for field in fields:
        written = {edits[field](n) for n in range(1, THREADS) if fields[n % 5] == field}
        assert getattr(final, field) in written, field
    assert final.phone_normalized == "+81" + final.phone.replace("-", "")[1:]
    assert final.stage == "prospect"
    rows = list(
        JourneyTransition.objects.filter(contact=contact)
        .order_by("id")
        .values_list("from_stage", "to_stage")
    )
    assert rows == [("", "lead"), ("lead", "prospect")]


def test_fifty_patches_of_a_contact_over_the_api_all_persist(role_groups):
    admin = user_with_role(roles.ADMIN, username="admin")
    contact = ContactFactory(email="taro@acme.co.jp", name="Taro", stage="lead")
    fields = ["name", "title", "department", "phone"]
    value = {
        "name": lambda n: f"Taro {n}",
        "title": lambda n: f"Title {n}",
        "department": lambda n: f"Department {n}",
        "phone": lambda n: f"03-1234-{n:04d}",
    }

    def client(_n: int) -> APIClient:
        api = APIClient()
        api.force_authenticate(admin)
        return api

    responses = _at_once(
        lambda n, api: api.patch(
            f"/api/v1/contacts/{contact.pk}/", {fields[n % 4]: value[fields[n % 4]](n)}
        ),
        prepare=client,
    )

    assert [r.status_code for r in responses] == [200] * THREADS
    final = Contact.objects.get(pk=contact.pk)
    for index, field in enumerate(fields):
        written = {value[field](n) for n in range(THREADS) if n % 4 == index}
        assert getattr(final, field) in written, field


def test_fifty_edits_of_an_account_keep_its_first_order_date(role_groups):
    account = AccountFactory(name="Acme", domain="acme.co.jp")
    ordered_at = dt.datetime(2026, 6, 1, 10, 0, tzinfo=TOKYO)
    edits = {
        "name": lambda n: f"Acme {n}",
        "industry": lambda n: f"Industry {n}",
        "region": lambda n: f"Region {n}",
    }
    fields = list(edits)

    def act(n: int, mine: Account):
        if n == 0:
            return account_become_customer(account=mine, at=ordered_at)
        field = fields[n % 3]
        return account_update(account=mine, **{field: edits[field](n)})

    _at_once(act, prepare=lambda _n: Account.objects.get(pk=account.pk))

    final = Account.objects.get(pk=account.pk)
    assert final.customer_since == ordered_at
    for field in fields:
        written = {edits[field](n) for n in range(1, THREADS) if fields[n % 3] == field}
        assert getattr(final, field) in written, field


def _people(count: int) -> list[Contact]:
    """The same person captured `count` times: each copy with its own timeline and deal."""
    owner = user_with_role(roles.SALES_REP, username="owner")
    people = []
    for n in range(count):
        contact = ContactFactory(email=f"copy{n}@acme.co.jp", name="Taro Yamada", stage="lead")
        for visit in range(3):
            touchpoint_record(
                kind="web_visit", channel="web", contact=contact, summary=f"{n}/{visit}"
            )
        deal_create(name=f"Deal of copy {n}", owner=owner, contact=contact, stage="list")
        people.append(contact)
    return people


def test_fifty_overlapping_merges_lose_no_row_and_merge_no_contact_twice(role_groups):
    people = _people(6)
    pairs = list(itertools.permutations(range(6), 2))  # 30 ordered pairs, then 20 repeats
    pairs = (pairs + pairs)[:THREADS]
    touchpoints = Touchpoint.objects.count()
    deals = set(Deal.objects.values_list("pk", flat=True))

    outcomes = _at_once(
        lambda n, _none: contact_merge(
            survivor=Contact(pk=people[pairs[n][0]].pk),
            duplicate=Contact(pk=people[pairs[n][1]].pk),
            reason=f"merge {n}",
        )
    )

    merged, refused = _split(outcomes, CustomerMerge)
    assert len(merged) + len(refused) == THREADS
    remaining = set(Contact.objects.values_list("pk", flat=True))
    duplicates = list(CustomerMerge.objects.values_list("duplicate_id", flat=True))
    assert len(duplicates) == len(set(duplicates)) == len(merged)  # nobody merged twice
    assert len(remaining) == 6 - len(merged) >= 1
    assert remaining | set(duplicates) == {person.pk for person in people}
    # Nothing lost: every touchpoint and deal is on a contact still there.
    assert Touchpoint.objects.count() == touchpoints
    assert set(Touchpoint.objects.values_list("contact_id", flat=True)) <= remaining
    assert set(Deal.objects.values_list("pk", flat=True)) == deals
    assert set(Deal.objects.values_list("contact_id", flat=True)) <= remaining
    # The survivors' audit rows point at contacts still there; every copy's email resolves.
    assert set(CustomerMerge.objects.values_list("survivor_contact_id", flat=True)) <= remaining
    for contact in Contact.objects.all():
        last = JourneyTransition.objects.filter(contact=contact).latest("created_at", "id")
        assert last.to_stage == contact.stage


def test_fifty_overlapping_account_merges_keep_every_contact(role_groups):
    accounts = [AccountFactory(name=f"Acme {n}", domain=f"acme{n}.co.jp") for n in range(5)]
    for n, account in enumerate(accounts):
        for person in range(2):
            ContactFactory(account=account, email=f"p{person}@acme{n}.co.jp")
    pairs = list(itertools.permutations(range(5), 2))
    pairs = (pairs * 3)[:THREADS]
    contacts = set(Contact.objects.values_list("pk", flat=True))

    outcomes = _at_once(
        lambda n, _none: account_merge(
            survivor=Account(pk=accounts[pairs[n][0]].pk),
            duplicate=Account(pk=accounts[pairs[n][1]].pk),
        )
    )

    merged, refused = _split(outcomes, CustomerMerge)
    assert len(merged) + len(refused) == THREADS
    remaining = set(Account.objects.values_list("pk", flat=True))
    duplicates = list(CustomerMerge.objects.values_list("duplicate_id", flat=True))
    assert len(duplicates) == len(set(duplicates)) == len(merged)
    assert len(remaining) == 5 - len(merged) >= 1
    assert set(Contact.objects.values_list("pk", flat=True)) == contacts
    assert set(Contact.objects.values_list("account_id", flat=True)) <= remaining
    domains = set(Account.objects.values_list("domain", flat=True))
    assert len(domains) == len(remaining)
