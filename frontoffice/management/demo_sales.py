"""The sales side of the demo, derived from each contact's journey so the two agree.

A contact who became a prospect has a deal from that day: won on the day they became a customer
(for the first order's amount, with an accepted quote), lost when they dropped out (lost, back
to lead, dormant: the journey's cause is the lost reason), or still open at a stage that has
had time to happen. Stage moves are on the customer's timeline; reps' calls, visits, meetings
and emails of the last weeks are their daily reports' activities.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from accounts.models import JourneyStage, Touchpoint
from frontoffice.management import demo_data as data
from frontoffice.management.demo_journeys import Period, Staff, moment_between
from pipeline import quotes as quote_rules
from pipeline.models import (
    Activity,
    DailyReport,
    DailyReportStatusChange,
    Deal,
    DealStageChange,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    QuoteStatusChange,
)

PRODUCTS: tuple[tuple[str, str, str, int], ...] = (
    # code, name, series, list price in JPY
    ("FO-SUITE", "Frontoffice Suite (annual licence)", "Suite", 1_200_000),
    ("FO-SALES", "Sales Pipeline module (annual)", "Modules", 480_000),
    ("FO-DESK", "Support Desk module (annual)", "Modules", 420_000),
    ("FO-SEAT", "Additional user seat (annual)", "Seats", 36_000),
    ("FO-ONBOARD", "Onboarding and data migration", "Services", 300_000),
    ("FO-TRAIN", "On-site training day", "Services", 150_000),
)
OPEN_STAGE_WEIGHTS = {"list": 2, "proposal": 3, "opportunity": 3, "quote": 2}
TAX_RATE = Decimal("0.10")
ACTIVITY_OF_TOUCHPOINT = {"call": "call", "visit": "visit", "meeting": "meeting", "email": "email"}
REPORT_WEEKS = 4
MANAGER_COMMENTS = (
    "Good progress. Follow up on the quote this week.",
    "Please add the decision maker's name next time.",
    "Nice call notes, thanks.",
    "Let's discuss the pricing in our 1:1.",
)


@dataclass
class DemoSales:
    """The sales rows of the demo: deals are written batch by batch with their contacts; the
    quotes (numbered per year in the order they were sent) and reports at the end."""

    rng: random.Random
    period: Period
    # account id -> (name, size)
    companies: dict[int, tuple[str, str]]
    team_of: dict[int, int | None]
    quotes: list[tuple[Deal, dict[str, Any]]] = field(default_factory=list)

    def add_contacts(self, plans: list[Any]) -> None:
        deals, moves = [], []
        for plan in plans:
            planned = plan_deal(self.rng, plan, period=self.period, companies=self.companies)
            if planned is None:
                continue
            deal, deal_moves, quote = planned
            deal.team_id = self.team_of.get(deal.owner_id)
            deals.append(deal)
            moves.append(deal_moves)
            if quote is not None:
                self.quotes.append((deal, quote))
        write_deals(deals, moves)


def create_products() -> list[Product]:
    return Product.objects.bulk_create(
        Product(code=code, name=name, series=series, unit_price=Decimal(price), currency="JPY")
        for code, name, series, price in PRODUCTS
    )


def _first(transitions, stages, after: datetime | None = None):
    for row in transitions:
        if row.to_stage in stages and (after is None or row.created_at > after):
            return row
    return None


def _spread(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    """`count` increasing moments strictly between start and end."""
    if count <= 0:
        return []
    return sorted(moment_between(rng, start, end) for _ in range(count))


Move = tuple[str, str, datetime, str]  # from stage, to stage, at, note


def plan_deal(
    rng: random.Random, plan: Any, *, period: Period, companies: dict[int, tuple[str, str]]
) -> tuple[Deal, list[Move], dict[str, Any] | None] | None:
    """The deal of one contact's plan, its moves and its quote, or None (never a prospect)."""
    contact, transitions, touchpoints = plan.contact, plan.transitions, plan.touchpoints
    quoted = next((t for t in touchpoints if t.kind == "quote"), None)
    first_order = next((t for t in touchpoints if t.summary == "First order"), None)
    prospect = _first(transitions, {JourneyStage.PROSPECT})
    won = _first(transitions, {JourneyStage.CUSTOMER})
    if prospect is not None:
        started_at = prospect.created_at
    elif won is not None and quoted is not None:  # ordered straight from a quote
        started_at = max(transitions[0].created_at, quoted.occurred_at - timedelta(days=10))
    else:
        return None
    if won is not None and won.created_at < started_at:
        return None
    dropped = None
    if won is None:
        dropped = _first(
            transitions, {JourneyStage.LOST, JourneyStage.LEAD, JourneyStage.DORMANT}, started_at
        )
    company_name, size = companies.get(contact.account_id, (contact.name, ""))
    low, high = data.ORDER_RANGES[size]
    amount = Decimal(rng.randrange(low // 10_000, high // 10_000 + 1) * 10_000)

    moves: list[Move] = [("", "list", started_at, "")]
    if won is not None:
        quote_at = quoted.occurred_at if quoted else won.created_at - timedelta(days=3)
        quote_at = max(quote_at, started_at + timedelta(minutes=3))
        middle = _spread(rng, started_at, quote_at, 2)
        path = [("proposal", middle[0]), ("opportunity", middle[1]), ("quote", quote_at)]
        path.append(("won", max(won.created_at, quote_at + timedelta(minutes=1))))
        amount = first_order.amount if first_order else amount
    elif dropped is not None:
        reached = rng.choice(("list", "proposal", "opportunity"))
        stages = ["proposal", "opportunity"][: ["list", "proposal", "opportunity"].index(reached)]
        times = _spread(rng, started_at, dropped.created_at, len(stages))
        path = [*zip(stages, times, strict=True), ("lost", dropped.created_at)]
    else:
        reached = random_open_stage(rng)
        stages = ["proposal", "opportunity", "quote"][: list(OPEN_STAGE_WEIGHTS).index(reached)]
        latest = period.end - timedelta(hours=2)
        times = _spread(rng, started_at, max(latest, started_at + timedelta(hours=1)), len(stages))
        path = list(zip(stages, times, strict=True))
    previous = "list"
    for stage, at in path:
        note = dropped.cause if stage == "lost" and dropped is not None else ""
        moves.append((previous, stage, at, note))
        previous = stage
    final_stage, final_at = moves[-1][1], moves[-1][2]
    product = rng.choice(PRODUCTS[:3])
    deal = Deal(
        name=f"{product[1].split(' (')[0]} for {company_name}"[:200],
        account_id=contact.account_id,
        contact=contact,
        owner_id=contact.owner_id,
        amount=amount,
        currency="JPY",
        stage=final_stage,
        probability=quote_probability(final_stage),
        expected_close_on=(final_at + timedelta(days=rng.randint(20, 90))).date(),
        campaign_id=touchpoints[0].campaign_id,
        lost_reason=moves[-1][3] if final_stage == "lost" else "",
        stage_changed_at=final_at,
        last_activity_at=final_at,
        created_at=started_at,
        closed_at=final_at if final_stage in ("won", "lost") else None,
    )
    quote_sent = next((at for _from, to, at, _note in moves if to == "quote"), None)
    if quote_sent is None:
        return deal, moves, None
    status = {"won": "accepted", "lost": "rejected"}.get(final_stage, "sent")
    quote = {
        "product": product,
        "sent_at": quote_sent,
        "decided_at": final_at if status != "sent" else None,
        "status": status,
    }
    return deal, moves, quote


def random_open_stage(rng: random.Random) -> str:
    stages = list(OPEN_STAGE_WEIGHTS)
    return rng.choices(stages, weights=list(OPEN_STAGE_WEIGHTS.values()))[0]


def quote_probability(stage: str) -> int:
    return {"list": 10, "proposal": 25, "opportunity": 50, "quote": 75, "won": 100}.get(stage, 0)


def write_deals(deals: list[Deal], moves: list[list[Move]]) -> None:
    """Insert deals with their stage history and the moves on the customers' timelines."""
    Deal.objects.bulk_create(deals)
    deal_type = ContentType.objects.get_for_model(Deal)
    changes, touchpoints = [], []
    for deal, deal_moves in zip(deals, moves, strict=True):
        for from_stage, to_stage, at, note in deal_moves:
            changes.append(
                DealStageChange(
                    deal=deal,
                    from_stage=from_stage,
                    to_stage=to_stage,
                    amount=deal.amount,
                    created_at=at,
                    actor_id=deal.owner_id,
                    note=note,
                )
            )
            if not from_stage:
                summary = f"Deal opened: {deal.name}"
            else:
                summary = f"Deal {deal.name}: {from_stage} → {to_stage}"
                summary += f" ({note})" if note else ""
            touchpoints.append(
                Touchpoint(
                    kind="deal_update",
                    channel="sales_rep",
                    occurred_at=at,
                    created_at=at,
                    contact_id=deal.contact_id,
                    account_id=deal.account_id,
                    campaign_id=deal.campaign_id,
                    actor_id=deal.owner_id,
                    summary=summary[:300],
                    source_type=deal_type,
                    source_id=deal.pk,
                )
            )
    DealStageChange.objects.bulk_create(changes, batch_size=1000)
    Touchpoint.objects.bulk_create(touchpoints, batch_size=1000)


def create_quotes(planned: list[tuple[Deal, dict[str, Any]]], products: dict[str, Product]) -> int:
    """One quote per deal that reached the quote stage, numbered per year in order sent."""
    planned = sorted(planned, key=lambda item: item[1]["sent_at"])
    per_year: dict[int, int] = defaultdict(int)
    quotes, lines, history = [], [], []
    for deal, spec in planned:
        code = spec["product"][0]
        totals = quote_rules.compute_totals(
            lines=[(Decimal(1), deal.amount, Decimal(0))], tax_rate=TAX_RATE, currency="JPY"
        )
        sent_at = spec["sent_at"]
        year = timezone.localtime(sent_at).year
        per_year[year] += 1
        quote = Quote(
            deal=deal,
            year=year,
            sequence=per_year[year],
            number=quote_rules.quote_number(year=year, sequence=per_year[year]),
            status=spec["status"],
            currency="JPY",
            tax_rate=TAX_RATE,
            subtotal=totals.subtotal,
            discount_total=totals.discount_total,
            tax_total=totals.tax_total,
            total=totals.total,
            valid_until=(sent_at + timedelta(days=30)).date(),
            created_by_id=deal.owner_id,
            created_at=sent_at - timedelta(hours=2),
            sent_at=sent_at,
            decided_at=spec["decided_at"],
        )
        quotes.append(quote)
        lines.append(
            QuoteLine(
                quote=quote,
                position=1,
                product=products[code],
                quantity=Decimal(1),
                unit_price=deal.amount,
                discount_percent=Decimal(0),
                line_total=totals.lines[0].total,
            )
        )
        rows = [("", QuoteStatus.DRAFT, quote.created_at), (QuoteStatus.DRAFT, "sent", sent_at)]
        if spec["decided_at"]:
            rows.append((QuoteStatus.SENT, spec["status"], spec["decided_at"]))
        history.append(rows)
    Quote.objects.bulk_create(quotes, batch_size=1000)
    QuoteLine.objects.bulk_create(lines, batch_size=1000)
    QuoteStatusChange.objects.bulk_create(
        [
            QuoteStatusChange(
                quote=quote,
                from_status=frm,
                to_status=to,
                created_at=at,
                actor_id=quote.created_by_id,
            )
            for quote, rows in zip(quotes, history, strict=True)
            for frm, to, at in rows
        ],
        batch_size=1000,
    )
    return len(quotes)


def create_daily_reports(rng: random.Random, staff: Staff, *, period: Period) -> int:
    """Reports for the last weeks' working days, from the reps' own calls, visits, meetings
    and emails on the timeline; the last working day's are submitted, older ones reviewed."""
    reps = [staff.users[name] for name in (*data.EAST_REPS, *data.WEST_REPS)]
    manager_of = {
        staff.users[member].pk: staff.users[supervisor]
        for _name, kind, supervisor, members in data.TEAMS
        if kind == "sales"
        for member in members
    }
    since = period.end - timedelta(weeks=REPORT_WEEKS)
    touchpoints = (
        Touchpoint.objects.filter(
            actor__in=reps,
            occurred_at__gte=since,
            occurred_at__lt=period.end,
            kind__in=list(ACTIVITY_OF_TOUCHPOINT),
        )
        .order_by("occurred_at", "id")
        .only("id", "kind", "occurred_at", "actor_id", "contact_id", "summary")
    )
    deal_of_contact = dict(
        Deal.objects.filter(contact__isnull=False)
        .order_by("created_at")
        .values_list("contact_id", "pk")
    )
    by_day: dict[tuple[int, date], list[Touchpoint]] = defaultdict(list)
    for touchpoint in touchpoints:
        day = timezone.localtime(touchpoint.occurred_at).date()
        if day.isoweekday() <= 5:
            by_day[(touchpoint.actor_id, day)].append(touchpoint)
    last_day = max((day for _rep, day in by_day), default=None)
    reports = []
    for (rep_id, day), _rows in sorted(by_day.items()):
        closing = period.at(day, 18, rng.randrange(0, 50))
        recent = day == last_day
        reviewed = not recent
        manager = manager_of[rep_id]
        reports.append(
            DailyReport(
                rep_id=rep_id,
                day=day,
                status="submitted" if recent else "approved",
                notes=rng.choice(("Busy day of follow-ups.", "Mostly customer calls.", "")),
                tomorrow_plan=rng.choice(("Prepare quotes.", "Visit prospects.", "Calls.")),
                submitted_at=closing,
                manager_comment=(
                    rng.choice(MANAGER_COMMENTS) if reviewed and rng.random() < 0.4 else ""
                ),
                reviewed_by=manager if reviewed else None,
                reviewed_at=closing + timedelta(hours=15) if reviewed else None,
                created_at=closing - timedelta(minutes=30),
            )
        )
    DailyReport.objects.bulk_create(reports, batch_size=1000)
    history = []
    for report in reports:
        steps = [("", "draft", report.rep_id, "", report.created_at)]
        steps.append(("draft", "submitted", report.rep_id, "", report.submitted_at))
        if report.reviewed_by is not None:
            comment = report.manager_comment
            steps.append(
                ("submitted", "approved", report.reviewed_by.pk, comment, report.reviewed_at)
            )
        history += [
            DailyReportStatusChange(
                report=report,
                from_status=frm,
                to_status=to,
                actor_id=actor_id,
                comment=comment,
                created_at=at,
            )
            for frm, to, actor_id, comment, at in steps
        ]
    DailyReportStatusChange.objects.bulk_create(history, batch_size=1000)
    activities = [
        Activity(
            report=report,
            kind=ACTIVITY_OF_TOUCHPOINT[touchpoint.kind],
            occurred_at=touchpoint.occurred_at,
            minutes=rng.choice((10, 15, 30, 45, 60, 90)),
            outcome=touchpoint.summary[:500],
            deal_id=deal_of_contact.get(touchpoint.contact_id),
            contact_id=touchpoint.contact_id,
            touchpoint_id=touchpoint.pk,
            created_at=report.created_at,
        )
        for report in reports
        for touchpoint in by_day[(report.rep_id, report.day)]
    ]
    Activity.objects.bulk_create(activities, batch_size=1000)
    return len(reports)
