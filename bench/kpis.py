"""Benchmark of the KPI engine at scale (issue 7) on PostgreSQL; prints figures and ratios.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fo_kpibench .venv/bin/python bench/kpis.py
    ... bench/kpis.py --scale 0.1            # a tenth of the rows
    ... bench/kpis.py --keep                 # reuse the data of the last run (same scale)

It builds its own scratch database (never point it at real data) with COPY: at scale 1.0,
1,000,000 contacts with 4,000,000 journey transitions and about 3,000,000 touchpoints (orders
of the customers included, some with campaigns that have costs), 1,000,000 deals with 4,000,000
stage changes (and stalls, daily reports with activities), 1,000,000 inquiries with their status
changes and escalations; then ANALYZE. It times, for October 2026 and the scope "all":

1. the engine: ``compute_families`` (every family), with JIT as configured and with
   ``SET jit = off``, and for one team;
2. the floor: one hand-written SQL query per family computing its core figures;
3. a naive per-object ORM loop over a 1% sample, extrapolated to 100%.

Targets on the 2-core machine: the engine ≤ 60 s at scale 1.0, ≤ 1.5x the floor, ≥ 50x faster
than the loop.
"""

# ruff: noqa: S608 - SQL text is built from the models' table names and constants here

from __future__ import annotations

import argparse
import itertools
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_postgres_database, recreate_postgres_database  # noqa: E402

NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
MONTH = date(2026, 10, 1)
SPAN_DAYS = 420
REPS = 60
TEAMS = 6
CAMPAIGNS = 40
FUNNEL = ["awareness", "lead", "prospect", "customer", "promoter", "dormant"]
DEAL_LINE = ["list", "proposal", "opportunity", "quote"]
TOUCH_KINDS = [
    ("web_visit", "web"),
    ("web_visit", "web"),
    ("web_visit", "web"),
    ("email", "email"),
    ("email", "email"),
    ("content_download", "web"),
    ("event_visit", "in_person"),
    ("call", "phone"),
    ("meeting", "in_person"),
    ("form", "web"),
]
INQUIRY_CHANNELS = ["email", "email", "phone", "phone", "chat", "web_form", "sales_rep", "social"]
CATEGORIES = ["billing", "delivery", "product", "returns", "technical", ""]
ESCALATION_KINDS = ["transfer", "instructions", "approval"]
ACTIVITY_KINDS = ["visit", "call", "email", "meeting", "demo", "proposal"]


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S+00")


class Copier:
    """Rows as tab-separated text in a temporary file, then ``COPY table (columns) FROM STDIN``
    (one connection runs one COPY at a time, and several tables are generated together)."""

    def __init__(self, cursor, table: str, columns: list[str]) -> None:
        self.cursor, self.table, self.columns = cursor, table, columns
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by close()
        self.rows = 0

    def row(self, *values) -> None:
        self.file.write("\t".join("\\N" if v is None else str(v) for v in values))
        self.file.write("\n")
        self.rows += 1

    def close(self) -> int:
        self.file.seek(0)
        with self.cursor.copy(f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN") as copy:
            while chunk := self.file.read(1 << 20):
                copy.write(chunk)
        self.file.close()
        return self.rows


def _build(scale: float, rng: random.Random) -> dict[str, int]:
    from django.db import connection

    contacts = max(1000, int(1_000_000 * scale))
    deals = contacts
    inquiries = contacts
    accounts = max(50, contacts // 20)
    created = _ts(NOW - timedelta(days=SPAN_DAYS + 30))
    counts: dict[str, int] = {}
    connection.ensure_connection()
    raw = connection.connection  # the psycopg connection under Django's
    with raw.cursor() as cursor:
        users = Copier(
            cursor,
            "auth_user",
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
        )
        for rep in range(1, REPS + 1):
            users.row(
                rep,
                "!",
                "f",
                f"rep{rep}",
                "Rep",
                f"{rep:03d}",
                f"rep{rep}@example.com",
                "t",
                "t",
                created,
            )
        counts["users"] = users.close()
        teams = Copier(cursor, "accounts_team", ["id", "created_at", "updated_at", "name", "kind"])
        for team in range(1, TEAMS + 1):
            teams.row(team, created, created, f"Sales {team}", "sales")
        counts["teams"] = teams.close()
        members = Copier(cursor, "accounts_team_members", ["id", "team_id", "user_id"])
        for rep in range(1, REPS + 1):
            members.row(rep, (rep - 1) % TEAMS + 1, rep)
        members.close()
        copier = Copier(
            cursor,
            "accounts_account",
            ["id", "created_at", "updated_at", "name", "domain", "industry", "size", "region"],
        )
        for account in range(1, accounts + 1):
            copier.row(account, created, created, f"Company {account}", "", "", "", "")
        counts["accounts"] = copier.close()
        campaigns = Copier(
            cursor,
            "pipeline_campaign",
            [
                "id",
                "name",
                "kind",
                "status",
                "cost",
                "currency",
                "starts_on",
                "ends_on",
                "created_at",
            ],
        )
        for campaign in range(1, CAMPAIGNS + 1):
            starts = NOW.date() - timedelta(days=rng.randrange(SPAN_DAYS))
            cost = f"{rng.randrange(100, 5000) * 1000}.00" if campaign % 2 else "0.00"
            campaigns.row(
                campaign,
                f"Campaign {campaign}",
                rng.choice(["web", "seminar", "email"]),
                "active",
                cost,
                "JPY",
                starts,
                starts + timedelta(days=60),
                created,
            )
        counts["campaigns"] = campaigns.close()

        contact_rows = Copier(
            cursor,
            "accounts_contact",
            [
                "id",
                "created_at",
                "updated_at",
                "name",
                "email",
                "phone",
                "phone_normalized",
                "title",
                "department",
                "stage",
                "stage_changed_at",
                "account_id",
                "owner_id",
            ],
        )
        transitions = Copier(
            cursor,
            "accounts_journeytransition",
            ["contact_id", "from_stage", "to_stage", "created_at", "cause"],
        )
        touchpoints = Copier(
            cursor,
            "accounts_touchpoint",
            [
                "kind",
                "channel",
                "occurred_at",
                "contact_id",
                "account_id",
                "campaign_id",
                "amount",
                "currency",
                "summary",
                "created_at",
            ],
        )
        order_times: dict[int, datetime] = {}
        for contact in range(1, contacts + 1):
            account = contact % accounts + 1
            length = rng.randint(2, 7)
            at = NOW - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
            first_at = at
            stages = FUNNEL[:length]
            if length <= 3 and rng.random() < 0.4:
                stages = [*stages[:-1], "lost"]
            previous = ""
            for stage in stages:
                if at >= NOW:
                    break
                transitions.row(contact, previous, stage, _ts(at), "")
                if stage == "customer":
                    order_times[contact] = at
                previous = stage
                at += timedelta(seconds=rng.randrange(3600, 60 * 86400))
            contact_rows.row(
                contact,
                _ts(first_at),
                _ts(first_at),
                f"Person {contact}",
                f"person{contact}@example.com",
                "",
                "",
                "",
                "",
                previous or "awareness",
                _ts(first_at),
                account,
                contact % REPS + 1,
            )
            for _touch in range(rng.randint(0, 4)):
                kind, channel = rng.choice(TOUCH_KINDS)
                touched = first_at + timedelta(seconds=rng.randrange(90 * 86400))
                if touched >= NOW:
                    continue
                campaign = rng.randint(1, CAMPAIGNS) if rng.random() < 0.3 else None
                touchpoints.row(
                    kind,
                    channel,
                    _ts(touched),
                    contact,
                    account,
                    campaign,
                    None,
                    "",
                    "",
                    _ts(touched),
                )
            if contact in order_times:
                ordered = _ts(order_times[contact])
                amount = f"{rng.randrange(10, 2000) * 1000}.00"
                campaign = rng.randint(1, CAMPAIGNS) if rng.random() < 0.3 else None
                touchpoints.row(
                    "order",
                    "sales_rep",
                    ordered,
                    contact,
                    account,
                    campaign,
                    amount,
                    "JPY",
                    "",
                    ordered,
                )
        counts["contacts"] = contact_rows.close()
        counts["journey transitions"] = transitions.close()
        counts["touchpoints"] = touchpoints.close()

        deal_rows = Copier(
            cursor,
            "pipeline_deal",
            [
                "id",
                "name",
                "contact_id",
                "account_id",
                "owner_id",
                "team_id",
                "amount",
                "currency",
                "stage",
                "probability",
                "campaign_id",
                "lost_reason",
                "stage_changed_at",
                "last_activity_at",
                "is_stalled",
                "external_id",
                "created_at",
                "updated_at",
                "closed_at",
            ],
        )
        changes = Copier(
            cursor,
            "pipeline_dealstagechange",
            ["deal_id", "from_stage", "to_stage", "amount", "created_at", "note"],
        )
        stalls = Copier(
            cursor,
            "pipeline_dealstall",
            ["deal_id", "reason", "stage", "started_at", "ended_at"],
        )
        for deal in range(1, deals + 1):
            contact = rng.randint(1, contacts)
            owner = deal % REPS + 1
            amount = f"{rng.randrange(10, 5000) * 1000}.00"
            currency = "USD" if deal % 10 == 0 else "JPY"
            at = NOW - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
            created_at = at
            length = rng.randint(3, 6)
            path = DEAL_LINE[: min(length, 4)]
            if length >= 5 or rng.random() < 0.3:
                path = [*path, "won" if rng.random() < 0.45 else "lost"]
            previous = ""
            for stage in path:
                if at >= NOW:
                    break
                changes.row(deal, previous, stage, amount, _ts(at), "")
                previous, last_at = stage, at
                at += timedelta(seconds=rng.randrange(3600, 45 * 86400))
            closed = _ts(last_at) if previous in ("won", "lost") else None
            if previous not in ("won", "lost") and rng.random() < 0.1:
                stalls.row(deal, "time_in_stage", previous, _ts(last_at + timedelta(days=14)), None)
            deal_rows.row(
                deal,
                f"Deal {deal}",
                contact,
                contact % accounts + 1,
                owner,
                (owner - 1) % TEAMS + 1,
                amount,
                currency,
                previous,
                10,
                rng.randint(1, CAMPAIGNS) if rng.random() < 0.2 else None,
                "",
                _ts(last_at),
                _ts(last_at),
                "f",
                "",
                _ts(created_at),
                _ts(last_at),
                closed,
            )
        counts["deals"] = deal_rows.close()
        counts["deal stage changes"] = changes.close()
        counts["deal stalls"] = stalls.close()

        reports = Copier(
            cursor,
            "pipeline_dailyreport",
            [
                "id",
                "rep_id",
                "day",
                "status",
                "notes",
                "tomorrow_plan",
                "manager_comment",
                "submitted_at",
                "created_at",
                "updated_at",
            ],
        )
        activities = Copier(
            cursor,
            "pipeline_activity",
            ["report_id", "kind", "occurred_at", "minutes", "outcome", "created_at", "deal_id"],
        )
        report = 0
        for rep in range(1, REPS + 1):
            for back in range(1, 120):
                report += 1
                day = NOW.date() - timedelta(days=back)
                stamp = _ts(datetime.combine(day, datetime.min.time(), tzinfo=UTC))
                reports.row(report, rep, day, "submitted", "", "", "", stamp, stamp, stamp)
                for _activity in range(3):
                    activities.row(
                        report,
                        rng.choice(ACTIVITY_KINDS),
                        stamp,
                        rng.randrange(10, 120),
                        "",
                        stamp,
                        rng.randint(1, deals),
                    )
        counts["daily reports"] = reports.close()
        counts["activities"] = activities.close()

        inquiry_rows = Copier(
            cursor,
            "inquiries_inquiry",
            [
                "id",
                "contact_id",
                "account_id",
                "channel",
                "subject",
                "category",
                "priority",
                "status",
                "status_changed_at",
                "team_id",
                "assignee_id",
                "conversation_id",
                "first_response_due_at",
                "resolution_due_at",
                "first_responded_at",
                "resolved_at",
                "closed_at",
                "last_message_at",
                "external_id",
                "created_at",
                "updated_at",
            ],
        )
        status_changes = Copier(
            cursor,
            "inquiries_inquirystatuschange",
            ["inquiry_id", "from_status", "to_status", "created_at", "note"],
        )
        escalations = Copier(
            cursor,
            "inquiries_escalation",
            [
                "inquiry_id",
                "kind",
                "status",
                "level",
                "to_team_id",
                "reason",
                "answer",
                "due_at",
                "created_at",
            ],
        )
        for inquiry in range(1, inquiries + 1):
            contact = rng.randint(1, contacts)
            created_at = NOW - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
            with_sla = rng.random() < 0.7
            frt_due = created_at + timedelta(hours=4) if with_sla else None
            res_due = created_at + timedelta(days=3) if with_sla else None
            responded = resolved = None
            if rng.random() < 0.85:
                responded = created_at + timedelta(seconds=rng.randrange(60, 2 * 86400))
                if rng.random() < 0.75:
                    resolved = responded + timedelta(seconds=rng.randrange(600, 10 * 86400))
            responded = responded if responded and responded < NOW else None
            resolved = resolved if resolved and resolved < NOW else None
            status = "resolved" if resolved else "open" if responded else "new"
            team = inquiry % TEAMS + 1
            status_changes.row(inquiry, "", "new", _ts(created_at), "")
            if responded:
                status_changes.row(inquiry, "new", "open", _ts(responded), "")
            if resolved:
                status_changes.row(inquiry, "open", "resolved", _ts(resolved), "")
            if rng.random() < 0.05:
                kind = rng.choice(ESCALATION_KINDS)
                escalated = created_at + timedelta(hours=rng.randrange(1, 48))
                escalations.row(
                    inquiry,
                    kind,
                    "answered",
                    1,
                    team,
                    "Please help",
                    "",
                    _ts(escalated + timedelta(days=1)),
                    _ts(escalated),
                )
            last = resolved or responded or created_at
            inquiry_rows.row(
                inquiry,
                contact,
                contact % accounts + 1,
                rng.choice(INQUIRY_CHANNELS),
                f"Question {inquiry}",
                rng.choice(CATEGORIES),
                "normal",
                status,
                _ts(last),
                team,
                inquiry % REPS + 1,
                "",
                frt_due and _ts(frt_due),
                res_due and _ts(res_due),
                responded and _ts(responded),
                resolved and _ts(resolved),
                None,
                _ts(last),
                "",
                _ts(created_at),
                _ts(last),
            )
        counts["inquiries"] = inquiry_rows.close()
        counts["inquiry status changes"] = status_changes.close()
        counts["escalations"] = escalations.close()

        for table in (
            "auth_user",
            "accounts_team",
            "accounts_team_members",
            "accounts_account",
            "pipeline_campaign",
            "accounts_contact",
            "pipeline_deal",
            "pipeline_dailyreport",
            "inquiries_inquiry",
        ):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )
    return counts


def _timed(label: str, run: Callable[[], object], *, repeat: int = 1) -> float:
    """Best of `repeat` runs (seconds); prints it."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    print(f"  {label:<58} {best:8.2f} s", flush=True)
    return best


# --- The floor: one hand-written query per family ------------------------------------------------

FLOOR_JOURNEY = """
WITH moves AS (
  SELECT contact_id, to_stage, created_at,
         CASE to_stage WHEN 'awareness' THEN 1 WHEN 'lead' THEN 2 WHEN 'prospect' THEN 3
                       WHEN 'customer' THEN 4 WHEN 'promoter' THEN 5 ELSE 0 END AS stage_rank,
         ROW_NUMBER() OVER (PARTITION BY contact_id ORDER BY created_at DESC, id DESC) AS latest
  FROM accounts_journeytransition WHERE created_at < %(end)s),
per_contact AS (
  SELECT contact_id,
         MAX(CASE WHEN latest = 1 THEN to_stage END) AS at_end,
         MIN(CASE WHEN to_stage = 'awareness' AND created_at >= %(start)s THEN created_at END)
           AS entered_awareness,
         MIN(CASE WHEN to_stage = 'lead' AND created_at >= %(start)s THEN created_at END)
           AS entered_lead,
         MIN(CASE WHEN to_stage = 'prospect' AND created_at >= %(start)s THEN created_at END)
           AS entered_prospect,
         MIN(CASE WHEN to_stage = 'awareness' THEN created_at END) AS first_awareness,
         MIN(CASE WHEN stage_rank >= 2 THEN created_at END) AS reached_lead,
         MIN(CASE WHEN stage_rank >= 4 THEN created_at END) AS reached_customer,
         MAX(CASE WHEN stage_rank >= 2 THEN created_at END) AS last_lead,
         MAX(CASE WHEN stage_rank >= 3 THEN created_at END) AS last_prospect,
         MAX(CASE WHEN stage_rank >= 4 THEN created_at END) AS last_customer
  FROM moves GROUP BY contact_id)
SELECT at_end, COUNT(*) AS contacts,
       COUNT(entered_awareness) AS cohort_awareness,
       COUNT(CASE WHEN last_lead >= entered_awareness THEN 1 END) AS awareness_lead,
       COUNT(entered_lead) AS cohort_lead,
       COUNT(CASE WHEN last_prospect >= entered_lead THEN 1 END) AS lead_prospect,
       COUNT(entered_prospect) AS cohort_prospect,
       COUNT(CASE WHEN last_customer >= entered_prospect THEN 1 END) AS prospect_customer,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM reached_customer
         - first_awareness)) FILTER (WHERE reached_customer >= %(start)s) AS median_to_customer
FROM per_contact GROUP BY ROLLUP (at_end)
"""

FLOOR_TOUCHPOINTS = """
WITH first_orders AS (
  SELECT contact_id, MIN(occurred_at) AS ordered_at FROM accounts_touchpoint
  WHERE kind = 'order' AND contact_id IS NOT NULL AND occurred_at < %(end)s GROUP BY contact_id)
SELECT touches.kind, COUNT(*) AS touches, COUNT(DISTINCT touches.contact_id) AS people
FROM first_orders JOIN accounts_touchpoint touches ON touches.contact_id = first_orders.contact_id
 AND touches.occurred_at < first_orders.ordered_at AND touches.kind <> 'order'
WHERE first_orders.ordered_at >= %(start)s GROUP BY touches.kind
"""

FLOOR_PIPELINE = """
WITH changes AS (
  SELECT deal_id, to_stage, amount, created_at,
         LAG(created_at) OVER (PARTITION BY deal_id ORDER BY created_at, id) AS entered_at,
         from_stage,
         ROW_NUMBER() OVER (PARTITION BY deal_id ORDER BY created_at DESC, id DESC) AS latest
  FROM pipeline_dealstagechange WHERE created_at < %(end)s)
SELECT to_stage, COUNT(*) FILTER (WHERE latest = 1) AS deals,
       SUM(amount) FILTER (WHERE latest = 1) AS amount,
       COUNT(*) FILTER (WHERE created_at >= %(start)s) AS moves_in_period,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM created_at - entered_at))
         FILTER (WHERE created_at >= %(start)s) AS median_seconds_before
FROM changes GROUP BY to_stage
"""

FLOOR_INQUIRIES = """
SELECT channel, COUNT(*) FILTER (WHERE created_at >= %(start)s AND created_at < %(end)s) AS volume,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM first_responded_at
         - created_at)) FILTER (WHERE first_responded_at >= %(start)s
                                AND first_responded_at < %(end)s) AS median_first_response,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM resolved_at - created_at))
         FILTER (WHERE resolved_at >= %(start)s AND resolved_at < %(end)s) AS median_resolution
FROM inquiries_inquiry
WHERE (created_at >= %(start)s AND created_at < %(end)s)
   OR (first_responded_at >= %(start)s AND first_responded_at < %(end)s)
   OR (resolved_at >= %(start)s AND resolved_at < %(end)s)
GROUP BY ROLLUP (channel)
"""

FLOORS = {
    "journey": FLOOR_JOURNEY,
    "touchpoints": FLOOR_TOUCHPOINTS,
    "pipeline": FLOOR_PIPELINE,
    "inquiries": FLOOR_INQUIRIES,
}


def _run_floor(sql: str, period) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": period.start_at, "end": period.end_at})
        cursor.fetchall()


# --- The naive loop: per object through the ORM -------------------------------------------------


def _naive_loop(period, fraction: float, rng: random.Random) -> tuple[float, int]:
    """Per-object reads over a sample of contacts, deals and inquiries; returns (seconds, objects).
    What a first, object-by-object implementation of the same figures would do."""
    from statistics import median

    from accounts.models import Contact, Touchpoint
    from inquiries.models import Inquiry
    from pipeline.models import Deal

    start, end = period.start_at, period.end_at
    contact_ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    deal_ids = list(Deal.objects.order_by("id").values_list("id", flat=True))
    inquiry_ids = list(Inquiry.objects.order_by("id").values_list("id", flat=True))
    contacts = rng.sample(contact_ids, max(1, int(len(contact_ids) * fraction)))
    deals = rng.sample(deal_ids, max(1, int(len(deal_ids) * fraction)))
    inquiries = rng.sample(inquiry_ids, max(1, int(len(inquiry_ids) * fraction)))
    started = time.perf_counter()
    stage_counts: dict[str, int] = {}
    spans = []
    for contact in Contact.objects.filter(pk__in=contacts).iterator():
        moves = list(contact.journey_transitions.filter(created_at__lt=end).order_by("created_at"))
        if moves:
            stage_counts[moves[-1].to_stage] = stage_counts.get(moves[-1].to_stage, 0) + 1
            entered = {move.to_stage: move.created_at for move in reversed(moves)}
            if "customer" in entered and "awareness" in entered and entered["customer"] >= start:
                spans.append((entered["customer"] - entered["awareness"]).total_seconds())
        touches = list(
            Touchpoint.objects.filter(contact=contact, occurred_at__lt=end).order_by("occurred_at")
        )
        orders = [touch for touch in touches if touch.kind == "order"]
        if orders and orders[0].occurred_at >= start:
            _before = [touch.kind for touch in touches if touch.occurred_at < orders[0].occurred_at]
    days_in_stage: dict[str, list[float]] = {}
    for deal in Deal.objects.filter(pk__in=deals).iterator():
        changes = list(deal.stage_changes.filter(created_at__lt=end).order_by("created_at", "id"))
        for previous, change in itertools.pairwise(changes):
            if change.created_at >= start:
                span = (change.created_at - previous.created_at).total_seconds() / 86400
                days_in_stage.setdefault(change.from_stage, []).append(span)
    responses = []
    for inquiry in Inquiry.objects.filter(pk__in=inquiries).iterator():
        changes = list(inquiry.status_changes.order_by("created_at"))
        if inquiry.first_responded_at and start <= inquiry.first_responded_at < end:
            responses.append((inquiry.first_responded_at - inquiry.created_at).total_seconds())
        _ = [change.to_status for change in changes]
    _figures = ({k: median(v) for k, v in days_in_stage.items()}, spans and median(spans))
    return time.perf_counter() - started, len(contacts) + len(deals) + len(inquiries)


def _set_jit(enabled: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SET jit = {'on' if enabled else 'off'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--keep", action="store_true", help="reuse the data of the last run")
    parser.add_argument("--sample", type=float, default=0.01, help="share of the naive loop")
    parser.add_argument("--seed", type=int, default=20261101)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "bench/kpis.py runs on PostgreSQL only (the production path): set DATABASE_URL to a "
            "scratch database, e.g. postgres://postgres@127.0.0.1:5432/fo_kpibench."
        )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    if args.keep:
        ensure_postgres_database(url)
    else:
        recreate_postgres_database(url)
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Contact, JourneyTransition, Touchpoint
    from frontoffice.kpis.engine import compute_families
    from frontoffice.kpis.periods import Period, Scope
    from inquiries.models import Inquiry
    from pipeline.models import Deal, DealStageChange

    call_command("migrate", verbosity=0)
    if not Contact.objects.exists():
        started = time.perf_counter()
        counts = _build(args.scale, random.Random(args.seed))
        print(
            f"built with COPY in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{n:,} {name}" for name, n in counts.items()),
            flush=True,
        )
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
    print(
        f"database: {connection.settings_dict['NAME']}  contacts {Contact.objects.count():,}  "
        f"transitions {JourneyTransition.objects.count():,}  "
        f"touchpoints {Touchpoint.objects.count():,}  deals {Deal.objects.count():,}  "
        f"deal changes {DealStageChange.objects.count():,}  "
        f"inquiries {Inquiry.objects.count():,}"
    )
    period, everyone = Period.month_of(MONTH), Scope()
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit_default = cursor.fetchone()[0]
    print(f"period {period.label}, scope all; server jit = {jit_default}")

    families: dict[str, float] = {}

    def engine() -> None:
        compute_families(
            period, everyone, on_family=lambda name, seconds: families.__setitem__(name, seconds)
        )

    print("(1) the engine: compute_families")
    from frontoffice.kpis import engine as kpi_engine

    _set_jit(jit_default == "on")
    kpi_engine.DISABLE_JIT = False
    jit_on = _timed(f"full set, jit as the server ({jit_default})", engine)
    jit_on_families = dict(families)
    kpi_engine.DISABLE_JIT = True
    full = _timed("full set, as shipped (SET LOCAL jit = off)", engine)
    for name in jit_on_families:
        print(
            f"    {name:<14} jit {jit_default:<3} {jit_on_families[name]:7.2f} s   "
            f"jit off {families[name]:7.2f} s"
        )
    team = Scope("team", "1")
    _timed("full set, scope team 1", lambda: compute_families(period, team))

    print("(2) the floor: one hand-written query per family (jit off, as the engine)")
    _set_jit(False)
    floor = 0.0
    for name, sql in FLOORS.items():
        floor += _timed(f"floor {name}", lambda sql=sql: _run_floor(sql, period))
    print(f"  {'floor, total':<58} {floor:8.2f} s")
    _set_jit(jit_default == "on")

    print(f"(3) naive per-object ORM loop on a {args.sample:.0%} sample")
    seconds, objects = _naive_loop(period, args.sample, random.Random(args.seed))
    loop = seconds / args.sample
    print(f"  {f'loop over {objects:,} objects':<58} {seconds:8.2f} s")
    print(f"  {'loop extrapolated to 100%':<58} {loop:8.2f} s")

    print("results")
    print(f"  full set {full:.2f} s (target ≤ 60 s at scale 1.0; this run at scale {args.scale})")
    print(f"  full set / floor = {full / floor:.2f}x (target ≤ 1.5x)")
    print(f"  loop / full set  = {loop / full:.1f}x (target ≥ 50x)")
    print(f"  jit: {jit_default} {jit_on:.2f} s, off (as shipped) {full:.2f} s")


if __name__ == "__main__":
    main()
