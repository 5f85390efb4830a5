"""The pipeline KPI family on a hand-built story of seven deals in March 2026 (Asia/Tokyo).

Deal    owner  currency amount   history (JST)
D1      Aiko   JPY     1000.00   ∅→list 02-20, →proposal 03-02 10:00, →opportunity 03-05 10:00,
                                 →quote 03-10 10:00, →won 03-20 10:00 (campaign C, team T)
D2      Aiko   JPY     3000.50   ∅→list 03-01, →opportunity 03-11, →lost 03-21 (first touch: email)
D3      Ben    USD      200.25   ∅→list 03-03 12:00, →proposal 03-04 12:00, →won 04-02 (team T;
                                 stalled since 03-25)
D4      Ben    JPY      500.10   ∅→list 01-10, →won 03-15 (contact in the hot segment)
D5      Ben    USD      100.00   ∅→list 03-31 23:00
D6      Aiko   JPY        0.29   ∅→list and →opportunity at the same instant, 03-12 09:00
D7      Ben    JPY      700.00   ∅→list 02-01, →won 03-06, reopened →quote 03-07, →lost 03-08

Every test runs on SQLite and on PostgreSQL and expects the same exact figures.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Contact
from frontoffice.kpis import pipeline
from frontoffice.kpis.periods import Period, Scope
from pipeline.models import Activity, Deal, DealStageChange, DealStall, LeadScore
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    DailyReportFactory,
    TeamFactory,
    TouchpointFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

MARCH = Period.month_of(datetime.date(2026, 3, 1))


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    naive = datetime.datetime(2026, month, day, hour, minute)
    return timezone.make_aware(naive, timezone.get_current_timezone())


def deal_with_history(
    name: str,
    *,
    owner,
    amount: str,
    currency: str,
    moves: list[tuple[str, datetime.datetime]],
    **extra,
) -> Deal:
    """A deal at its last stage, with one history row per move (∅ → the first stage first)."""
    last_stage, last_at = moves[-1]
    deal = Deal.objects.create(
        name=name,
        owner=owner,
        amount=Decimal(amount),
        currency=currency,
        stage=last_stage,
        stage_changed_at=last_at,
        created_at=moves[0][1],
        closed_at=last_at if last_stage in ("won", "lost") else None,
        **extra,
    )
    previous = ""
    for stage, moved_at in moves:
        DealStageChange.objects.create(
            deal=deal, from_stage=previous, to_stage=stage, amount=deal.amount, created_at=moved_at
        )
        previous = stage
    return deal


@pytest.fixture
def story(db):
    aiko = UserFactory(username="aiko", first_name="Aiko", last_name="Abe")
    ben = UserFactory(username="ben", first_name="Ben", last_name="Baker")
    cho = UserFactory(username="cho", first_name="Cho", last_name="Chen")
    team = TeamFactory(name="Team T")
    team.members.add(aiko)
    campaign = CampaignFactory(name="C")
    emailed = ContactFactory(name="Emailed first")
    TouchpointFactory(contact=emailed, kind="email", channel="email", occurred_at=at(2, 1))
    TouchpointFactory(contact=emailed, kind="web_visit", channel="web", occurred_at=at(2, 2))
    hot = ContactFactory(name="Hot lead")
    LeadScore.objects.create(contact=hot, score=80, segment="hot")

    d1 = deal_with_history(
        "D1",
        owner=aiko,
        amount="1000.00",
        currency="JPY",
        team=team,
        campaign=campaign,
        moves=[
            ("list", at(2, 20)),
            ("proposal", at(3, 2, 10)),
            ("opportunity", at(3, 5, 10)),
            ("quote", at(3, 10, 10)),
            ("won", at(3, 20, 10)),
        ],
    )
    d2 = deal_with_history(
        "D2",
        owner=aiko,
        amount="3000.50",
        currency="JPY",
        contact=emailed,
        moves=[("list", at(3, 1)), ("opportunity", at(3, 11)), ("lost", at(3, 21))],
    )
    d3 = deal_with_history(
        "D3",
        owner=ben,
        amount="200.25",
        currency="USD",
        team=team,
        moves=[("list", at(3, 3, 12)), ("proposal", at(3, 4, 12)), ("won", at(4, 2))],
    )
    deal_with_history(
        "D4",
        owner=ben,
        amount="500.10",
        currency="JPY",
        contact=hot,
        moves=[("list", at(1, 10)), ("won", at(3, 15))],
    )
    deal_with_history(
        "D5", owner=ben, amount="100.00", currency="USD", moves=[("list", at(3, 31, 23))]
    )
    d6 = deal_with_history(
        "D6",
        owner=aiko,
        amount="0.29",
        currency="JPY",
        moves=[("list", at(3, 12, 9)), ("opportunity", at(3, 12, 9))],
    )
    deal_with_history(
        "D7",
        owner=ben,
        amount="700.00",
        currency="JPY",
        moves=[("list", at(2, 1)), ("won", at(3, 6)), ("quote", at(3, 7)), ("lost", at(3, 8))],
    )
    DealStall.objects.create(deal=d3, reason="no_activity", stage="proposal", started_at=at(3, 25))
    DealStall.objects.create(
        deal=d2, reason="no_activity", stage="opportunity", started_at=at(3, 15), ended_at=at(3, 21)
    )
    DealStall.objects.create(
        deal=d6, reason="time_in_stage", stage="opportunity", started_at=at(4, 3)
    )

    def activity(rep, day: datetime.date, minutes: int, deal=None) -> None:
        report = DailyReportFactory(rep=rep, day=day)
        Activity.objects.create(
            report=report,
            kind="call",
            occurred_at=at(day.month, day.day, 10),
            minutes=minutes,
            deal=deal,
        )

    report = DailyReportFactory(rep=aiko, day=datetime.date(2026, 3, 2))
    Activity.objects.create(
        report=report, kind="visit", occurred_at=at(3, 2, 9), minutes=30, deal=d1
    )
    Activity.objects.create(report=report, kind="call", occurred_at=at(3, 2, 11), minutes=45)
    activity(aiko, datetime.date(2026, 4, 1), 20)
    activity(ben, datetime.date(2026, 2, 28), 10)
    activity(ben, datetime.date(2026, 3, 31), 60, deal=d3)
    activity(cho, datetime.date(2026, 3, 16), 15)
    return {"aiko": aiko, "ben": ben, "cho": cho, "team": team, "campaign": campaign}


def test_it_counts_deals_and_exact_amounts_per_stage_at_the_period_end(story):
    figures = pipeline.compute(MARCH, Scope())

    assert figures["stages"] == [
        {"stage": "list", "deals": 1, "amounts": {"USD": "100.00"}},
        {"stage": "proposal", "deals": 1, "amounts": {"USD": "200.25"}},
        {"stage": "opportunity", "deals": 1, "amounts": {"JPY": "0.29"}},
        {"stage": "quote", "deals": 0, "amounts": {}},
        {"stage": "won", "deals": 2, "amounts": {"JPY": "1500.10"}},
        {"stage": "lost", "deals": 2, "amounts": {"JPY": "3700.50"}},
    ]


def test_it_converts_cohorts_that_entered_a_stage_in_the_period(story):
    figures = pipeline.compute(MARCH, Scope())

    assert figures["transitions"] == [
        {"from": "list", "to": "proposal", "cohort": 4, "converted": 3, "rate": 0.75},
        {"from": "proposal", "to": "opportunity", "cohort": 2, "converted": 1, "rate": 0.5},
        {"from": "opportunity", "to": "quote", "cohort": 3, "converted": 1, "rate": 0.3333},
        {"from": "quote", "to": "won", "cohort": 2, "converted": 1, "rate": 0.5},
        {"from": "list", "to": "won", "cohort": 4, "converted": 0, "rate": 0.0},
    ]


def test_it_converts_a_single_member_cohort(story):
    figures = pipeline.compute(Period.parse("2026-03-05..2026-03-10"), Scope())

    assert figures["transitions"] == [
        {"from": "list", "to": "proposal", "cohort": 0, "converted": 0, "rate": None},
        {"from": "proposal", "to": "opportunity", "cohort": 0, "converted": 0, "rate": None},
        {"from": "opportunity", "to": "quote", "cohort": 1, "converted": 1, "rate": 1.0},
        {"from": "quote", "to": "won", "cohort": 2, "converted": 0, "rate": 0.0},
        {"from": "list", "to": "won", "cohort": 0, "converted": 0, "rate": None},
    ]


def test_it_counts_a_reopened_deal_by_its_last_close_in_the_period(story):
    figures = pipeline.compute(Period.parse("2026-03-05..2026-03-10"), Scope())

    assert (figures["won"], figures["lost"], figures["win_rate"]) == (0, 1, 0.0)
    assert figures["won_amounts"] == {}
    assert figures["average_deal_size"] == {}
    assert figures["sales_velocity"] == {}


def test_it_gives_win_rate_won_amounts_and_average_deal_size(story):
    figures = pipeline.compute(MARCH, Scope())

    assert (figures["won"], figures["lost"], figures["win_rate"]) == (2, 2, 0.5)
    assert figures["won_amounts"] == {"JPY": "1500.10"}
    assert figures["average_deal_size"] == {"JPY": "750.05"}


def test_it_measures_the_sales_cycle_from_the_first_history_row_to_won(story):
    figures = pipeline.compute(MARCH, Scope())

    # D1: 28 days 10 hours; D4: 64 days.
    assert figures["sales_cycle_days"] == {"n": 2, "median": 46.21, "p90": 60.44}


def test_it_measures_days_in_stage_over_stays_that_ended_in_the_period(story):
    figures = pipeline.compute(MARCH, Scope())

    # list stays: 0 (D6, same instant), 1, 10, 10 d 10 h, 33, 64; a won stay is not counted.
    assert figures["days_in_stage"] == [
        {"stage": "list", "n": 6, "median_days": 10.21, "p90_days": 48.5},
        {"stage": "proposal", "n": 1, "median_days": 3.0, "p90_days": 3.0},
        {"stage": "opportunity", "n": 2, "median_days": 7.5, "p90_days": 9.5},
        {"stage": "quote", "n": 2, "median_days": 5.5, "p90_days": 9.1},
    ]


def test_it_gives_sales_velocity_per_currency(story):
    figures = pipeline.compute(MARCH, Scope())

    # 1 open JPY deal x 0.5 x 750.05 / 46.2083 days; USD has no won deal, so no velocity.
    assert figures["sales_velocity"] == {"JPY": "8.12"}


def test_it_counts_deals_stalled_at_the_period_end_from_the_stall_history(story):
    figures = pipeline.compute(MARCH, Scope())

    assert figures["stalled"] == 1


def test_it_gives_each_reps_activities_advanced_and_won_deals(story):
    figures = pipeline.compute(MARCH, Scope())

    assert figures["reps"] == [
        {
            "rep": story["aiko"].pk,
            "name": "Aiko Abe",
            "activities": 2,
            "minutes": 75,
            "deals_advanced": 3,
            "deals_won": 1,
            "won_amounts": {"JPY": "1000.00"},
        },
        {
            "rep": story["ben"].pk,
            "name": "Ben Baker",
            "activities": 1,
            "minutes": 60,
            "deals_advanced": 3,
            "deals_won": 1,
            "won_amounts": {"JPY": "500.10"},
        },
        {
            "rep": story["cho"].pk,
            "name": "Cho Chen",
            "activities": 1,
            "minutes": 15,
            "deals_advanced": 0,
            "deals_won": 0,
            "won_amounts": {},
        },
    ]


def test_it_gives_zeros_and_nulls_for_an_empty_period(story):
    figures = pipeline.compute(Period.month_of(datetime.date(2025, 12, 1)), Scope())

    assert figures == {
        "stages": [
            {"stage": stage, "deals": 0, "amounts": {}}
            for stage in ("list", "proposal", "opportunity", "quote", "won", "lost")
        ],
        "transitions": [
            {"from": source, "to": target, "cohort": 0, "converted": 0, "rate": None}
            for source, target in pipeline.TRANSITIONS
        ],
        "won": 0,
        "lost": 0,
        "win_rate": None,
        "won_amounts": {},
        "average_deal_size": {},
        "sales_cycle_days": {"n": 0, "median": None, "p90": None},
        "days_in_stage": [
            {"stage": stage, "n": 0, "median_days": None, "p90_days": None}
            for stage in ("list", "proposal", "opportunity", "quote")
        ],
        "sales_velocity": {},
        "stalled": 0,
        "reps": [],
    }


def test_it_scopes_to_a_reps_deals_and_reports(story):
    figures = pipeline.compute(MARCH, Scope("rep", str(story["ben"].pk)))

    assert [stage["deals"] for stage in figures["stages"]] == [1, 1, 0, 0, 1, 1]
    assert (figures["won"], figures["lost"], figures["win_rate"]) == (1, 1, 0.5)
    assert figures["stalled"] == 1
    assert figures["reps"] == [
        {
            "rep": story["ben"].pk,
            "name": "Ben Baker",
            "activities": 1,
            "minutes": 60,
            "deals_advanced": 3,
            "deals_won": 1,
            "won_amounts": {"JPY": "500.10"},
        }
    ]


def test_it_scopes_to_a_teams_deals_and_its_members_deals(story):
    figures = pipeline.compute(MARCH, Scope("team", str(story["team"].pk)))

    assert figures["stages"][1:] == [
        {"stage": "proposal", "deals": 1, "amounts": {"USD": "200.25"}},
        {"stage": "opportunity", "deals": 1, "amounts": {"JPY": "0.29"}},
        {"stage": "quote", "deals": 0, "amounts": {}},
        {"stage": "won", "deals": 1, "amounts": {"JPY": "1000.00"}},
        {"stage": "lost", "deals": 1, "amounts": {"JPY": "3000.50"}},
    ]
    assert [(rep["name"], rep["activities"], rep["deals_advanced"]) for rep in figures["reps"]] == [
        ("Aiko Abe", 2, 3),
        ("Ben Baker", 0, 1),
    ]


def test_it_scopes_to_a_source_campaign(story):
    figures = pipeline.compute(MARCH, Scope("campaign", str(story["campaign"].pk)))

    assert (figures["won"], figures["lost"], figures["win_rate"]) == (1, 0, 1.0)
    assert figures["reps"] == [
        {
            "rep": story["aiko"].pk,
            "name": "Aiko Abe",
            "activities": 1,
            "minutes": 30,
            "deals_advanced": 1,
            "deals_won": 1,
            "won_amounts": {"JPY": "1000.00"},
        }
    ]


def test_it_scopes_to_deals_whose_contact_was_first_touched_by_a_channel(story):
    figures = pipeline.compute(MARCH, Scope("channel", "email"))

    assert (figures["won"], figures["lost"], figures["win_rate"]) == (0, 1, 0.0)
    assert figures["stages"][5] == {"stage": "lost", "deals": 1, "amounts": {"JPY": "3000.50"}}
    assert pipeline.compute(MARCH, Scope("channel", "web"))["stages"][5]["deals"] == 0


def test_it_scopes_to_a_lead_segment_with_a_single_won_deal(story):
    figures = pipeline.compute(MARCH, Scope("segment", "hot"))

    assert (figures["won"], figures["lost"], figures["win_rate"]) == (1, 0, 1.0)
    assert figures["sales_cycle_days"] == {"n": 1, "median": 64.0, "p90": 64.0}
    assert figures["sales_velocity"] == {"JPY": "0.00"}


def test_it_reads_the_history_not_the_deals_current_stage(story):
    Deal.objects.update(stage="list", closed_at=None)
    Contact.objects.update(stage="awareness")

    figures = pipeline.compute(MARCH, Scope())

    assert [stage["deals"] for stage in figures["stages"]] == [1, 1, 1, 0, 2, 2]
