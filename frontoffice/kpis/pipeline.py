"""KPI family: pipeline (the customer story), from the deal stage history.

Every figure reads ``DealStageChange`` (and ``DealStall``, ``Activity``/``DailyReport``), never a
deal's current stage, so any past period can be recomputed. The period is [start, end): "at the
period's end" means strictly before ``end_at``; changes of one deal at the same instant are
ordered by id.

Figures
-------
stages
    Per stage (all six, in pipeline order): the deals whose latest change before the period's
    end moved them to it, and the sum of the amounts those changes recorded, per currency.
transitions
    list→proposal, proposal→opportunity, opportunity→quote, quote→won and list→won. Cohort: the
    deals that entered ``from`` in the period. Converted: those that reached ``to`` *or a later
    stage of the line* (list → proposal → opportunity → quote → won; lost is off it) at or after
    entering ``from``, before the period's end. Skipping stages is allowed, so a deal that jumped
    from list to opportunity has passed proposal. ``rate`` = converted ÷ cohort (null when the
    cohort is empty).
won, lost, win_rate, won_amounts, average_deal_size
    Deals closed in the period, each counted once by its last move to won or lost in the period
    (a deal won, reopened and lost in one period counts as lost). win_rate = won ÷ (won + lost).
    won_amounts: the won moves' amounts per currency; average_deal_size = won amount ÷ won deals
    per currency (rounded half up to the cent).
sales_cycle_days
    For the deals won in the period: days from the deal's first history row to that won move;
    n, median and p90.
days_in_stage
    Per open stage: the stays that ended in the period (a move out of the stage in the period),
    from the move into the stage (the deal's previous change) to the move out; n, median, p90.
sales_velocity
    Per currency with won deals in the period: open deals of that currency at the period's end
    * win_rate * average_deal_size ÷ median sales cycle days, i.e. the amount per day the open
    pipeline is expected to turn into orders. Computed from the unrounded figures; null when the
    median sales cycle is zero days.
stalled
    Deals with a ``DealStall`` open at the period's end (started before it, not ended before
    it). The stall history is used rather than ``Deal.is_stalled``, which is only "now".
reps
    Every owner or reporter with a figure: activities and their minutes logged in daily
    reports of days in the period; deals_advanced: deals they own (current owner) that made at
    least one forward move in the period (to a later stage of the line, won included); deals_won
    and won_amounts: deals they own won in the period (as ``won`` above). Ordered by name.

Percentiles interpolate linearly between the two closest ranks (PostgreSQL's
``percentile_cont``), computed with window functions; amounts are summed in the database as
integer hundredths, so SQLite and PostgreSQL give the same exact decimals.

Scopes
------
all: every deal. team: deals of the team or owned by one of its members; activities of its
members' reports. rep: deals the user owns; the user's reports. campaign: deals whose source
campaign it is. channel: deals whose contact's first touchpoint before the period's end came by
that touchpoint channel (``web``, ``email``, ``in_person``...; ``sql.contact_scope``); deals
without a contact are in no channel. segment: deals whose contact's current lead segment
(``LeadScore.segment``, which has no history) is ``hot`` or ``nurture``. For campaign, channel
and segment, activities are those logged on a deal of the scope.

Indexes used: ``deal_change_deal_idx`` (deal, created_at) for the latest/previous/first change
of a deal, ``deal_change_to_stage_idx`` (to_stage, created_at) for moves in the period,
``daily_report_day_idx`` and ``deal_stall_deal_idx``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable, RawSQL
from django.db.models.functions import Cast, Round

from accounts.models import Contact, Team
from frontoffice.kpis import sql
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import ScopeKind
from pipeline.models import Activity, Deal, DealStageChange, DealStall
from pipeline.models.deals import DEAL_STAGE_VALUES, OPEN_DEAL_STAGES

LINE = (*OPEN_DEAL_STAGES, "won")
TRANSITIONS = (
    ("list", "proposal"),
    ("proposal", "opportunity"),
    ("opportunity", "quote"),
    ("quote", "won"),
    ("list", "won"),
)
CLOSED = ("won", "lost")


# --- Shared with the inquiries family -----------------------------------------------------------


def cents(field: str) -> Combinable:
    """A decimal column as whole hundredths (as ``sql.cents``): sums of integers are exact on
    every database."""
    return Cast(Round(F(field) * 100), output_field=BigIntegerField())


def percentiles(
    queryset: QuerySet, *, later: str, earlier: str, key: str | None = None
) -> dict[Any, dict[str, Any]]:
    """Per `key` value (None: one group keyed None): ``{"n", "p50", "p90"}`` of the
    milliseconds from `earlier` to `later` (columns or annotations of `queryset`), with
    ``sql.percentiles`` (one query; rows where either is null are left out). The ORM query is
    wrapped, so an annotated subquery is evaluated once per row."""
    keys = [key] if key else []
    inner, params = queryset.order_by().values(*keys, later, earlier).query.sql_with_params()
    if connection.vendor == "postgresql":
        # OFFSET 0 keeps PostgreSQL from flattening the wrapped query, which would copy an
        # annotated subquery into every expression using it (evaluated up to 4 times a row).
        inner = f"{inner} OFFSET 0"
    quote = connection.ops.quote_name
    span = sql.milliseconds_between(f"kpi_span.{quote(later)}", f"kpi_span.{quote(earlier)}")
    columns = "".join(f"kpi_span.{quote(name)} AS {name}, " for name in keys)
    # Names come from the models and this code; values stay parameters.
    values = f"SELECT {columns}{span} AS value FROM ({inner}) kpi_span"  # noqa: S608
    rows = sql.fetch(sql.percentiles(values, keys=keys), params)
    return {row[key] if key else None: row for row in rows if row["n"]}


def spread(figures: dict[str, Any] | None, unit: Callable, suffix: str = "") -> dict:
    """``{"n", "median", "p90"}`` in days or minutes (nulls when nothing was measured)."""
    figures = figures or {"n": 0}
    return {
        "n": figures["n"],
        f"median{suffix}": unit(figures.get("p50")),
        f"p90{suffix}": unit(figures.get("p90")),
    }


def contacts_in(scope: Scope, *, end: datetime) -> RawSQL:
    """The ids of the contacts of `scope` (``sql.contact_scope``), for ``contact_id__in``."""
    contacts = Contact._meta.db_table
    condition, params = sql.contact_scope(scope, "scoped_contact.id", end=end)
    # Table names come from the models and values go through parameters.
    select = f"SELECT scoped_contact.id FROM {contacts} scoped_contact WHERE {condition}"  # noqa: S608
    return RawSQL(select, params)  # noqa: S611


# --- Scope ---------------------------------------------------------------------------------------


def scoped_deals(scope: Scope, *, end: datetime) -> QuerySet[Deal] | None:
    """The deals of `scope`, or None for everything (no filter at all)."""
    if scope.kind == ScopeKind.ALL:
        return None
    if scope.kind == ScopeKind.TEAM:
        members = Team.members.through.objects.filter(team_id=scope.id).values("user_id")
        return Deal.objects.filter(Q(team_id=scope.id) | Q(owner_id__in=members))
    if scope.kind == ScopeKind.REP:
        return Deal.objects.filter(owner_id=scope.id)
    if scope.kind == ScopeKind.CAMPAIGN:
        return Deal.objects.filter(campaign_id=scope.id)
    return Deal.objects.filter(contact_id__in=contacts_in(scope, end=end))


def _deal_filter(period: Period, scope: Scope) -> Q:
    deals = scoped_deals(scope, end=period.end_at)
    return Q() if deals is None else Q(deal_id__in=deals.values("pk"))


def _activity_filter(period: Period, scope: Scope) -> Q:
    if scope.kind == ScopeKind.TEAM:
        members = Team.members.through.objects.filter(team_id=scope.id).values("user_id")
        return Q(report__rep_id__in=members)
    if scope.kind == ScopeKind.REP:
        return Q(report__rep_id=scope.id)
    return _deal_filter(period, scope)


# --- Figures -------------------------------------------------------------------------------------


def _changes(period: Period, scope: Scope) -> QuerySet[DealStageChange]:
    return DealStageChange.objects.filter(_deal_filter(period, scope))


def _in_period(period: Period) -> Q:
    return Q(created_at__gte=period.start_at, created_at__lt=period.end_at)


def _later_change(period: Period, **conditions: Any) -> Exists:
    """A change of the outer change's deal after it (same instant: higher id), before the end."""
    return Exists(
        DealStageChange.objects.filter(
            deal_id=OuterRef("deal_id"), created_at__lt=period.end_at, **conditions
        ).filter(
            Q(created_at__gt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
        )
    )


def _stages_at_end(period: Period, scope: Scope) -> list[dict]:
    """(stage, currency) → deals and cents of each deal's latest change before the end."""
    return list(
        _changes(period, scope)
        .filter(created_at__lt=period.end_at)
        .filter(~_later_change(period))
        .values("to_stage", "deal__currency")
        .annotate(deals=Count("id"), cents=Sum(cents("amount")))
        .order_by()
    )


def _stages(rows: list[dict]) -> list[dict]:
    counts: dict[str, int] = defaultdict(int)
    amounts: dict[str, dict[str, int]] = defaultdict(dict)
    for row in rows:
        counts[row["to_stage"]] += row["deals"]
        amounts[row["to_stage"]][row["deal__currency"]] = row["cents"] or 0
    return [
        {
            "stage": stage,
            "deals": counts[stage],
            "amounts": {
                currency: sql.money(total) for currency, total in sorted(amounts[stage].items())
            },
        }
        for stage in DEAL_STAGE_VALUES
    ]


def _transitions(period: Period, scope: Scope) -> list[dict]:
    """One pass over the entries into a stage in the period, each with the furthest stage of
    the line its deal reached from then until the period's end."""
    rank = Case(
        *(When(to_stage=stage, then=Value(index)) for index, stage in enumerate(LINE)),
        output_field=IntegerField(),
    )
    furthest = Subquery(
        DealStageChange.objects.filter(
            deal_id=OuterRef("deal_id"),
            to_stage__in=LINE,
            created_at__gte=OuterRef("created_at"),
            created_at__lt=period.end_at,
        )
        .annotate(rank=rank)
        .order_by("-rank")
        .values("rank")[:1]
    )
    sources = sorted({source for source, _target in TRANSITIONS})
    entries = (
        _changes(period, scope)
        .filter(_in_period(period), to_stage__in=sources)
        .annotate(furthest=furthest)
        .order_by()
        .values("deal_id", "to_stage", "furthest")
    )
    inner, inner_params = entries.query.sql_with_params()
    columns, params = [], []
    for index, (source, target) in enumerate(TRANSITIONS):
        columns.append(
            f"COUNT(DISTINCT CASE WHEN to_stage = %s THEN deal_id END) AS cohort_{index}"
        )
        columns.append(
            "COUNT(DISTINCT CASE WHEN to_stage = %s AND furthest >= %s THEN deal_id END) "
            f"AS converted_{index}"
        )
        params += [source, source, LINE.index(target)]
    query = f"SELECT {', '.join(columns)} FROM ({inner}) kpi_entries"  # noqa: S608
    figures = sql.fetch(query, [*params, *inner_params])[0]
    return [
        {
            "from": source,
            "to": target,
            "cohort": figures[f"cohort_{index}"],
            "converted": figures[f"converted_{index}"],
            "rate": sql.rate(figures[f"converted_{index}"], figures[f"cohort_{index}"]),
        }
        for index, (source, target) in enumerate(TRANSITIONS)
    ]


def _closing_moves(period: Period, scope: Scope) -> QuerySet[DealStageChange]:
    """Each deal closed in the period, by its last move to won or lost in the period."""
    return (
        _changes(period, scope)
        .filter(_in_period(period), to_stage__in=CLOSED)
        .filter(~_later_change(period, to_stage__in=CLOSED))
    )


def _closed(period: Period, scope: Scope) -> list[dict]:
    """(stage, currency, owner) → deals and cents of the closing moves."""
    return list(
        _closing_moves(period, scope)
        .values("to_stage", "deal__currency", "deal__owner_id")
        .annotate(deals=Count("id"), cents=Sum(cents("amount")))
        .order_by()
    )


def _sales_cycle(period: Period, scope: Scope) -> dict[str, Any] | None:
    first = Subquery(
        DealStageChange.objects.filter(deal_id=OuterRef("deal_id"))
        .order_by("created_at", "id")
        .values("created_at")[:1]
    )
    won = _closing_moves(period, scope).filter(to_stage="won").annotate(first_at=first)
    return percentiles(won, later="created_at", earlier="first_at").get(None)


def _days_in_stage(period: Period, scope: Scope) -> list[dict]:
    entered = Subquery(
        DealStageChange.objects.filter(deal_id=OuterRef("deal_id"))
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), id__lt=OuterRef("id"))
        )
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    leaving = (
        _changes(period, scope)
        .filter(_in_period(period), from_stage__in=OPEN_DEAL_STAGES)
        .annotate(entered_at=entered)
    )
    figures = percentiles(leaving, later="created_at", earlier="entered_at", key="from_stage")
    return [
        {"stage": stage, **spread(figures.get(stage), sql.days, "_days")}
        for stage in OPEN_DEAL_STAGES
    ]


def _stalled(period: Period, scope: Scope) -> int:
    return (
        DealStall.objects.filter(_deal_filter(period, scope), started_at__lt=period.end_at)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gte=period.end_at))
        .aggregate(deals=Count("deal_id", distinct=True))["deals"]
    )


def _forward() -> Q:
    moves = Q(pk__in=[])
    for index, stage in enumerate(OPEN_DEAL_STAGES):
        moves |= Q(from_stage=stage, to_stage__in=LINE[index + 1 :])
    return moves


def _reps(period: Period, scope: Scope, closed: list[dict]) -> list[dict]:
    activities = (
        Activity.objects.filter(
            _activity_filter(period, scope),
            report__day__gte=period.start,
            report__day__lt=period.end,
        )
        .values("report__rep_id")
        .annotate(activities=Count("id"), minutes=Sum("minutes"))
        .order_by()
    )
    advanced = (
        _changes(period, scope)
        .filter(_in_period(period), _forward())
        .values("deal__owner_id")
        .annotate(deals=Count("deal_id", distinct=True))
        .order_by()
    )
    reps: dict[int, dict[str, Any]] = defaultdict(
        lambda: {"activities": 0, "minutes": 0, "deals_advanced": 0, "deals_won": 0, "cents": {}}
    )
    for row in activities:
        reps[row["report__rep_id"]].update(activities=row["activities"], minutes=row["minutes"])
    for row in advanced:
        reps[row["deal__owner_id"]]["deals_advanced"] = row["deals"]
    for row in closed:
        if row["to_stage"] == "won":
            rep = reps[row["deal__owner_id"]]
            rep["deals_won"] += row["deals"]
            rep["cents"][row["deal__currency"]] = row["cents"] or 0
    users = get_user_model().objects.filter(pk__in=list(reps))
    names = {
        user_id: f"{first} {last}".strip() or username
        for user_id, first, last, username in users.values_list(
            "pk", "first_name", "last_name", "username"
        )
    }
    result = [
        {
            "rep": rep_id,
            "name": names.get(rep_id, ""),
            "activities": figures["activities"],
            "minutes": figures["minutes"],
            "deals_advanced": figures["deals_advanced"],
            "deals_won": figures["deals_won"],
            "won_amounts": {
                currency: sql.money(total) for currency, total in sorted(figures["cents"].items())
            },
        }
        for rep_id, figures in reps.items()
    ]
    return sorted(result, key=lambda rep: (rep["name"], rep["rep"]))


def _decimal(value: Fraction) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def compute(period: Period, scope: Scope) -> dict:
    stage_rows = _stages_at_end(period, scope)
    closed = _closed(period, scope)
    won = sum(row["deals"] for row in closed if row["to_stage"] == "won")
    lost = sum(row["deals"] for row in closed if row["to_stage"] == "lost")
    won_cents: dict[str, int] = defaultdict(int)
    won_deals: dict[str, int] = defaultdict(int)
    for row in closed:
        if row["to_stage"] == "won":
            won_cents[row["deal__currency"]] += row["cents"] or 0
            won_deals[row["deal__currency"]] += row["deals"]
    average = {
        currency: Fraction(won_cents[currency], 100 * won_deals[currency])
        for currency in sorted(won_deals)
    }
    open_deals: dict[str, int] = defaultdict(int)
    for row in stage_rows:
        if row["to_stage"] in OPEN_DEAL_STAGES:
            open_deals[row["deal__currency"]] += row["deals"]
    cycle = _sales_cycle(period, scope)
    median_ms = cycle["p50"] if cycle else None
    velocity: dict[str, str | None] = {}
    for currency, size in average.items():
        if not median_ms:
            velocity[currency] = None
            continue
        win_rate = Fraction(won, won + lost)
        per_day = open_deals[currency] * win_rate * size * sql.MS_PER_DAY / Fraction(median_ms)
        velocity[currency] = _decimal(per_day)
    return {
        "stages": _stages(stage_rows),
        "transitions": _transitions(period, scope),
        "won": won,
        "lost": lost,
        "win_rate": sql.rate(won, won + lost),
        "won_amounts": {currency: sql.money(won_cents[currency]) for currency in sorted(won_cents)},
        "average_deal_size": {currency: _decimal(size) for currency, size in average.items()},
        "sales_cycle_days": spread(cycle, sql.days),
        "days_in_stage": _days_in_stage(period, scope),
        "sales_velocity": velocity,
        "stalled": _stalled(period, scope),
        "reps": _reps(period, scope, closed),
    }
