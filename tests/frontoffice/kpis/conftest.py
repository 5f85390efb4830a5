"""Hand-built histories for the journey and touchpoints KPI families (fixtures prefixed
``journey_``), written row by row with exact timestamps; the period is March 2026 (Tokyo).

Contacts (owner; journey transitions; touchpoints; account):

* A (rep1, account 1): awareness Feb 20, lead Mar 2, prospect Mar 5, customer Mar 12.
  Event visit Feb 20 (Expo), web visit Mar 1 (Web ads), demo Mar 10, order Mar 12 300,000 JPY
  (carrying Web ads, as a deal's order does).
* B (rep1): awareness Mar 1, lead Mar 3, prospect Mar 10, lost Mar 20. Web visit Mar 1 (Web
  ads) and an event visit at the same instant (Expo, recorded after: a tie).
* C (rep2, hot): awareness Mar 4, lead Mar 4 12:00. Form Mar 4 (Web ads).
* D (rep2, account 2): lead Jan 10 (no awareness), customer Mar 15 (skipping prospect), promoter
  Apr 5 (after the period). Call Jan 10, email Mar 1 (Expo), orders Mar 15 200,000 JPY and
  Mar 20 50,000 USD.
* E (no owner, hot): awareness Mar 10. Web visits Mar 10 and Mar 11.
* F (rep1): awareness Jan 1, lead Jan 5, dormant Feb 1, lead again Mar 8, prospect Mar 9.
* G (no owner, account 3): awareness Feb 1, lead Feb 2, prospect and customer both Mar 6 00:00
  (a tie: customer recorded last). Web visit Feb 1 (Web ads), meeting Mar 5 (Expo), order Mar 6
  100,000 JPY.
* H (no owner, nurture): awareness Mar 1, lead Mar 31 12:00 (30.5 days later). Event visit Mar 1
  (Expo).
* I (no owner): awareness Mar 1 12:00, lead Mar 31 12:00 (exactly 30 days).

Campaigns: Expo (100,000 JPY, Mar 1-3), Web ads (30,000 JPY, no dates), Old (0 USD, January
2025), Spring (50,000 JPY, from Mar 20). Team 1 has rep1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Account, Contact, JourneyTransition, Team, Touchpoint
from frontoffice.kpis.periods import Period
from pipeline.models import Campaign, LeadScore
from tests.factories import UserFactory

TOKYO = ZoneInfo("Asia/Tokyo")


def journey_at(month: int, day: int, hour: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=TOKYO)


@dataclass
class JourneyWorld:
    period: Period
    reps: dict[str, object] = field(default_factory=dict)
    team: Team | None = None
    contacts: dict[str, Contact] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)


JOURNEYS = {
    "A": [("awareness", (2, 20)), ("lead", (3, 2)), ("prospect", (3, 5)), ("customer", (3, 12))],
    "B": [("awareness", (3, 1)), ("lead", (3, 3)), ("prospect", (3, 10)), ("lost", (3, 20))],
    "C": [("awareness", (3, 4)), ("lead", (3, 4, 12))],
    "D": [("lead", (1, 10)), ("customer", (3, 15)), ("promoter", (4, 5))],
    "E": [("awareness", (3, 10))],
    "F": [
        ("awareness", (1, 1)),
        ("lead", (1, 5)),
        ("dormant", (2, 1)),
        ("lead", (3, 8)),
        ("prospect", (3, 9)),
    ],
    "G": [("awareness", (2, 1)), ("lead", (2, 2)), ("prospect", (3, 6)), ("customer", (3, 6))],
    "H": [("awareness", (3, 1)), ("lead", (3, 31, 12))],
    "I": [("awareness", (3, 1, 12)), ("lead", (3, 31, 12))],
}
OWNERS = {"A": "rep1", "B": "rep1", "C": "rep2", "D": "rep2", "F": "rep1"}
ACCOUNTS = {"A": "1", "D": "2", "G": "3"}
SEGMENTS = {"C": "hot", "E": "hot", "H": "nurture"}
# (contact, kind, channel, (month, day), campaign, amount, currency), in recording order.
TOUCHPOINTS = [
    ("A", "event_visit", "in_person", (2, 20), "Expo", None, ""),
    ("A", "web_visit", "web", (3, 1), "Web ads", None, ""),
    ("A", "demo", "in_person", (3, 10), None, None, ""),
    ("A", "order", "sales_rep", (3, 12), "Web ads", "300000", "JPY"),
    ("B", "web_visit", "web", (3, 1), "Web ads", None, ""),
    ("B", "event_visit", "in_person", (3, 1), "Expo", None, ""),
    ("C", "form", "web", (3, 4), "Web ads", None, ""),
    ("D", "call", "phone", (1, 10), None, None, ""),
    ("D", "email", "email", (3, 1), "Expo", None, ""),
    ("D", "order", "sales_rep", (3, 15), None, "200000", "JPY"),
    ("D", "order", "sales_rep", (3, 20), None, "50000", "USD"),
    ("E", "web_visit", "web", (3, 10), None, None, ""),
    ("E", "web_visit", "web", (3, 11), None, None, ""),
    ("G", "web_visit", "web", (2, 1), "Web ads", None, ""),
    ("G", "meeting", "in_person", (3, 5), "Expo", None, ""),
    ("G", "order", "sales_rep", (3, 6), None, "100000", "JPY"),
    ("H", "event_visit", "in_person", (3, 1), "Expo", None, ""),
]


@pytest.fixture
def journey_period() -> Period:
    return Period.month_of(date(2026, 3, 1))


@pytest.fixture
def journey_world(db, journey_period) -> JourneyWorld:
    world = JourneyWorld(period=journey_period)
    world.reps = {name: UserFactory(username=f"journey-{name}") for name in ("rep1", "rep2")}
    world.team = Team.objects.create(name="Journey team", kind=Team.Kind.SALES)
    world.team.members.add(world.reps["rep1"])
    world.campaigns = {
        "Expo": Campaign.objects.create(
            name="Expo",
            kind="exhibition",
            cost=Decimal("100000"),
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 3),
        ),
        "Web ads": Campaign.objects.create(name="Web ads", kind="web", cost=Decimal("30000")),
        "Old": Campaign.objects.create(
            name="Old",
            kind="email",
            cost=Decimal("0"),
            currency="USD",
            starts_on=date(2025, 1, 1),
            ends_on=date(2025, 1, 31),
        ),
        "Spring": Campaign.objects.create(
            name="Spring", kind="seminar", cost=Decimal("50000"), starts_on=date(2026, 3, 20)
        ),
    }
    world.accounts = {
        key: Account.objects.create(name=f"Journey account {key}", domain=f"journey{key}.test")
        for key in ("1", "2", "3")
    }
    for name, moves in JOURNEYS.items():
        owner = OWNERS.get(name)
        account = ACCOUNTS.get(name)
        world.contacts[name] = Contact.objects.create(
            name=f"Journey {name}",
            owner=world.reps[owner] if owner else None,
            account=world.accounts[account] if account else None,
            stage=moves[-1][0],
            stage_changed_at=journey_at(*moves[-1][1]),
        )
    transitions = []
    for name, moves in JOURNEYS.items():
        previous = ""
        for stage, when in moves:
            transitions.append(
                JourneyTransition(
                    contact=world.contacts[name],
                    from_stage=previous,
                    to_stage=stage,
                    created_at=journey_at(*when),
                )
            )
            previous = stage
    JourneyTransition.objects.bulk_create(transitions)
    Touchpoint.objects.bulk_create(
        [
            Touchpoint(
                contact=world.contacts[name],
                account=world.contacts[name].account,
                kind=kind,
                channel=channel,
                occurred_at=journey_at(*when),
                campaign=world.campaigns[campaign] if campaign else None,
                amount=Decimal(amount) if amount else None,
                currency=currency,
            )
            for name, kind, channel, when, campaign, amount, currency in TOUCHPOINTS
        ]
    )
    LeadScore.objects.bulk_create(
        [
            LeadScore(contact=world.contacts[name], score=Decimal("10"), segment=segment)
            for name, segment in SEGMENTS.items()
        ]
    )
    return world
