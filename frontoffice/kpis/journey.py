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
  ``converted`` = those who reached ``to`` at or after that entry and before the period's end;
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
    return {
        "stages": stages(period, scope),
        "conversions": conversions(period, scope),
        "times": times(period, scope),
        "campaigns": campaigns(period, scope),
    }


def _funnel_rank(column: str) -> str:
    whens = " ".join(f"WHEN '{stage}' THEN {rank}" for rank, stage in enumerate(FUNNEL, 1))
    return f"CASE {column} {whens} ELSE 0 END"


def _moves(period: Period, scope: Scope) -> tuple[str, list]:
    """The scope's transitions before the period's end, with their funnel rank."""
    condition, params = contact_scope(scope, "contact_id", end=period.end_at)
    sql = (
        f"SELECT id, contact_id, to_stage, created_at, {_funnel_rank('to_stage')} AS stage_rank "
        f"FROM {TRANSITIONS} WHERE created_at < %s AND {condition}"
    )
    return sql, [db_datetime(period.end_at), *params]


def stages(period: Period, scope: Scope) -> list[dict]:
    moves, params = _moves(period, scope)
    rows = fetch(
        f"WITH moves AS ({moves}) "
        "SELECT stage, SUM(at_end) AS contacts, SUM(entered) AS entered FROM ("
        "SELECT to_stage AS stage, 1 AS at_end, 0 AS entered FROM ("
        "SELECT to_stage, ROW_NUMBER() OVER "
        "(PARTITION BY contact_id ORDER BY created_at DESC, id DESC) AS latest FROM moves"
        ") last_moves WHERE latest = 1 "
        "UNION ALL "
        "SELECT to_stage, 0, COUNT(DISTINCT contact_id) FROM moves WHERE created_at >= %s "
        "GROUP BY to_stage"
        ") counted GROUP BY stage",
        [*params, db_datetime(period.start_at)],
    )
    by_stage = {row["stage"]: row for row in rows}
    return [
        {
            "stage": stage,
            "contacts": int(by_stage.get(stage, {}).get("contacts") or 0),
            "entered": int(by_stage.get(stage, {}).get("entered") or 0),
        }
        for stage in JOURNEY_STAGE_VALUES
    ]


def _pairs_values() -> str:
    return ", ".join(
        f"({index}, '{source}', {FUNNEL.index(target) + 1})"
        for index, (source, target) in enumerate(PAIRS)
    )


def conversions(period: Period, scope: Scope) -> list[dict]:
    moves, params = _moves(period, scope)
    elapsed = milliseconds_between("reached_at", "entered_at")
    within = ", ".join(
        f"SUM(CASE WHEN reached_at IS NOT NULL AND {elapsed} <= {limit * MS_PER_DAY} "
        f"THEN 1 ELSE 0 END) AS within_{limit}"
        for limit in WITHIN_DAYS
    )
    rows = fetch(
        f"WITH moves AS ({moves}), "
        f"pairs (pair_index, from_stage, to_rank) AS (VALUES {_pairs_values()}), "
        "entries AS (SELECT contact_id, to_stage AS stage, MIN(created_at) AS entered_at "
        "FROM moves WHERE created_at >= %s GROUP BY contact_id, to_stage), "
        "reached AS (SELECT pairs.pair_index, entries.contact_id, entries.entered_at, "
        "MIN(later.created_at) AS reached_at FROM pairs "
        "JOIN entries ON entries.stage = pairs.from_stage "
        "LEFT JOIN moves later ON later.contact_id = entries.contact_id "
        "AND later.stage_rank >= pairs.to_rank AND later.created_at >= entries.entered_at "
        "GROUP BY pairs.pair_index, entries.contact_id, entries.entered_at) "
        f"SELECT pair_index, COUNT(*) AS cohort, COUNT(reached_at) AS converted, {within} "
        "FROM reached GROUP BY pair_index",
        [*params, db_datetime(period.start_at)],
    )
    by_pair = {row["pair_index"]: row for row in rows}
    result = []
    for index, (source, target) in enumerate(PAIRS):
        row = by_pair.get(index, {})
        cohort = int(row.get("cohort") or 0)
        converted = int(row.get("converted") or 0)
        within = {}
        for limit in WITHIN_DAYS:
            count = int(row.get(f"within_{limit}") or 0)
            within[str(limit)] = {"converted": count, "rate": rate(count, cohort)}
        result.append(
            {
                "from": source,
                "to": target,
                "cohort": cohort,
                "converted": converted,
                "rate": rate(converted, cohort),
                "within": within,
            }
        )
    return result


def times(period: Period, scope: Scope) -> list[dict]:
    moves, params = _moves(period, scope)
    sources = sorted({source for source, _target in PAIRS}, key=FUNNEL.index)
    targets = sorted({target for _source, target in PAIRS}, key=FUNNEL.index)
    firsts = ", ".join(
        [
            *(
                f"MIN(CASE WHEN to_stage = '{stage}' THEN created_at END) AS entered_{stage}"
                for stage in sources
            ),
            *(
                f"MIN(CASE WHEN stage_rank >= {FUNNEL.index(stage) + 1} THEN created_at END) "
                f"AS reached_{stage}"
                for stage in targets
            ),
        ]
    )
    spans = " UNION ALL ".join(
        f"SELECT {index} AS pair_index, "
        f"{milliseconds_between(f'reached_{target}', f'entered_{source}')} AS value "
        f"FROM firsts WHERE reached_{target} >= %s AND entered_{source} <= reached_{target}"
        for index, (source, target) in enumerate(PAIRS)
    )
    start = db_datetime(period.start_at)
    rows = fetch(
        f"WITH moves AS ({moves}), "
        f"firsts AS (SELECT contact_id, {firsts} FROM moves GROUP BY contact_id), "
        f"spans AS ({spans}) "
        + percentiles("SELECT pair_index, value FROM spans", keys=["pair_index"]),
        [*params, *([start] * len(PAIRS))],
    )
    by_pair = {row["pair_index"]: row for row in rows}
    result = []
    for index, (source, target) in enumerate(PAIRS):
        row = by_pair.get(index, {})
        result.append(
            {
                "from": source,
                "to": target,
                "n": int(row.get("n") or 0),
                "median_days": days(row.get("p50")),
                "p90_days": days(row.get("p90")),
            }
        )
    return result


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
