"""Portable SQL for the KPI families: the same text (or a vendor twin giving the same numbers) on
SQLite and PostgreSQL, so a figure computed on either database is identical.

SQL builders (return SQL text; embed it in a query run with :func:`fetch`):

* :func:`percentiles` — ``n`` and ``p<k>`` per group over a values query, interpolated exactly
  like PostgreSQL's ``percentile_cont`` (median = ``p50``). Written with ``ROW_NUMBER()`` and
  ``COUNT()`` windows because SQLite has no ``percentile_cont``; PostgreSQL runs the same text.
* :func:`milliseconds_between` — whole milliseconds from one timestamp to another (an integer,
  so percentiles over it agree to the bit).
* :func:`cents` — a decimal column as integer cents (exact sums on SQLite, which stores
  decimals as floats).
* :func:`contact_scope` — a condition keeping the contacts of a :class:`Scope`, and
  :func:`first_touches` — each contact's first touchpoint (or first campaign touchpoint).

Python helpers that finish the few aggregated rows the queries return: :func:`fetch`,
:func:`db_datetime`, :func:`rate`, :func:`days`, :func:`minutes`, :func:`money`.

Placeholders are ``%s`` (Django's cursor style). No builder emits a literal ``%``, so their SQL
can be embedded in a query with parameters. Names interpolated into SQL come from the models
and from this code, never from input: values always go through parameters.
"""

# ruff: noqa: S608 - table and column names come from the models and this code; values are parameters

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import NotSupportedError, connection

from accounts.models import Contact, Team, Touchpoint
from frontoffice.kpis.periods import Scope
from frontoffice.models import ScopeKind
from pipeline.models import LeadScore

MS_PER_DAY = 86_400_000
MS_PER_MINUTE = 60_000


def fetch(sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run `sql` and return its rows as dicts (column name → value)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def db_datetime(value: datetime) -> Any:
    """An aware datetime as a query parameter comparable with the stored timestamps (SQLite
    keeps naive UTC text, PostgreSQL a timestamptz)."""
    return connection.ops.adapt_datetimefield_value(value)


def milliseconds_between(later: str, earlier: str) -> str:
    """SQL for the whole milliseconds from timestamp `earlier` to `later` (an integer; negative
    when `later` is earlier). Both arguments are SQL expressions."""
    if connection.vendor == "sqlite":
        return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400000.0) AS INTEGER)"
    if connection.vendor == "postgresql":
        return f"CAST(ROUND(EXTRACT(EPOCH FROM ({later}) - ({earlier})) * 1000) AS BIGINT)"
    raise NotSupportedError(f"milliseconds_between is not implemented for {connection.vendor}.")


def cents(column: str) -> str:
    """SQL for a decimal (2 places) expression as integer cents: sum these, not the decimals."""
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


def percentiles(
    values: str, *, keys: Sequence[str] = (), percents: Sequence[int] = (50, 90)
) -> str:
    """SQL giving, per group of `keys`, ``n`` and one column ``p<k>`` per percent `k`.

    `values` is a query selecting the `keys` columns and a numeric ``value`` column (NULL values
    are left out). For sorted values x[0..n-1] the k-th percentile is x[lo] + f * (x[lo+1] -
    x[lo]) with lo + f = (n - 1) * k / 100, as ``percentile_cont(k / 100.0)`` computes it; one
    value is its own percentile. `percents` are integers from 0 to 100 so the position is exact
    integer arithmetic; the interpolation is in double precision on both databases. Groups with
    no values give no row (without `keys`: one row with n and the percentiles NULL).
    """
    for percent in percents:
        if not isinstance(percent, int) or not 0 <= percent <= 100:
            raise ValueError(f"A percent is an integer from 0 to 100, not {percent!r}.")
    key_list = "".join(f"{key}, " for key in keys)
    window = f"PARTITION BY {', '.join(keys)}" if keys else ""
    columns = []
    for percent in percents:
        position = f"((n - 1) * {percent})"
        lower = f"({position} / 100)"
        fraction = f"(CAST({position} - {lower} * 100 AS DOUBLE PRECISION) / 100.0)"
        columns.append(
            f"SUM(CASE WHEN i = {lower} THEN value * (1.0 - {fraction}) "
            f"WHEN i = {lower} + 1 THEN value * {fraction} ELSE 0.0 END) AS p{percent}"
        )
    group_by = f" GROUP BY {', '.join(keys)}" if keys else ""
    return (
        f"SELECT {key_list}MAX(n) AS n, {', '.join(columns)} FROM ("
        f"SELECT {key_list}CAST(value AS DOUBLE PRECISION) AS value, "
        f"ROW_NUMBER() OVER ({window} ORDER BY value) - 1 AS i, "
        f"COUNT(*) OVER ({window}) AS n "
        f"FROM ({values}) percentile_values WHERE value IS NOT NULL"
        f") percentile_ranked{group_by}"
    )


def first_touches(*, campaign_only: bool, before_param: str = "%s") -> str:
    """SQL selecting ``contact_id, campaign_id, channel, occurred_at`` of each contact's first
    touchpoint before `before_param` (earliest ``occurred_at``, then lowest id). With
    `campaign_only`, its first *campaign touch*: the first touchpoint that has a campaign and is
    not an order (first-touch attribution; an order carries its deal's campaign but is the
    outcome, not a touch). Takes one parameter: the exclusive end."""
    table = Touchpoint._meta.db_table
    campaign = " AND campaign_id IS NOT NULL AND kind <> 'order'" if campaign_only else ""
    return (
        "SELECT contact_id, campaign_id, channel, occurred_at FROM ("
        "SELECT contact_id, campaign_id, channel, occurred_at, ROW_NUMBER() OVER "
        "(PARTITION BY contact_id ORDER BY occurred_at, id) AS touch_rank "
        f"FROM {table} WHERE contact_id IS NOT NULL AND occurred_at < {before_param}{campaign}"
        ") ranked_touches WHERE touch_rank = 1"
    )


def contact_scope(scope: Scope, column: str, *, end: datetime) -> tuple[str, list[Any]]:
    """A SQL condition (and its parameters) true when the contact id in `column` is in `scope`.

    * all: every contact (``1 = 1``);
    * team: contacts owned by a member of the team; rep: contacts owned by the rep;
    * campaign: contacts whose first campaign touch before `end` is from the campaign
      (first-touch attribution, see :func:`first_touches`);
    * channel: contacts whose first touchpoint before `end` came by the channel;
    * segment: contacts whose current ``LeadScore.segment`` is the key (hot / nurture).
    """
    contacts = Contact._meta.db_table
    if scope.kind == ScopeKind.ALL:
        return "1 = 1", []
    if scope.kind == ScopeKind.REP:
        return f"{column} IN (SELECT id FROM {contacts} WHERE owner_id = %s)", [scope.id]
    if scope.kind == ScopeKind.TEAM:
        members = Team.members.through._meta.db_table
        return (
            f"{column} IN (SELECT scoped.id FROM {contacts} scoped JOIN {members} membership "
            "ON membership.user_id = scoped.owner_id WHERE membership.team_id = %s)",
            [scope.id],
        )
    if scope.kind == ScopeKind.CAMPAIGN:
        first = first_touches(campaign_only=True)
        return (
            f"{column} IN (SELECT contact_id FROM ({first}) scoped WHERE campaign_id = %s)",
            [db_datetime(end), scope.id],
        )
    if scope.kind == ScopeKind.CHANNEL:
        first = first_touches(campaign_only=False)
        return (
            f"{column} IN (SELECT contact_id FROM ({first}) scoped WHERE channel = %s)",
            [db_datetime(end), scope.key],
        )
    if scope.kind == ScopeKind.SEGMENT:
        scores = LeadScore._meta.db_table
        return f"{column} IN (SELECT contact_id FROM {scores} WHERE segment = %s)", [scope.key]
    raise ValueError(f"Unknown scope kind {scope.kind!r}.")


def rate(part: int | float | None, whole: int | float | None) -> float | None:
    """part / whole rounded to 4 places; None when there is nothing to divide by."""
    if not whole or part is None:
        return None
    return round(part / whole, 4)


def days(milliseconds: float | None) -> float | None:
    """Milliseconds as days rounded to 2 places (None stays None)."""
    return None if milliseconds is None else round(milliseconds / MS_PER_DAY, 2)


def minutes(milliseconds: float | None) -> float | None:
    """Milliseconds as minutes rounded to 2 places (None stays None)."""
    return None if milliseconds is None else round(milliseconds / MS_PER_MINUTE, 2)


def money(amount_cents: int | None) -> str | None:
    """Integer cents as a decimal string with 2 places ("1234.50"); None stays None."""
    if amount_cents is None:
        return None
    return str((Decimal(int(amount_cents)) / 100).quantize(Decimal("0.01")))
