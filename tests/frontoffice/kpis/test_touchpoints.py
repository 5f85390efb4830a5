"""The touchpoints KPI family on the hand-built history of tests/frontoffice/kpis/conftest.py:
exact figures for March 2026, per scope, and for an empty period. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from accounts.models import TouchpointKind
from frontoffice.kpis import touchpoints
from frontoffice.kpis.periods import ALL, Period, Scope

pytestmark = pytest.mark.django_db

KINDS = [kind for kind in TouchpointKind.values if kind != "order"]


def _before_order(won: int, others: int, **figures: tuple) -> list[dict]:
    """Per kind (won_avg, others_avg, won_share, others_share); unlisted kinds are 0 (or null
    for an empty group)."""
    empty = (0.0 if won else None, 0.0 if others else None) * 2
    names = ("won_avg", "others_avg", "won_share", "others_share")
    return [
        {"kind": kind, **dict(zip(names, figures.get(kind, empty), strict=True))} for kind in KINDS
    ]


def test_it_compares_touchpoints_before_the_first_order_with_other_active_contacts(
    journey_world,
):
    figures = touchpoints.before_order(journey_world.period, ALL)

    # Won (first order in March): A (event, web visit, demo before Mar 12), D (call, email before
    # Mar 15), G (web visit, meeting before Mar 6). Others (active in March, no order): B (web
    # and event visit), C (form), E (two web visits), H (event visit).
    assert figures == {
        "won_customers": 3,
        "others": 4,
        "before_order": _before_order(
            3,
            4,
            event_visit=(0.3333, 0.5, 0.3333, 0.5),
            web_visit=(0.6667, 0.75, 0.6667, 0.5),
            email=(0.3333, 0.0, 0.3333, 0.0),
            call=(0.3333, 0.0, 0.3333, 0.0),
            meeting=(0.3333, 0.0, 0.3333, 0.0),
            demo=(0.3333, 0.0, 0.3333, 0.0),
            form=(0.0, 0.25, 0.0, 0.25),
        ),
    }


def test_it_correlates_touchpoints_with_order_amounts_per_account(journey_world):
    figures = touchpoints.amount_correlation(journey_world.period, ALL)

    # JPY orders in March: account 1 (2 touchpoints, 300,000), 2 (1, 200,000), 3 (1, 100,000);
    # r = 1 / sqrt(4/3). Account 2's USD order is the only one in USD.
    assert figures == {"currency": "JPY", "accounts": 3, "pearson_r": 0.866}


def test_it_gives_zeros_and_nulls_for_an_empty_period(journey_world):
    figures = touchpoints.compute(Period.month_of(date(2025, 6, 1)), ALL)

    assert figures == {
        "won_customers": 0,
        "others": 0,
        "before_order": _before_order(0, 0),
        "amount_correlation": {"currency": None, "accounts": 0, "pearson_r": None},
    }


def test_it_counts_a_single_member_group_of_a_rep(journey_world):
    rep1 = Scope("rep", str(journey_world.reps["rep1"].pk))  # A won; B active; F silent

    figures = touchpoints.compute(journey_world.period, rep1)

    assert (figures["won_customers"], figures["others"]) == (1, 1)
    assert figures["before_order"] == _before_order(
        1,
        1,
        event_visit=(1.0, 1.0, 1.0, 1.0),
        web_visit=(1.0, 1.0, 1.0, 1.0),
        demo=(1.0, 0.0, 1.0, 0.0),
    )
    assert figures["amount_correlation"] == {"currency": "JPY", "accounts": 1, "pearson_r": None}


def test_it_counts_only_the_touchpoints_of_a_channel(journey_world):
    figures = touchpoints.compute(journey_world.period, Scope("channel", "web"))

    # Others now need a web touchpoint in March: B, C, E (H only came in person).
    assert (figures["won_customers"], figures["others"]) == (3, 3)
    assert figures["before_order"] == _before_order(
        3,
        3,
        web_visit=(0.6667, 1.0, 0.6667, 0.6667),
        form=(0.0, 0.3333, 0.0, 0.3333),
    )
    # Only account 1's web visit on Mar 1 counts: x = 1, 0, 0.
    assert figures["amount_correlation"] == {"currency": "JPY", "accounts": 3, "pearson_r": 0.866}


def test_it_counts_the_contacts_of_a_campaign_and_of_a_segment(journey_world):
    web_ads = Scope("campaign", str(journey_world.campaigns["Web ads"].pk))  # B, C, G

    by_campaign = touchpoints.compute(journey_world.period, web_ads)
    by_segment = touchpoints.compute(journey_world.period, Scope("segment", "hot"))  # C, E

    assert (by_campaign["won_customers"], by_campaign["others"]) == (1, 2)
    assert by_campaign["amount_correlation"] == {
        "currency": "JPY",
        "accounts": 1,
        "pearson_r": None,
    }
    assert (by_segment["won_customers"], by_segment["others"]) == (0, 2)
    assert by_segment["before_order"][1] == {
        "kind": "web_visit",
        "won_avg": None,
        "others_avg": 1.0,
        "won_share": None,
        "others_share": 0.5,
    }
