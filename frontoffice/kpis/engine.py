"""Every KPI family for a period and a scope, as one JSON-ready dict (a snapshot's values).

Each family is a module with ``compute(period: Period, scope: Scope) -> dict``: set-based
queries (aggregates, window functions) over the history tables, the same numbers on SQLite and
PostgreSQL. Shapes (decimals as strings, rates as floats rounded to 4 places, days and minutes
rounded to 2; a figure with nothing to measure is null, never a division by zero):

journey (accounts: JourneyTransition, Touchpoint incl. orders; pipeline: Campaign)
    {"stages": [{"stage", "contacts" (at the stage at the period's end), "entered" (in it)}],
     "conversions": [{"from", "to", "cohort" (entered `from` in the period), "converted"
                      (reached `to` later, by the period's end), "rate",
                      "within": {"30": {"converted", "rate"}, "90": {...}}}],
     "times": [{"from", "to", "n", "median_days", "p90_days"}],
     "campaigns": [{"campaign", "name", "currency", "cost", "leads", "customers",
                    "cost_per_lead", "cost_per_customer", "won_first_touch", "won_last_touch",
                    "romi_first_touch", "romi_last_touch"}]}
touchpoints (accounts: Touchpoint before the first order)
    {"won_customers", "others",
     "before_order": [{"kind", "won_avg", "others_avg", "won_share", "others_share"}],
     "amount_correlation": {"currency" (the one currency whose orders are correlated),
                            "accounts", "pearson_r"}}
pipeline (pipeline: Deal, DealStageChange, Activity)
    {"stages": [{"stage", "deals", "amounts": {currency: decimal}}]  (at the period's end),
     "transitions": [{"from", "to", "cohort", "converted", "rate"}],
     "won", "lost", "win_rate", "won_amounts": {currency: decimal},
     "average_deal_size": {currency: decimal}, "sales_cycle_days": {"n", "median", "p90"},
     "days_in_stage": [{"stage", "n", "median_days", "p90_days"}],
     "sales_velocity": {currency: decimal per day}, "stalled",
     "reps": [{"rep", "name", "activities", "minutes", "deals_advanced", "deals_won",
               "won_amounts": {currency: decimal}}]}
inquiries (inquiries: Inquiry, InquiryStatusChange, Escalation, SlaBreach; accounts orders)
    {"volume": {"total", "by_channel": {channel: n}, "by_category": {category: n}},
     "first_response_minutes": {"n", "median", "p90"}, "resolution_minutes": {...},
     "escalations": {"escalated", "rate", "by_kind": {kind: {"count", "rate"}}},
     "sla": {"first_response": {"measured", "met", "rate"}, "resolution": {...}},
     "after_order": {"customers", "inquiries", "per_customer"}}
bottleneck (from the other families and the scope's earlier snapshots)
    {"process", "transition", "metric", "value", "baseline", "ratio", "trend": [...], "text",
     "basis" (history or peers), "periods" (how many earlier snapshots), "n"}  (or null)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import connection, transaction

from frontoffice.kpis import inquiries, journey, pipeline, touchpoints
from frontoffice.kpis.periods import Period, Scope

# Bump when a definition changes: snapshots record the version they were computed with.
DEFINITION_VERSION = 1

# PostgreSQL's JIT compiles each big KPI query for about a second and wins nothing back on these
# plans (bench/kpis.py measures both): off for the engine's queries only, in their transaction.
DISABLE_JIT = True

FAMILIES: dict[str, Callable[[Period, Scope], dict]] = {
    "journey": journey.compute,
    "touchpoints": touchpoints.compute,
    "pipeline": pipeline.compute,
    "inquiries": inquiries.compute,
}


def compute_families(
    period: Period, scope: Scope, *, on_family: Callable[[str, float], None] | None = None
) -> dict[str, dict]:
    """Every family's figures (not the bottleneck, which also needs the history)."""
    if not (DISABLE_JIT and connection.vendor == "postgresql"):
        return _compute(period, scope, on_family)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit')")
        previous = cursor.fetchone()[0]
        cursor.execute("SET LOCAL jit = off")
        values = _compute(period, scope, on_family)
        # Inside a caller's transaction SET LOCAL would outlive this block: give its value back
        # (after an error, rolling back the savepoint does).
        cursor.execute("SELECT set_config('jit', %s, true)", [previous])
        return values


def _compute(
    period: Period, scope: Scope, on_family: Callable[[str, float], None] | None
) -> dict[str, dict]:
    values = {}
    for name, compute in FAMILIES.items():
        started = time.perf_counter()
        values[name] = compute(period, scope)
        if on_family is not None:
            on_family(name, time.perf_counter() - started)
    return values
