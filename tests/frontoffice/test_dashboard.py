"""The staff KPI dashboard: permissions, filters, the snapshot computed when missing, the figures
in the HTML (tables and the embedded chart data) and a query count that does not grow."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.test import Client

from frontoffice.kpis import engine
from frontoffice.kpis.periods import Period
from frontoffice.models import KpiSnapshot
from tests.factories import CampaignFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/dashboard/"
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # Monday Nov 23, 13:00 in Tokyo

JOURNEY = {
    "stages": [
        {"stage": "awareness", "contacts": 300, "entered": 100},
        {"stage": "lead", "contacts": 40, "entered": 25},
        {"stage": "prospect", "contacts": 10, "entered": 3},
    ],
    "conversions": [
        {"from": "awareness", "to": "lead", "cohort": 100, "converted": 30, "rate": 0.3},
        {"from": "lead", "to": "prospect", "cohort": 25, "converted": 3, "rate": 0.12},
    ],
    "times": [{"from": "lead", "to": "prospect", "n": 3, "median_days": 4.5, "p90_days": 9.25}],
    "campaigns": [],
}
PIPELINE = {
    "stages": [
        {"stage": "list", "deals": 17, "amounts": {"JPY": "1500000.00"}},
        {"stage": "quote", "deals": 4, "amounts": {"JPY": "800000.00", "USD": "2500.50"}},
    ],
    "transitions": [{"from": "list", "to": "proposal", "cohort": 20, "converted": 9, "rate": 0.45}],
    "won": 6,
    "lost": 4,
    "win_rate": 0.6,
    "won_amounts": {"USD": "12000.00"},
    "average_deal_size": {"USD": "2000.00"},
    "days_in_stage": [{"stage": "proposal", "n": 8, "median_days": 6.0, "p90_days": 14.5}],
    "stalled": 2,
}
INQUIRIES = {
    "volume": {"total": 40, "by_channel": {"email": 30, "phone": 10}, "by_category": {}},
    "first_response_minutes": {"n": 38, "median": 35.5, "p90": 120.0},
}
BOTTLENECK = {
    "process": "journey",
    "transition": "lead → prospect",
    "metric": "conversion",
    "value": 0.12,
    "baseline": 0.2,
    "text": "Lead → prospect converts 12% this month against 20% over the previous 6 months.",
}


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def snapshot(label: str, scope_kind: str = "all", scope_key: str = "", **overrides) -> KpiSnapshot:
    period = Period.parse(label)
    values = {
        "journey": JOURNEY,
        "pipeline": PIPELINE,
        "inquiries": INQUIRIES,
        "bottleneck": BOTTLENECK,
        **overrides,
    }
    return KpiSnapshot.objects.create(
        definition_version=engine.DEFINITION_VERSION,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        scope_kind=scope_kind,
        scope_key=scope_key,
        values=values,
    )


def chart_data(response) -> dict:
    match = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(match[1])


def cells(response, section: str) -> list[list[str]]:
    """The table cells of one section, row by row (what a reader without JavaScript sees)."""
    page = response.content.decode()
    body = re.search(rf'<section class="card" id="{section}">(.*?)</section>', page, re.S)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        ]
        for row in rows
    ]


def test_it_sends_anonymous_visitors_to_the_admin_login():
    response = Client().get(URL)

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/dashboard/"


def test_it_refuses_staff_without_the_kpi_permission():
    snapshot("2026-11")

    response = browser(UserFactory()).get(URL)

    assert response.status_code == 403


def test_it_shows_this_months_snapshot_for_everything_by_default(sales_rep):
    shown = snapshot("2026-11")
    snapshot("2026-11", "team", str(TeamFactory().pk), journey={**JOURNEY, "stages": []})

    response = browser(sales_rep).get(URL)

    assert response.status_code == 200
    assert response.context["snapshot"] == shown
    assert cells(response, "journey")[:4] == [
        ["Stage", "Contacts at the stage", "Entered in the period"],
        ["awareness", "300", "100"],
        ["lead", "40", "25"],
        ["prospect", "10", "3"],
    ]


def test_it_shows_the_journey_conversions_with_the_bottleneck_row_flagged(sales_rep):
    snapshot("2026-11")

    response = browser(sales_rep).get(URL)

    page = response.content.decode()
    assert cells(response, "journey")[5:] == [
        ["awareness → lead", "100", "30", "30.0%"],
        ["lead → prospect", "25", "3", "12.0%"],
    ]
    assert '<tr class="spot"><td>lead → prospect</td><td class="num">25</td>' in page
    assert page.count('class="spot"') == 1


def test_it_calls_out_the_bottleneck_in_words_and_colour(sales_rep):
    snapshot("2026-11")

    response = browser(sales_rep).get(URL)

    page = response.content.decode()
    assert '<div class="callout bottleneck" id="bottleneck"' in page
    assert "Lead → prospect converts 12% this month against 20% over the previous 6 months." in page


def test_it_says_when_there_is_no_bottleneck(sales_rep):
    snapshot("2026-11", bottleneck=None)

    response = browser(sales_rep).get(URL)

    page = response.content.decode()
    assert '<div class="callout clear" id="bottleneck">No bottleneck' in page


def test_it_shows_the_pipeline_funnel_amounts_and_summary(sales_rep):
    snapshot("2026-11")

    response = browser(sales_rep).get(URL)

    assert cells(response, "pipeline") == [
        ["Stage", "Deals", "Amount"],
        ["list", "17", "JPY 1,500,000"],
        ["quote", "4", "JPY 800,000, USD 2,500.50"],
        ["Transition", "Cohort", "Converted", "Conversion"],
        ["list → proposal", "20", "9", "45.0%"],
    ]
    summary = re.search(r'id="pipeline-summary">(.*?)</p>', response.content.decode(), re.S)[1]
    assert " ".join(summary.split()) == (
        "Won 6 · Lost 4 · Win rate 60.0% · Won amount USD 12,000.00 · "
        "Average deal size USD 2,000.00 · Stalled 2"
    )


def test_it_shows_times_in_stage_and_inquiries_per_channel(sales_rep):
    snapshot("2026-11")

    response = browser(sales_rep).get(URL)

    assert cells(response, "times") == [
        ["Journey", "n", "Median (days)", "90th percentile (days)"],
        ["lead → prospect", "3", "4.5", "9.25"],
        ["Pipeline stage", "n", "Median (days)", "90th percentile (days)"],
        ["proposal", "8", "6.0", "14.5"],
    ]
    assert cells(response, "channels") == [
        ["Channel", "Inquiries"],
        ["email", "30"],
        ["phone", "10"],
        ["Total", "40"],
    ]


def test_it_embeds_the_chart_data_for_the_charting_script(sales_rep):
    snapshot("2026-11")

    response = browser(sales_rep).get(URL)

    data = chart_data(response)
    assert data["journeyFunnel"]["labels"] == ["awareness", "lead", "prospect"]
    assert data["journeyFunnel"]["series"][0]["data"] == [300, 40, 10]
    assert data["journeyFunnel"]["rates"] == {
        "labels": ["awareness → lead", "lead → prospect"],
        "data": [30.0, 12.0],
    }
    assert data["pipelineFunnel"]["series"][0]["data"] == [17, 4]
    assert data["times"]["labels"] == ["Journey lead → prospect", "Pipeline proposal"]
    assert data["times"]["series"][0]["data"] == [4.5, 6.0]
    assert data["times"]["series"][1]["data"] == [9.25, 14.5]
    assert data["channels"]["series"][0]["data"] == [30, 10]
    page = response.content.decode()
    assert '<script src="/static/dashboard/chart.umd.min.js"></script>' in page
    assert page.count("<canvas data-chart=") == 5


def test_it_draws_trends_from_the_earlier_snapshots_of_the_same_scope(sales_rep):
    snapshot("2026-09", pipeline={**PIPELINE, "win_rate": 0.5}, inquiries={})
    snapshot("2026-10", pipeline={**PIPELINE, "win_rate": 0.25})
    snapshot("2026-10", "team", str(TeamFactory().pk), pipeline={**PIPELINE, "win_rate": 0.9})
    snapshot("2026-W44")
    snapshot("2026-11")

    response = browser(sales_rep).get(URL)

    assert cells(response, "trends") == [
        ["Period", "Win rate", "First response, median (minutes)"],
        ["2026-09", "50.0%", "—"],
        ["2026-10", "25.0%", "35.5"],
        ["2026-11", "60.0%", "35.5"],
    ]
    assert chart_data(response)["trends"]["series"][0]["data"] == [50.0, 25.0, 60.0]


def test_it_filters_by_period_and_team(sales_rep):
    team = TeamFactory()
    snapshot("2026-W47")
    shown = snapshot("2026-W47", "team", str(team.pk), bottleneck=None)

    response = browser(sales_rep).get(URL, {"period": "2026-W47", "team": team.pk})

    assert response.status_code == 200
    assert response.context["snapshot"] == shown
    assert f"2026-W47 · Team: {team.name}" in response.content.decode()


def test_it_filters_by_rep_and_by_campaign(sales_rep, manager):
    campaign = CampaignFactory()
    by_rep = snapshot("2026-11", "rep", str(manager.pk))
    by_campaign = snapshot("2026-11", "campaign", str(campaign.pk))
    client = browser(sales_rep)

    assert client.get(URL, {"rep": manager.pk}).context["snapshot"] == by_rep
    assert client.get(URL, {"campaign": campaign.pk}).context["snapshot"] == by_campaign


def test_it_takes_the_period_kind_for_the_current_period(sales_rep):
    yesterday = snapshot("2026-11-22")
    this_week = snapshot("2026-W48")
    client = browser(sales_rep)

    assert client.get(URL, {"kind": "day"}).context["snapshot"] == yesterday
    assert client.get(URL, {"kind": "week"}).context["snapshot"] == this_week


def test_it_reads_a_custom_range(sales_rep):
    shown = snapshot("2026-01-01..2026-03-31")

    response = browser(sales_rep).get(URL, {"kind": "custom", "period": "2026-01-01..2026-03-31"})

    assert response.context["snapshot"] == shown


def test_it_computes_the_snapshot_when_there_is_none(sales_rep):
    response = browser(sales_rep).get(URL, {"period": "2026-10"})

    assert response.status_code == 200
    stored = KpiSnapshot.objects.get()
    assert (stored.period_kind, stored.period_start, stored.period_end) == (
        "month",
        date(2026, 10, 1),
        date(2026, 11, 1),
    )
    assert (stored.scope_kind, stored.scope_key) == ("all", "")
    assert set(stored.values) == {*engine.FAMILIES, "bottleneck"}
    assert response.context["snapshot"] == stored
    assert "computed now: there was no snapshot for this selection" in response.content.decode()


def test_it_does_not_compute_a_period_that_has_not_started(sales_rep):
    response = browser(sales_rep).get(URL, {"period": "2026-12"})

    assert response.status_code == 200
    assert "2026-12 has not started yet: nothing to measure." in response.content.decode()
    assert "<canvas" not in response.content.decode()
    assert not KpiSnapshot.objects.exists()


def test_it_refuses_an_unreadable_period(sales_rep):
    response = browser(sales_rep).get(URL, {"period": "November"})

    assert response.status_code == 400
    assert response.context["form"].errors["period"] == [
        "'November' is not a period: use 2026-11-22, 2026-W47, 2026-11 or 2026-01-01..2026-03-31 "
        "(Invalid isoformat string: 'November')."
    ]
    assert not KpiSnapshot.objects.exists()


def test_it_refuses_a_custom_kind_without_a_range(sales_rep):
    response = browser(sales_rep).get(URL, {"kind": "custom"})

    assert response.status_code == 400
    assert response.context["form"].errors["period"] == [
        "Give the range of a custom period, e.g. 2026-01-01..2026-03-31."
    ]


def test_it_refuses_two_scopes_at_once(sales_rep):
    team = TeamFactory()

    response = browser(sales_rep).get(URL, {"team": team.pk, "rep": sales_rep.pk})

    assert response.status_code == 400
    message = ["Choose one of team, rep or campaign (or none for everything)."]
    assert response.context["form"].errors == {"team": message, "rep": message}
    assert not KpiSnapshot.objects.exists()


def test_it_refuses_an_unknown_team(sales_rep):
    response = browser(sales_rep).get(URL, {"team": 999999})

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["team"]


@pytest.mark.parametrize("earlier", [1, 6])
def test_it_runs_the_same_queries_whatever_the_history(
    sales_rep, earlier, django_assert_max_num_queries
):
    for month in range(11 - earlier, 11):
        snapshot(f"2026-{month:02d}")
    snapshot("2026-11")
    TeamFactory.create_batch(3)
    client = browser(sales_rep)

    # session, user, 2 for permissions, the snapshot, its history, the team/rep/campaign options
    with django_assert_max_num_queries(9):
        response = client.get(URL)

    assert len(response.context["trends"]) == earlier + 1


def test_it_shows_the_resolved_selection_in_the_filters(sales_rep):
    team = TeamFactory()
    snapshot("2026-11", "team", str(team.pk))

    response = browser(sales_rep).get(URL, {"team": team.pk})

    page = response.content.decode()
    assert '<option value="month" selected>Month</option>' in page
    assert f'<option value="{team.pk}" selected>{team.name}</option>' in page


def test_it_marks_a_slow_stage_in_the_time_chart(sales_rep):
    slow = {**BOTTLENECK, "process": "pipeline", "transition": "proposal", "metric": "median_days"}
    snapshot("2026-11", bottleneck=slow)

    response = browser(sales_rep).get(URL)

    assert chart_data(response)["times"]["highlight"] == "Pipeline proposal"
    assert '<tr class="spot"><td>proposal</td>' in response.content.decode()


def test_it_leaves_the_time_chart_unmarked_for_a_weak_conversion(sales_rep):
    snapshot("2026-11")

    response = browser(sales_rep).get(URL)

    assert chart_data(response)["times"]["highlight"] is None
