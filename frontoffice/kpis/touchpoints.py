"""KPI family ``touchpoints``: which interactions come before an order, for those who ordered
versus those who did not, and whether more touches go with bigger orders (shape in engine.py).

Read from ``Touchpoint`` only (orders are touchpoints of kind ``order``: every won deal and
every seeded or imported order puts one on the timeline). The period is [start, end).

* ``won_customers``: contacts whose *first* order (earliest order touchpoint) falls in the
  period. ``others``: contacts with a touchpoint in the period and no order before the period's
  end.
* ``before_order``, one entry per touchpoint kind (every kind but ``order``, in the order of
  ``TouchpointKind``): ``won_avg`` = touchpoints of the kind a won customer had before the first
  order, on average over the won customers; ``won_share`` = the share of them with at least one.
  ``others_avg`` / ``others_share`` the same for the others, counting their touchpoints before
  the period's end. Averages and shares are rounded to 4 places; null for an empty group.
* ``amount_correlation``: one point per account that ordered in the period: x = its touchpoints
  in the period other than orders, y = the sum of its order amounts in the period; ``pearson_r``
  over the accounts (null with fewer than two accounts or when x or y does not vary). Amounts are
  not converted, so only orders in one ``currency`` count: the one most accounts ordered in
  (ties: the first alphabetically; null when nothing was ordered). ``accounts`` = the points.

Scopes: team, rep, campaign and segment keep the contacts of the scope (as the journey family
defines them: frontoffice.kpis.sql.contact_scope), for the correlation the touchpoints and orders
of those contacts; channel counts only touchpoints of that channel (the people's "active in the
period" included) while orders of any channel still decide who ordered and the amounts.
"""

# ruff: noqa: S608 - table and column names come from the models and this code; values are parameters

from __future__ import annotations

import math

from accounts.models import Touchpoint, TouchpointKind
from frontoffice.kpis.periods import Period, Scope
from frontoffice.kpis.sql import cents, contact_scope, db_datetime, fetch, rate
from frontoffice.models import ScopeKind

TOUCHPOINTS = Touchpoint._meta.db_table
KINDS = [kind for kind in TouchpointKind.values if kind != TouchpointKind.ORDER]


def compute(period: Period, scope: Scope) -> dict:
    return {**before_order(period, scope), "amount_correlation": amount_correlation(period, scope)}


def _scope(period: Period, scope: Scope, column: str, touch: str) -> tuple[str, list, str, list]:
    """(condition on the contact column, params, condition on the touchpoint alias, params)."""
    if scope.kind == ScopeKind.CHANNEL:
        return "1 = 1", [], f"{touch}.channel = %s", [scope.key]
    condition, params = contact_scope(scope, column, end=period.end_at)
    return condition, params, "1 = 1", []


def before_order(period: Period, scope: Scope) -> dict:
    start, end = db_datetime(period.start_at), db_datetime(period.end_at)
    won_scope, won_params, _touch, _touch_params = _scope(period, scope, "firsts.contact_id", "")
    others_scope, others_params, active_touch, active_params = _scope(
        period, scope, "active.contact_id", "active_touches"
    )
    _contacts, _params, counted_touch, counted_params = _scope(period, scope, "", "touches")
    rows = fetch(
        "WITH first_orders AS (SELECT contact_id, MIN(occurred_at) AS ordered_at "
        f"FROM {TOUCHPOINTS} WHERE kind = 'order' AND contact_id IS NOT NULL "
        "AND occurred_at < %s GROUP BY contact_id), "
        "active AS (SELECT DISTINCT active_touches.contact_id "
        f"FROM {TOUCHPOINTS} active_touches WHERE active_touches.contact_id IS NOT NULL "
        "AND active_touches.occurred_at >= %s AND active_touches.occurred_at < %s "
        f"AND {active_touch}), "
        "people AS ("
        "SELECT firsts.contact_id, 1 AS won, firsts.ordered_at AS until_at "
        f"FROM first_orders firsts WHERE firsts.ordered_at >= %s AND {won_scope} "
        "UNION ALL "
        "SELECT active.contact_id, 0, %s FROM active LEFT JOIN first_orders ordered "
        f"ON ordered.contact_id = active.contact_id WHERE ordered.contact_id IS NULL "
        f"AND {others_scope}), "
        "counts AS (SELECT people.contact_id, people.won, touches.kind, COUNT(*) AS touches "
        f"FROM people JOIN {TOUCHPOINTS} touches ON touches.contact_id = people.contact_id "
        "AND touches.occurred_at < people.until_at AND touches.kind <> 'order' "
        f"AND {counted_touch} GROUP BY people.contact_id, people.won, touches.kind) "
        "SELECT won, kind, SUM(touches) AS touches, COUNT(*) AS people FROM counts "
        "GROUP BY won, kind "
        "UNION ALL "
        "SELECT won, '' AS kind, 0 AS touches, COUNT(*) AS people FROM people GROUP BY won",
        [
            end,
            start,
            end,
            *active_params,
            start,
            *won_params,
            end,
            *others_params,
            *counted_params,
        ],
    )
    sizes = {int(row["won"]): int(row["people"]) for row in rows if row["kind"] == ""}
    counts = {(int(row["won"]), row["kind"]): row for row in rows if row["kind"] != ""}
    won, others = sizes.get(1, 0), sizes.get(0, 0)

    def figures(group: int, size: int, kind: str) -> tuple[float | None, float | None]:
        row = counts.get((group, kind), {})
        return rate(int(row.get("touches") or 0), size), rate(int(row.get("people") or 0), size)

    kinds = []
    for kind in KINDS:
        won_avg, won_share = figures(1, won, kind)
        others_avg, others_share = figures(0, others, kind)
        kinds.append(
            {
                "kind": kind,
                "won_avg": won_avg,
                "others_avg": others_avg,
                "won_share": won_share,
                "others_share": others_share,
            }
        )
    return {"won_customers": won, "others": others, "before_order": kinds}


def amount_correlation(period: Period, scope: Scope) -> dict:
    start, end = db_datetime(period.start_at), db_datetime(period.end_at)
    orders_scope, orders_params, _touch, _touch_params = _scope(
        period, scope, "orders.contact_id", "orders"
    )
    touches_scope, touches_params, touch_filter, touch_params = _scope(
        period, scope, "touches.contact_id", "touches"
    )
    rows = fetch(
        "WITH orders AS (SELECT orders.account_id, orders.currency, "
        f"SUM({cents('orders.amount')}) AS amount_cents FROM {TOUCHPOINTS} orders "
        "WHERE orders.kind = 'order' AND orders.account_id IS NOT NULL "
        "AND orders.amount IS NOT NULL AND orders.occurred_at >= %s AND orders.occurred_at < %s "
        f"AND {orders_scope} GROUP BY orders.account_id, orders.currency), "
        "touched AS (SELECT touches.account_id, COUNT(*) AS touches "
        f"FROM {TOUCHPOINTS} touches WHERE touches.kind <> 'order' "
        "AND touches.account_id IS NOT NULL "
        "AND touches.occurred_at >= %s AND touches.occurred_at < %s "
        f"AND {touches_scope} AND {touch_filter} GROUP BY touches.account_id), "
        "points AS (SELECT orders.currency, "
        "CAST(COALESCE(touched.touches, 0) AS DOUBLE PRECISION) AS x, "
        "CAST(orders.amount_cents AS DOUBLE PRECISION) / 100.0 AS y "
        "FROM orders LEFT JOIN touched ON touched.account_id = orders.account_id), "
        "means AS (SELECT currency, AVG(x) AS mean_x, AVG(y) AS mean_y FROM points "
        "GROUP BY currency) "
        "SELECT points.currency, COUNT(*) AS accounts, "
        "SUM((x - mean_x) * (y - mean_y)) AS sxy, SUM((x - mean_x) * (x - mean_x)) AS sxx, "
        "SUM((y - mean_y) * (y - mean_y)) AS syy "
        "FROM points JOIN means ON means.currency = points.currency GROUP BY points.currency",
        [start, end, *orders_params, start, end, *touches_params, *touch_params],
    )
    if not rows:
        return {"currency": None, "accounts": 0, "pearson_r": None}
    row = min(rows, key=lambda row: (-int(row["accounts"]), row["currency"]))
    accounts = int(row["accounts"])
    sxx, syy, sxy = float(row["sxx"] or 0), float(row["syy"] or 0), float(row["sxy"] or 0)
    pearson = None
    if accounts >= 2 and sxx > 0 and syy > 0:
        pearson = round(sxy / math.sqrt(sxx * syy), 4)
    return {"currency": row["currency"], "accounts": accounts, "pearson_r": pearson}
