"""The bottleneck on hand-built values: exact results, baselines, ties and empty input."""

from __future__ import annotations

import math

from frontoffice.kpis import bottleneck


def conversion(source: str, target: str, rate: float | None, cohort: int = 10) -> dict:
    return {"from": source, "to": target, "cohort": cohort, "converted": 0, "rate": rate}


def journey(*conversions: dict, times: list[dict] | None = None) -> dict:
    return {"journey": {"conversions": list(conversions), "times": times or []}}


def lead_rate(rate: float) -> dict:
    return journey(conversion("lead", "prospect", rate, cohort=25))


def test_it_finds_nothing_in_empty_input():
    assert bottleneck.find({}, []) is None


def test_it_finds_nothing_when_the_families_measured_nothing():
    values = {"journey": {}, "touchpoints": {}, "pipeline": {}, "inquiries": {}}

    assert bottleneck.find(values, [values, values]) is None


def test_it_states_a_conversion_against_the_mean_of_the_previous_periods():
    history = [lead_rate(rate) for rate in (0.18, 0.2, 0.22, 0.2, 0.19, 0.21)]

    found = bottleneck.find(lead_rate(0.12), history)

    assert found == {
        "process": "journey",
        "transition": "lead → prospect",
        "metric": "conversion",
        "value": 0.12,
        "baseline": 0.2,
        "basis": "history",
        "periods": 6,
        "n": 25,
        "ratio": 0.6,
        "trend": [0.18, 0.2, 0.22, 0.2, 0.19, 0.21, 0.12],
        "text": "Lead → prospect converts 12% this month against 20% over the previous 6 months.",
    }


def test_it_averages_only_the_last_six_periods():
    history = [lead_rate(0.9)] + [lead_rate(0.2)] * 6

    found = bottleneck.find(lead_rate(0.1), history)

    assert (found["baseline"], found["periods"], found["trend"]) == (
        0.2,
        6,
        [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.1],
    )


def test_it_leaves_unmeasured_periods_out_of_the_baseline_and_shows_them_as_gaps():
    history = [lead_rate(0.3), journey(conversion("lead", "prospect", None, cohort=0)), {}]

    found = bottleneck.find(lead_rate(0.15), history, period_kind="week")

    assert found["baseline"] == 0.3
    assert found["periods"] == 1
    assert found["trend"] == [0.3, None, None, 0.15]
    assert found["text"] == (
        "Lead → prospect converts 15% this week against 30% over the previous week."
    )


def test_without_history_it_compares_a_transition_with_the_others_of_its_process():
    values = journey(
        conversion("awareness", "lead", 0.3, cohort=100),
        conversion("lead", "prospect", 0.12, cohort=25),
        conversion("prospect", "customer", 0.4, cohort=5),
    )

    found = bottleneck.find(values, [])

    assert found == {
        "process": "journey",
        "transition": "lead → prospect",
        "metric": "conversion",
        "value": 0.12,
        "baseline": 0.35,
        "basis": "peers",
        "periods": 0,
        "n": 25,
        "ratio": 0.3429,
        "trend": [0.12],
        "text": "Lead → prospect converts 12% this month against 35% on average for the other "
        "journey transitions.",
    }


def test_a_longer_time_in_stage_beats_a_milder_drop_in_conversion():
    def values(rate: float, proposal_days: float) -> dict:
        return {
            **lead_rate(rate),
            "pipeline": {
                "days_in_stage": [
                    {"stage": "list", "n": 40, "median_days": 3.0, "p90_days": 9.0},
                    {"stage": "proposal", "n": 12, "median_days": proposal_days, "p90_days": 40},
                ]
            },
        }

    found = bottleneck.find(values(0.12, 21.0), [values(0.2, 12.0)] * 3)

    # proposal: 21 / 12 = 1.75 is worse than lead → prospect: 0.20 / 0.12 = 1.67.
    assert found["process"] == "pipeline"
    assert found["transition"] == "proposal"
    assert (found["metric"], found["value"], found["baseline"], found["ratio"]) == (
        "median_days",
        21.0,
        12.0,
        1.75,
    )
    assert found["text"] == (
        "Deals spend a median 21 days in proposal this month against 12 days over the previous "
        "3 months."
    )


def test_it_states_a_journey_time_in_days():
    def values(median: float) -> dict:
        times = [{"from": "lead", "to": "prospect", "n": 8, "median_days": median, "p90_days": 30}]
        return journey(times=times)

    found = bottleneck.find(values(14.5), [values(9.0), values(10.0)], period_kind="day")

    assert found["text"] == (
        "Lead → prospect takes a median 14.5 days on this day against 9.5 days over the "
        "previous 2 days."
    )


def test_it_states_an_inquiry_time_in_minutes():
    def values(first_response: float, resolution: float) -> dict:
        return {
            "inquiries": {
                "first_response_minutes": {"n": 38, "median": first_response, "p90": 300.0},
                "resolution_minutes": {"n": 30, "median": resolution, "p90": 900.0},
            }
        }

    found = bottleneck.find(values(95.0, 300.0), [values(40.0, 310.0), values(40.0, 290.0)])

    assert found == {
        "process": "inquiries",
        "transition": "first response",
        "metric": "median_minutes",
        "value": 95.0,
        "baseline": 40.0,
        "basis": "history",
        "periods": 2,
        "n": 38,
        "ratio": 2.375,
        "trend": [40.0, 40.0, 95.0],
        "text": "First response takes a median 95 minutes this month against 40 minutes over "
        "the previous 2 months.",
    }


def test_inquiry_times_without_history_have_no_peers_and_no_bottleneck():
    values = {
        "inquiries": {
            "first_response_minutes": {"n": 38, "median": 95.0, "p90": 300.0},
            "resolution_minutes": {"n": 30, "median": 3000.0, "p90": 9000.0},
        }
    }

    assert bottleneck.find(values, []) is None


def test_a_tie_goes_to_the_first_process_in_order():
    def values(journey_rate: float, pipeline_rate: float) -> dict:
        return {
            **lead_rate(journey_rate),
            "pipeline": {"transitions": [conversion("proposal", "opportunity", pipeline_rate)]},
        }

    # Both fall to half their baseline.
    found = bottleneck.find(values(0.1, 0.25), [values(0.2, 0.5)])

    assert (found["process"], found["transition"]) == ("journey", "lead → prospect")


def test_a_tie_within_a_process_goes_to_the_earlier_transition():
    values = journey(
        conversion("awareness", "lead", 0.1),
        conversion("lead", "prospect", 0.1),
        conversion("prospect", "customer", 0.4),
    )
    earlier = journey(
        conversion("awareness", "lead", 0.2),
        conversion("lead", "prospect", 0.2),
        conversion("prospect", "customer", 0.4),
    )

    found = bottleneck.find(values, [earlier])

    assert found["transition"] == "awareness → lead"


def test_it_finds_nothing_when_every_figure_is_at_or_better_than_its_baseline():
    found = bottleneck.find(lead_rate(0.25), [lead_rate(0.2), lead_rate(0.25)])

    assert found is None


def test_a_transition_nobody_passed_is_the_worst():
    values = {
        **lead_rate(0.0),
        "pipeline": {"transitions": [conversion("proposal", "opportunity", 0.05)]},
    }
    earlier = {
        **lead_rate(0.2),
        "pipeline": {"transitions": [conversion("proposal", "opportunity", 0.5)]},
    }

    found = bottleneck.find(values, [earlier])

    assert (found["transition"], found["value"], found["ratio"]) == ("lead → prospect", 0.0, 0.0)
    assert found["text"] == (
        "Lead → prospect converts 0% this month against 20% over the previous month."
    )


def test_it_skips_transitions_with_an_empty_cohort():
    values = journey(
        conversion("awareness", "lead", None, cohort=0),
        conversion("lead", "prospect", 0.1, cohort=0),
        conversion("prospect", "customer", 0.4),
    )

    assert bottleneck.find(values, [lead_rate(0.9)]) is None


def test_a_positive_time_against_a_zero_baseline_is_infinitely_worse():
    def values(median: float) -> dict:
        return {"inquiries": {"first_response_minutes": {"n": 3, "median": median, "p90": 1}}}

    found = bottleneck.find(values(1.0), [values(0.0)])

    assert (found["value"], found["baseline"], found["ratio"]) == (1.0, 0.0, None)
    assert found["text"] == (
        "First response takes a median 1 minute this month against 0 minutes over the previous "
        "month."
    )
    assert math.isinf(bottleneck._severity("median_minutes", 1.0, 0.0))
