"""The journey KPI family on a hand-built history (tests/frontoffice/kpis/conftest.py): exact
figures for March 2026, per scope, and for an empty period. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from frontoffice.kpis import journey
from frontoffice.kpis.periods import ALL, Period, Scope
from frontoffice.kpis.sql import fetch, percentiles

pytestmark = pytest.mark.django_db

STAGES = ["awareness", "lead", "prospect", "customer", "promoter", "dormant", "lost"]


def _stages(**figures: tuple[int, int]) -> list[dict]:
    return [
        {
            "stage": stage,
            "contacts": figures.get(stage, (0, 0))[0],
            "entered": figures.get(stage, (0, 0))[1],
        }
        for stage in STAGES
    ]


def _conversion(source, target, cohort, converted, within_30, within_90) -> dict:
    def share(count):
        return round(count / cohort, 4) if cohort else None

    return {
        "from": source,
        "to": target,
        "cohort": cohort,
        "converted": converted,
        "rate": share(converted),
        "within": {
            "30": {"converted": within_30, "rate": share(within_30)},
            "90": {"converted": within_90, "rate": share(within_90)},
        },
    }


def _time(source, target, n, median, p90) -> dict:
    return {"from": source, "to": target, "n": n, "median_days": median, "p90_days": p90}


def _campaign(world, name, **figures) -> dict:
    campaign = world.campaigns[name]
    row = {
        "campaign": campaign.pk,
        "name": name,
        "currency": campaign.currency,
        "cost": f"{campaign.cost:.2f}",
        "leads": 0,
        "customers": 0,
        "cost_per_lead": None,
        "cost_per_customer": None,
        "won_first_touch": "0.00",
        "won_last_touch": "0.00",
        "romi_first_touch": -1.0,
        "romi_last_touch": -1.0,
    }
    return row | figures


def test_it_counts_contacts_at_each_stage_at_the_end_and_who_entered_it(journey_world):
    figures = journey.stages(journey_world.period, ALL)

    # At the end: E awareness; C, H, I lead; F prospect; A, D, G customer (D's promoter move is
    # in April; G's customer move ties its prospect move and was recorded last); B lost.
    assert figures == _stages(
        awareness=(1, 5), lead=(3, 6), prospect=(1, 4), customer=(3, 3), lost=(1, 1)
    )


def test_it_measures_cohort_conversion_by_the_end_and_within_30_and_90_days(journey_world):
    figures = journey.conversions(journey_world.period, ALL)

    assert figures == [
        # B 2 days, C 0.5, I exactly 30 (within), H 30.5 (within 90 only), E not yet.
        _conversion("awareness", "lead", 5, 4, 3, 4),
        # A, B, F (F entered lead again on Mar 8); C, H, I not yet.
        _conversion("lead", "prospect", 6, 3, 3, 3),
        # A after 7 days, G at the same instant; B was lost, F not yet.
        _conversion("prospect", "customer", 4, 2, 2, 2),
        # D becomes a promoter after the period's end.
        _conversion("customer", "promoter", 3, 0, 0, 0),
        _conversion("lead", "customer", 6, 1, 1, 1),
        _conversion("awareness", "customer", 5, 0, 0, 0),
    ]


def test_it_measures_median_and_p90_days_from_first_entry_to_first_reach(journey_world):
    figures = journey.times(journey_world.period, ALL)

    assert figures == [
        # A 10, B 2, C 0.5, H 30.5, I 30 (D, F, G reached lead before March).
        _time("awareness", "lead", 5, 10.0, 30.3),
        # A 3, B 7, D 64 (straight to customer passes prospect), F 63 (its first lead), G 32.
        _time("lead", "prospect", 5, 32.0, 63.6),
        # A 7, G 0; D never was a prospect.
        _time("prospect", "customer", 2, 3.5, 6.3),
        _time("customer", "promoter", 0, None, None),
        # A 10, D 64, G 32.
        _time("lead", "customer", 3, 32.0, 57.6),
        # A 20, G 33; D never was at awareness.
        _time("awareness", "customer", 2, 26.5, 31.7),
    ]


def test_it_attributes_leads_customers_and_won_amounts_to_campaigns(journey_world):
    figures = journey.campaigns(journey_world.period, ALL)

    # First touch: A, D, H → Expo; B (tie at Mar 1: lower id), C, G → Web ads. Orders: A 300,000
    # (last touch Web ads), D 200,000 JPY (last Expo; its USD order is not in Expo's currency),
    # G 100,000 (last Expo). Old neither ran in March nor has figures; Spring runs from Mar 20.
    assert figures == [
        _campaign(
            journey_world,
            "Expo",
            leads=2,
            customers=2,
            cost_per_lead="50000.00",
            cost_per_customer="50000.00",
            won_first_touch="500000.00",
            won_last_touch="300000.00",
            romi_first_touch=4.0,
            romi_last_touch=2.0,
        ),
        _campaign(
            journey_world,
            "Web ads",
            leads=2,
            customers=1,
            cost_per_lead="15000.00",
            cost_per_customer="30000.00",
            won_first_touch="100000.00",
            won_last_touch="300000.00",
            romi_first_touch=2.3333,
            romi_last_touch=9.0,
        ),
        _campaign(journey_world, "Spring"),
    ]


def test_it_gives_zeros_and_nulls_for_an_empty_period(journey_world):
    figures = journey.compute(Period.month_of(date(2025, 6, 1)), ALL)

    assert figures == {
        "stages": _stages(),
        "conversions": [
            _conversion(source, target, 0, 0, 0, 0) for source, target in journey.PAIRS
        ],
        "times": [_time(source, target, 0, None, None) for source, target in journey.PAIRS],
        "campaigns": [],
    }


def test_it_gives_a_single_member_cohort_its_own_figures(journey_world):
    rep2 = Scope("rep", str(journey_world.reps["rep2"].pk))  # C and D

    figures = journey.compute(journey_world.period, rep2)

    assert figures["conversions"][0] == _conversion("awareness", "lead", 1, 1, 1, 1)
    assert figures["times"][0] == _time("awareness", "lead", 1, 0.5, 0.5)
    assert figures["times"][4] == _time("lead", "customer", 1, 64.0, 64.0)


def test_it_counts_only_a_reps_contacts(journey_world):
    rep1 = Scope("rep", str(journey_world.reps["rep1"].pk))  # A, B, F

    figures = journey.stages(journey_world.period, rep1)

    assert figures == _stages(
        awareness=(0, 1), lead=(0, 3), prospect=(1, 3), customer=(1, 1), lost=(1, 1)
    )


def test_it_counts_only_the_contacts_of_a_teams_members(journey_world):
    team = Scope("team", str(journey_world.team.pk))  # rep1: A, B, F

    figures = journey.conversions(journey_world.period, team)

    assert figures[1] == _conversion("lead", "prospect", 3, 3, 3, 3)
    assert figures[4] == _conversion("lead", "customer", 3, 1, 1, 1)


def test_it_counts_the_contacts_first_touched_by_a_campaign(journey_world):
    expo = Scope("campaign", str(journey_world.campaigns["Expo"].pk))  # A, D, H

    figures = journey.compute(journey_world.period, expo)

    assert figures["stages"] == _stages(
        awareness=(0, 1), lead=(1, 2), prospect=(0, 1), customer=(2, 2)
    )
    assert [row["name"] for row in figures["campaigns"]] == ["Expo"]
    assert (figures["campaigns"][0]["leads"], figures["campaigns"][0]["won_last_touch"]) == (
        2,
        "200000.00",  # A's order was last touched by Web ads
    )


def test_it_counts_the_contacts_whose_first_touchpoint_came_by_a_channel(journey_world):
    web = Scope("channel", "web")  # B (its web visit ties the event visit), C, E, G

    figures = journey.stages(journey_world.period, web)

    assert figures == _stages(
        awareness=(1, 3), lead=(1, 2), prospect=(0, 2), customer=(1, 1), lost=(1, 1)
    )


def test_it_counts_the_contacts_of_a_lead_segment(journey_world):
    hot = Scope("segment", "hot")  # C, E

    figures = journey.conversions(journey_world.period, hot)

    assert figures[0] == _conversion("awareness", "lead", 2, 1, 1, 1)


def test_it_interpolates_percentiles_between_ranks_and_through_ties(db):
    values = "SELECT 1 AS g, 10 AS value UNION ALL SELECT 1, 20 UNION ALL SELECT 1, 20 " + (
        "UNION ALL SELECT 1, 40 UNION ALL SELECT 2, 7 UNION ALL SELECT 3, NULL"
    )

    rows = fetch(percentiles(values, keys=["g"], percents=[0, 25, 50, 90, 100]) + " ORDER BY g")

    assert [tuple(row.values()) for row in rows] == [
        (1, 4, 10.0, 17.5, 20.0, 34.0, 40.0),
        (2, 1, 7.0, 7.0, 7.0, 7.0, 7.0),
    ]


def test_it_gives_null_percentiles_for_no_values(db):
    rows = fetch(percentiles("SELECT 1 AS value WHERE 1 = 0"))

    assert rows == [{"n": None, "p50": None, "p90": None}]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="percentile_cont is PostgreSQL's")
def test_it_agrees_with_postgresqls_percentile_cont(db):
    values = "SELECT MOD(g * 37, 101) * 1.5 AS value FROM generate_series(1, 57) AS g"

    ours = fetch(percentiles(values, percents=[50, 90]))[0]
    theirs = fetch(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS p50, "  # noqa: S608 (constant SQL)
        f"percentile_cont(0.9) WITHIN GROUP (ORDER BY value) AS p90 FROM ({values}) v"
    )[0]

    assert (ours["p50"], ours["p90"]) == (theirs["p50"], theirs["p90"])
