"""`manage.py seed_demo`: deals, quotes and daily reports that agree with the journeys."""

from __future__ import annotations

import itertools
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import Count
from django.utils import timezone

from accounts.models import JourneyTransition, Touchpoint
from pipeline import deal_stages
from pipeline.models import Activity, DailyReport, Deal, DealStageChange, Quote
from pipeline.quotes import compute_totals
from tests.frontoffice.test_seed_demo import seed_demo

pytestmark = pytest.mark.django_db


def test_it_gives_every_deal_a_chained_history_ending_at_its_stage():
    seed_demo()

    histories = defaultdict(list)
    for row in DealStageChange.objects.order_by("deal_id", "created_at", "id").values_list(
        "deal_id", "from_stage", "to_stage", "created_at", "note"
    ):
        histories[row[0]].append(row[1:])
    broken = []
    for deal in Deal.objects.all():
        rows = histories[deal.pk]
        stages = [to for _from, to, _at, _note in rows]
        chained = [frm for frm, *_rest in rows] == ["", *stages[:-1]]
        increasing = all(a < b for a, b in itertools.pairwise(at for *_s, at, _n in rows))
        allowed = all(
            deal_stages.can_transition(frm, to, has_reason=bool(note))
            for frm, to, _at, note in rows[1:]
        )
        current = stages[-1] == deal.stage and rows[-1][2] == deal.stage_changed_at
        if not (chained and increasing and allowed and current):
            broken.append(deal.pk)
    assert broken == []
    assert set(Deal.objects.values_list("stage", flat=True)) == {
        "list", "proposal", "opportunity", "quote", "won", "lost",
    }  # fmt: skip


def test_it_wins_deals_of_customers_for_their_first_order():
    seed_demo()

    won = Deal.objects.filter(stage="won").select_related("contact")
    assert won.count() > 0
    for deal in won:
        became_customer = JourneyTransition.objects.get(contact=deal.contact, to_stage="customer")
        first_order = Touchpoint.objects.get(contact=deal.contact, summary="First order")
        assert deal.closed_at == deal.stage_changed_at == became_customer.created_at
        assert deal.amount == first_order.amount
    assert Deal.objects.filter(stage="lost", lost_reason="").count() == 0
    assert (
        Deal.objects.filter(closed_at__isnull=False).exclude(stage__in=["won", "lost"]).count() == 0
    )


def test_it_puts_each_deal_with_its_owner_s_sales_team_and_on_the_timeline():
    seed_demo()

    for deal in Deal.objects.select_related("team", "owner"):
        assert deal.team.kind == "sales"
        assert deal.team.members.filter(pk=deal.owner_id).exists()
    moves = DealStageChange.objects.count()
    assert Touchpoint.objects.filter(kind="deal_update").count() == moves


def test_it_numbers_quotes_per_year_in_the_order_they_were_sent_with_exact_totals():
    seed_demo()

    by_year = defaultdict(list)
    for quote in Quote.objects.order_by("sent_at", "id").prefetch_related("lines"):
        by_year[quote.year].append(quote.sequence)
        line = quote.lines.get()
        totals = compute_totals(
            lines=[(line.quantity, line.unit_price, line.discount_percent)],
            tax_rate=quote.tax_rate,
            currency=quote.currency,
        )
        assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
            totals.subtotal,
            totals.discount_total,
            totals.tax_total,
            totals.total,
        )
        assert quote.number == f"Q-{quote.year}-{quote.sequence:05d}"
    assert all(seq == list(range(1, len(seq) + 1)) for seq in by_year.values())
    statuses = dict(Quote.objects.values_list("deal__stage").annotate(n=Count("id")))
    assert set(statuses) <= {"quote", "won"}
    assert Quote.objects.filter(deal__stage="won").exclude(status="accepted").count() == 0
    assert Quote.objects.filter(deal__stage="quote").exclude(status="sent").count() == 0
    # The accepted quote is the order: its net amount is the won deal's amount.
    for quote in Quote.objects.filter(status="accepted").select_related("deal"):
        assert quote.subtotal - quote.discount_total == quote.deal.amount


def test_it_builds_daily_reports_from_the_reps_own_timeline_activities():
    seed_demo()

    assert DailyReport.objects.count() > 0
    for activity in Activity.objects.select_related("report", "touchpoint"):
        assert activity.touchpoint.actor_id == activity.report.rep_id
        assert timezone.localtime(activity.occurred_at).date() == activity.report.day
        assert activity.report.day.isoweekday() <= 5
    last_day = DailyReport.objects.latest("day").day
    assert set(DailyReport.objects.filter(day=last_day).values_list("status", flat=True)) == {
        "submitted"
    }
    assert set(DailyReport.objects.exclude(day=last_day).values_list("status", flat=True)) == {
        "approved"
    }
    assert Decimal(Activity.objects.filter(minutes__gt=0).count()) == Activity.objects.count()
    for report in DailyReport.objects.prefetch_related("status_changes"):
        steps = sorted(report.status_changes.all(), key=lambda row: (row.created_at, row.id))
        assert [row.from_status for row in steps] == ["", *[row.to_status for row in steps[:-1]]]
        assert steps[-1].to_status == report.status
