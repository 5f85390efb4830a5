"""KPI family ``journey``: where contacts are in the customer journey, how they move on, how
long it takes, and what each campaign costs and earns (shape in engine.py).

Read from ``JourneyTransition`` (every stage move), ``Touchpoint`` (first touches and orders)
and ``Campaign``. The period is [start, end); "by the period's end" means before ``end``.

* **stages** — for each of the seven stages (funnel awareness → lead → prospect → customer →
  promoter, then the side stages dormant and lost): ``contacts`` whose latest transition before
  the end is into the stage (ties on the time: the highest id), and ``entered``: distinct
  contacts with a transition into the stage during the period.
* **conversions** (cohorts) for the pairs awareness→lead, lead→prospect, prospect→customer,
  customer→promoter, lead→customer and awareness→customer: ``cohort`` = contacts who entered
  ``from`` during the period (their first such entry in the period is the start);
  ``converted`` = those who reached ``to`` after that entry (in the history's order: time, then
  id) and before the period's end;
  ``within`` 30 / 90: reached ``to`` no more than 30 / 90 days after the entry. *Reaching* a
  funnel stage means a transition into it or into a later funnel stage (a contact moved
  straight from lead to customer has passed prospect); side stages reach nothing.
* **times** for the same pairs: from the contact's first entry into ``from`` to its first
  reach of ``to`` (as above), over the contacts whose first reach of ``to`` falls in the period
  and who had entered ``from`` at or before it. ``median_days`` is the 50th and ``p90_days`` the
  90th percentile, interpolated like ``percentile_cont`` (frontoffice.kpis.sql.percentiles).
* **campaigns** — first-touch attribution: a contact belongs to the campaign of its first
  campaign touch, i.e. its earliest touchpoint (then lowest id) before the period's end that has
  a campaign and is not an order. ``leads`` / ``customers``: attributed contacts who entered
  ``lead`` / ``customer`` during the period. ``cost`` is the campaign's whole cost
  (``Campaign.cost``, not prorated), ``cost_per_lead`` = cost ÷ leads, ``cost_per_customer`` =
  cost ÷ customers. The won amount is the sum of the amounts of *order touchpoints* in the period
  (every won deal and every seeded or imported order puts one on the contact's timeline), only
  orders of a contact, with an amount, in the campaign's currency (no conversion).
  ``won_first_touch``: orders whose contact's first campaign touch is the campaign and happened
  at or before the order; ``won_last_touch``: orders whose latest campaign touch at or before the
  order (ties: highest id) is the campaign. ROMI = (won amount - cost) ÷ cost (0 = broke even,
  null for a campaign without cost). Listed: campaigns with any attributed lead, customer or
  order in the period, and campaigns running in it (``starts_on`` before the end and
  ``ends_on`` empty or not before the start); by id.

Scopes (which contacts are counted, for every figure): all; team: contacts owned by a member
of the team; rep: contacts owned by the rep; campaign: contacts whose first campaign touch is
the campaign (and only that campaign is listed); channel: contacts whose first touchpoint came
by the channel; segment: contacts whose current lead score segment is hot / nurture.
"""

# ruff: noqa: S608 - table and column names come from the models and this code; values are parameters

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

from accounts.models import JOURNEY_STAGE_VALUES, JourneyTransition, Touchpoint
from frontoffice.kpis.periods import Period, Scope
from frontoffice.kpis.sql import (
    MS_PER_DAY,
    cents,
    contact_scope,
    days,
    db_datetime,
    fetch,
    first_touches,
    milliseconds_between,
    money,
    percentiles,
    rate,
)
from frontoffice.models import ScopeKind
from pipeline.models import Campaign

FUNNEL = ("awareness", "lead", "prospect", "customer", "promoter")
PAIRS = (
    ("awareness", "lead"),
    ("lead", "prospect"),
    ("prospect", "customer"),
    ("customer", "promoter"),
    ("lead", "customer"),
    ("awareness", "customer"),
)
WITHIN_DAYS = (30, 90)

TRANSITIONS = JourneyTransition._meta.db_table
TOUCHPOINTS = Touchpoint._meta.db_table
CAMPAIGNS = Campaign._meta.db_table


def compute(period: Period, scope: Scope) -> dict:
    return {**flow(period, scope), "campaigns": campaigns(period, scope)}


def stages(period: Period, scope: Scope) -> list[dict]:
    return flow(period, scope)["stages"]


def conversions(period: Period, scope: Scope) -> list[dict]:
    return flow(period, scope)["conversions"]


def times(period: Period, scope: Scope) -> list[dict]:
    return flow(period, scope)["times"]


def _funnel_rank(column: str) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for rank, stage in enumerate(FUNNEL, 1))
    return f"CASE {column} {whens} ELSE 0 END"


def _rank(stage: str) -> int:
    return FUNNEL.index(stage) + 1


SOURCES = sorted({source for source, _target in PAIRS}, key=FUNNEL.index)
TARGETS = sorted({target for _source, target in PAIRS}, key=FUNNEL.index)


def _per_contact() -> str:
    """SQL of one row per contact in ``moves`` with everything the three figures need.

    One sort of each contact's transitions, newest first (time, then id), serves all of it:
    ``is_latest`` marks the first row, and ``next_<rank>``, a running minimum down that order,
    is at each transition the first time the contact reached that funnel rank from this
    transition on (this one or a newer one). Along the history in time order it never
    decreases, so its minimum over the contact's entries into a stage during the period is its
    value at the first such entry: the conversion of that entry. (A running frame costs one
    step a row; a frame from the current row to the end would be recomputed for every row.)
    """
    reach = ", ".join(
        f"MIN(CASE WHEN stage_rank >= {_rank(target)} THEN created_at END) OVER from_last "
        f"AS next_{_rank(target)}"
        for target in TARGETS
    )
    in_period = "in_period = 1"
    columns = [
        "MAX(CASE WHEN is_latest = 1 THEN to_stage END) AS latest_stage",
        *(
            f"MIN(CASE WHEN to_stage = '{stage}' AND {in_period} THEN created_at END) "
            f"AS entry_{stage}"
            for stage in JOURNEY_STAGE_VALUES
        ),
        *(
            f"MIN(CASE WHEN to_stage = '{source}' AND {in_period} THEN next_{_rank(target)} END) "
            f"AS converted_{index}"
            for index, (source, target) in enumerate(PAIRS)
        ),
        *(
            f"MIN(CASE WHEN to_stage = '{stage}' THEN created_at END) AS first_{stage}"
            for stage in SOURCES
        ),
        *(
            f"MIN(CASE WHEN stage_rank >= {_rank(stage)} THEN created_at END) AS reached_{stage}"
            for stage in TARGETS
        ),
    ]
    return (
        f"SELECT contact_id, {', '.join(columns)} FROM ("
        "SELECT contact_id, to_stage, created_at, stage_rank, "
        "CASE WHEN created_at >= %s THEN 1 ELSE 0 END AS in_period, "
        "CASE WHEN ROW_NUMBER() OVER from_last = 1 THEN 1 ELSE 0 END AS is_latest, "
        f"{reach} FROM moves "
        "WINDOW from_last AS (PARTITION BY contact_id ORDER BY created_at DESC, id DESC "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
        ") marked GROUP BY contact_id"
    )


def _union(branches: list[dict[str, str]]) -> str:
    """UNION ALL of SELECTs that each fill some columns; the rest are typed NULLs (PostgreSQL
    types a bare NULL in the first branch as text)."""
    columns = list(dict.fromkeys(name for branch in branches for name in branch if name != "from"))

    def typed_null(name: str) -> str:
        kind = {"section": "VARCHAR(20)", "stage": "VARCHAR(20)"}.get(name)
        if kind is None:
            kind = "DOUBLE PRECISION" if name in ("p50", "p90") else "BIGINT"
        return f"CAST(NULL AS {kind})"

    return " UNION ALL ".join(
        "SELECT "
        + ", ".join(f"{branch.get(name) or typed_null(name)} AS {name}" for name in columns)
        + f" {branch['from']}"
        for branch in branches
    )


def flow(period: Period, scope: Scope) -> dict[str, list[dict]]:
    """``stages``, ``conversions`` and ``times`` (see the module) from one read of the scope's
    transitions: one statement, the per-contact summary computed once and counted three ways."""
    condition, params = contact_scope(scope, "contact_id", end=period.end_at)
    start = db_datetime(period.start_at)
    moves = (
        f"SELECT id, contact_id, to_stage, created_at, {_funnel_rank('to_stage')} AS stage_rank "
        f"FROM {TRANSITIONS} WHERE created_at < %s AND {condition}"
    )
    totals = {"from": "FROM per_contact", "section": "'totals'"}
    for stage in JOURNEY_STAGE_VALUES:
        totals[f"entered_{stage}"] = f"COUNT(entry_{stage})"
    for index, (source, _target) in enumerate(PAIRS):
        totals[f"cohort_{index}"] = f"COUNT(entry_{source})"
        totals[f"converted_{index}"] = f"COUNT(converted_{index})"
        elapsed = milliseconds_between(f"converted_{index}", f"entry_{source}")
        for limit in WITHIN_DAYS:
            totals[f"within_{limit}_{index}"] = (
                f"SUM(CASE WHEN converted_{index} IS NOT NULL "
                f"AND {elapsed} <= {limit * MS_PER_DAY} THEN 1 ELSE 0 END)"
            )
    spans = " UNION ALL ".join(
        f"SELECT {index} AS pair_index, "
        f"{milliseconds_between(f'reached_{target}', f'first_{source}')} AS value "
        f"FROM per_contact WHERE reached_{target} >= %s AND first_{source} <= reached_{target}"
        for index, (source, target) in enumerate(PAIRS)
    )
    branches = [
        {
            "from": "FROM per_contact GROUP BY latest_stage",
            "section": "'at_end'",
            "stage": "latest_stage",
            "contacts": "COUNT(*)",
        },
        totals,
        {
            "from": f"FROM ({percentiles(spans, keys=['pair_index'])}) spans",
            "section": "'times'",
            "pair_index": "pair_index",
            "n": "n",
            "p50": "p50",
            "p90": "p90",
        },
    ]
    rows = fetch(
        f"WITH moves AS ({moves}), per_contact AS ({_per_contact()}) " + _union(branches),
        [db_datetime(period.end_at), *params, start, *([start] * len(PAIRS))],
    )
    return _flow_figures(rows)


def _flow_figures(rows: list[dict]) -> dict[str, list[dict]]:
    at_end = {row["stage"]: int(row["contacts"]) for row in rows if row["section"] == "at_end"}
    totals = next(row for row in rows if row["section"] == "totals")
    spans = {row["pair_index"]: row for row in rows if row["section"] == "times"}

    def count(name: str) -> int:
        return int(totals[name] or 0)  # a SUM over no contacts is NULL

    conversions = []
    for index, (source, target) in enumerate(PAIRS):
        cohort, converted = count(f"cohort_{index}"), count(f"converted_{index}")
        within = {}
        for limit in WITHIN_DAYS:
            reached = count(f"within_{limit}_{index}")
            within[str(limit)] = {"converted": reached, "rate": rate(reached, cohort)}
        conversions.append(
            {
                "from": source,
                "to": target,
                "cohort": cohort,
                "converted": converted,
                "rate": rate(converted, cohort),
                "within": within,
            }
        )
    times = []
    for index, (source, target) in enumerate(PAIRS):
        span = spans.get(index, {})
        times.append(
            {
                "from": source,
                "to": target,
                "n": int(span.get("n") or 0),
                "median_days": days(span.get("p50")),
                "p90_days": days(span.get("p90")),
            }
        )
    return {
        "stages": [
            {
                "stage": stage,
                "contacts": at_end.get(stage, 0),
                "entered": count(f"entered_{stage}"),
            }
            for stage in JOURNEY_STAGE_VALUES
        ],
        "conversions": conversions,
        "times": times,
    }


def _campaign_touch(order: str, *, last: bool) -> str:
    """SQL for the campaign of the contact's first (or last) campaign touch at or before the
    order: through the contact/time index, one row per order."""
    direction = "DESC" if last else ""
    return (
        f"(SELECT touches.campaign_id FROM {TOUCHPOINTS} touches "
        f"WHERE touches.contact_id = {order}.contact_id AND touches.campaign_id IS NOT NULL "
        f"AND touches.kind <> 'order' AND touches.occurred_at <= {order}.occurred_at "
        f"ORDER BY touches.occurred_at {direction}, touches.id {direction} LIMIT 1)"
    )


def campaigns(period: Period, scope: Scope) -> list[dict]:
    start, end = db_datetime(period.start_at), db_datetime(period.end_at)
    attributed_scope, attributed_params = contact_scope(scope, "contact_id", end=period.end_at)
    orders_scope, orders_params = contact_scope(scope, "orders.contact_id", end=period.end_at)
    credit = "CASE WHEN orders.currency = credited.currency THEN orders.amount_cents ELSE 0 END"
    won = " UNION ALL ".join(
        f"SELECT orders.{touch}_campaign_id AS campaign_id, {first} AS first_cents, "
        f"{last} AS last_cents FROM orders "
        f"JOIN {CAMPAIGNS} credited ON credited.id = orders.{touch}_campaign_id"
        for touch, first, last in (("first", credit, "0"), ("last", "0", credit))
    )
    listed = ""
    listed_params: list = []
    if scope.kind == ScopeKind.CAMPAIGN:
        listed, listed_params = " AND campaigns.id = %s", [scope.id]
    operations = connection.ops
    rows = fetch(
        f"WITH attributed AS (SELECT contact_id, campaign_id "
        f"FROM ({first_touches(campaign_only=True)}) firsts WHERE {attributed_scope}), "
        "entered AS (SELECT attributed.campaign_id, "
        "COUNT(DISTINCT CASE WHEN moves.to_stage = 'lead' THEN moves.contact_id END) AS leads, "
        "COUNT(DISTINCT CASE WHEN moves.to_stage = 'customer' THEN moves.contact_id END) "
        f"AS customers FROM attributed JOIN {TRANSITIONS} moves "
        "ON moves.contact_id = attributed.contact_id "
        "WHERE moves.created_at >= %s AND moves.created_at < %s "
        "AND moves.to_stage IN ('lead', 'customer') GROUP BY attributed.campaign_id), "
        "orders AS (SELECT orders.currency, "
        f"{cents('orders.amount')} AS amount_cents, "
        f"{_campaign_touch('orders', last=False)} AS first_campaign_id, "
        f"{_campaign_touch('orders', last=True)} AS last_campaign_id "
        f"FROM {TOUCHPOINTS} orders WHERE orders.kind = 'order' "
        "AND orders.contact_id IS NOT NULL AND orders.amount IS NOT NULL "
        f"AND orders.occurred_at >= %s AND orders.occurred_at < %s AND {orders_scope}), "
        "won AS (SELECT campaign_id, SUM(first_cents) AS first_cents, "
        f"SUM(last_cents) AS last_cents FROM ({won}) credits GROUP BY campaign_id) "
        "SELECT campaigns.id, campaigns.name, campaigns.currency, "
        f"{cents('campaigns.cost')} AS cost_cents, "
        "COALESCE(entered.leads, 0) AS leads, COALESCE(entered.customers, 0) AS customers, "
        "COALESCE(won.first_cents, 0) AS first_cents, "
        "COALESCE(won.last_cents, 0) AS last_cents "
        f"FROM {CAMPAIGNS} campaigns "
        "LEFT JOIN entered ON entered.campaign_id = campaigns.id "
        "LEFT JOIN won ON won.campaign_id = campaigns.id "
        "WHERE (entered.campaign_id IS NOT NULL OR won.campaign_id IS NOT NULL "
        "OR (campaigns.starts_on IS NOT NULL AND campaigns.starts_on < %s "
        f"AND (campaigns.ends_on IS NULL OR campaigns.ends_on >= %s))){listed} "
        "ORDER BY campaigns.id",
        [
            end,
            *attributed_params,
            start,
            end,
            start,
            end,
            *orders_params,
            operations.adapt_datefield_value(period.end),
            operations.adapt_datefield_value(period.start),
            *listed_params,
        ],
    )
    return [_campaign(row) for row in rows]


def _per(cost_cents: int, count: int) -> str | None:
    if not count:
        return None
    per = (Decimal(cost_cents) / 100 / count).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return str(per)


def _romi(won_cents: int, cost_cents: int) -> float | None:
    return rate(won_cents - cost_cents, cost_cents)


def _campaign(row: dict) -> dict:
    cost, leads, customers = int(row["cost_cents"]), int(row["leads"]), int(row["customers"])
    first, last = int(row["first_cents"]), int(row["last_cents"])
    return {
        "campaign": row["id"],
        "name": row["name"],
        "currency": row["currency"],
        "cost": money(cost),
        "leads": leads,
        "customers": customers,
        "cost_per_lead": _per(cost, leads),
        "cost_per_customer": _per(cost, customers),
        "won_first_touch": money(first),
        "won_last_touch": money(last),
        "romi_first_touch": _romi(first, cost),
        "romi_last_touch": _romi(last, cost),
    }
