"""The bottleneck: where customers flow worst right now, across the three processes.

Pure: reads a snapshot's family values (shapes in ``engine.py``) and earlier snapshots' values.

Definition
----------
The *candidates* are the transitions of the three processes, each with one figure:

==========  ================================  =================  =================
process     figure (family → key)             metric             worse when
==========  ================================  =================  =================
journey     ``conversions[].rate``            ``conversion``     lower
journey     ``times[].median_days``           ``median_days``    higher
pipeline    ``transitions[].rate``            ``conversion``     lower
pipeline    ``days_in_stage[].median_days``   ``median_days``    higher
inquiries   ``first_response_minutes.median``  ``median_minutes`` higher
inquiries   ``resolution_minutes.median``     ``median_minutes`` higher
==========  ================================  =================  =================

A candidate counts only when it was measured (cohort or n above 0, figure not null).

Each candidate is compared with a *baseline*:

- ``history``: the mean of the same figure (same process, metric and transition) over the
  scope's earlier snapshots of the same period kind, the last :data:`HISTORY_PERIODS` of those
  given (oldest first); snapshots where it was not measured are left out of the mean.
- ``peers``, when no earlier snapshot measured it: the mean of the same figure over the other
  measured transitions of the same list (the other journey conversions, the other pipeline
  stages...). A list with a single member (inquiries' first response, resolution) has no peers:
  without history it is not a candidate.

Baselines are rounded like the figures (rates to 4 places, days and minutes to 2). The
*severity* says how much worse than its baseline a figure is: ``baseline / value`` for a
conversion, ``value / baseline`` for a time (a zero conversion against a positive baseline, or
a positive time against a zero baseline, is infinitely severe; zero against zero is 1). The
bottleneck is the candidate with the highest severity, provided it is above 1 (worse than its
baseline); otherwise there is none (``None``). Ties go to the first candidate in the order of
the table above, then in the family's own order (funnel order).

The result: ``{"process", "transition", "metric", "value", "baseline", "basis" ("history" or
"peers"), "periods" (earlier snapshots averaged; 0 for peers), "n" (cohort or measured count),
"ratio" (value / baseline, 4 places; null for a zero baseline), "trend" (the figure in the
earlier snapshots used, oldest first, null where unmeasured, then the current value; just the
current value for peers), "text"}``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Earlier snapshots averaged for a history baseline.
HISTORY_PERIODS = 6

CONVERSION = "conversion"
MEDIAN_DAYS = "median_days"
MEDIAN_MINUTES = "median_minutes"

_PERIOD_WORDS = {
    "day": ("on this day", "day", "days"),
    "week": ("this week", "week", "weeks"),
    "month": ("this month", "month", "months"),
    "custom": ("in this period", "period", "periods"),
}

_PEER_NOUNS = {
    ("journey", "conversions"): "the other journey transitions",
    ("journey", "times"): "the other journey transitions",
    ("pipeline", "transitions"): "the other pipeline transitions",
    ("pipeline", "days_in_stage"): "the other pipeline stages",
}


@dataclass(frozen=True)
class _Candidate:
    process: str
    source: str  # the family key it comes from: its peers share it
    transition: str
    metric: str
    value: float
    n: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.process, self.metric, self.transition)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _arrow(item: dict) -> str:
    return f"{item.get('from')} → {item.get('to')}"


def _candidates(values: dict) -> Iterator[_Candidate]:
    """Every measured transition of `values`, in the documented order."""
    journey = values.get("journey") or {}
    pipeline = values.get("pipeline") or {}
    inquiries = values.get("inquiries") or {}
    lists = [
        ("journey", "conversions", journey.get("conversions"), CONVERSION, "rate", "cohort"),
        ("journey", "times", journey.get("times"), MEDIAN_DAYS, "median_days", "n"),
        ("pipeline", "transitions", pipeline.get("transitions"), CONVERSION, "rate", "cohort"),
        (
            "pipeline",
            "days_in_stage",
            pipeline.get("days_in_stage"),
            MEDIAN_DAYS,
            "median_days",
            "n",
        ),
    ]
    for process, source, items, metric, figure, count in lists:
        for item in items or []:
            if not isinstance(item, dict):
                continue
            value, n = _number(item.get(figure)), item.get(count) or 0
            if value is None or n <= 0:
                continue
            transition = item.get("stage") if source == "days_in_stage" else _arrow(item)
            yield _Candidate(process, source, str(transition), metric, value, n)
    for source, transition in (
        ("first_response_minutes", "first response"),
        ("resolution_minutes", "resolution"),
    ):
        figures = inquiries.get(source) or {}
        value, n = _number(figures.get("median")), figures.get("n") or 0
        if value is not None and n > 0:
            yield _Candidate("inquiries", source, transition, MEDIAN_MINUTES, value, n)


def _round(metric: str, value: float) -> float:
    return round(value, 4 if metric == CONVERSION else 2)


def _severity(metric: str, value: float, baseline: float) -> float:
    worse, better = (baseline, value) if metric == CONVERSION else (value, baseline)
    if better == 0:
        return 1.0 if worse == 0 else math.inf
    return round(worse / better, 6)


def _figure(metric: str, value: float) -> str:
    if metric == CONVERSION:
        return f"{_plain(value * 100, 1)}%"
    unit = "day" if metric == MEDIAN_DAYS else "minute"
    text = _plain(value, 2)
    return f"{text} {unit}" if text == "1" else f"{text} {unit}s"


def _plain(value: float, places: int) -> str:
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def _sentence(
    candidate: _Candidate, baseline: float, basis: str, periods: int, period_kind: str
) -> str:
    this, unit, units = _PERIOD_WORDS.get(period_kind, _PERIOD_WORDS["custom"])
    value, against = _figure(candidate.metric, candidate.value), _figure(candidate.metric, baseline)
    if basis == "history":
        over = (
            f"over the previous {unit}" if periods == 1 else f"over the previous {periods} {units}"
        )
    else:
        over = f"on average for {_PEER_NOUNS[(candidate.process, candidate.source)]}"
    if candidate.source == "days_in_stage":
        subject = f"Deals spend a median {value} in {candidate.transition}"
    elif candidate.metric == CONVERSION:
        label = candidate.transition[:1].upper() + candidate.transition[1:]
        subject = f"{label} converts {value}"
    else:
        label = candidate.transition[:1].upper() + candidate.transition[1:]
        subject = f"{label} takes a median {value}"
    return f"{subject} {this} against {against} {over}."


def find(values: dict, history: list[dict], *, period_kind: str = "month") -> dict | None:
    """The bottleneck of `values` (one snapshot's families) against `history` (the values of
    the scope's earlier snapshots of the same period kind, oldest first), or None; see the
    module docstring for the definition. `period_kind` only words the sentence."""
    current = list(_candidates(values))
    earlier = [{c.key: c.value for c in _candidates(old)} for old in history[-HISTORY_PERIODS:]]
    best: tuple[float, dict] | None = None
    for candidate in current:
        measured = [old[candidate.key] for old in earlier if candidate.key in old]
        if measured:
            basis, periods = "history", len(measured)
            baseline = _round(candidate.metric, sum(measured) / len(measured))
            trend = [old.get(candidate.key) for old in earlier] + [candidate.value]
        else:
            peers = [
                other.value
                for other in current
                if other.source == candidate.source
                and other.process == candidate.process
                and other is not candidate
            ]
            if not peers:
                continue
            basis, periods = "peers", 0
            baseline = _round(candidate.metric, sum(peers) / len(peers))
            trend = [candidate.value]
        severity = _severity(candidate.metric, candidate.value, baseline)
        if severity <= 1 or (best is not None and severity <= best[0]):
            continue
        best = (
            severity,
            {
                "process": candidate.process,
                "transition": candidate.transition,
                "metric": candidate.metric,
                "value": candidate.value,
                "baseline": baseline,
                "basis": basis,
                "periods": periods,
                "n": candidate.n,
                "ratio": round(candidate.value / baseline, 4) if baseline else None,
                "trend": trend,
                "text": _sentence(candidate, baseline, basis, periods, period_kind),
            },
        )
    return best[1] if best is not None else None
