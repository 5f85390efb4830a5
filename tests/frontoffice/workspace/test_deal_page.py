"""The deal page: timeline, quotes, stage history; moving it and logging an activity through the
pipeline services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Touchpoint
from accounts.services import touchpoint_record
from pipeline import reports
from pipeline.models import Activity, DailyReport, Deal, DealStageChange
from pipeline.quotes import quote_create
from tests.factories import ContactFactory, DealFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _local_now_text(delta: timedelta = timedelta()) -> str:
    return (timezone.localtime() + delta).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def deal(sales_rep):
    return DealFactory(owner=sales_rep, name="Press line", amount=2400000, stage="opportunity")


def test_it_shows_the_deal_its_quotes_history_and_customer_timeline(browser, sales_rep, deal):
    product = ProductFactory(unit_price=1200000)
    quote = quote_create(
        deal=deal, lines=[{"product": product, "quantity": Decimal(2)}], actor=sales_rep
    )
    touchpoint_record(
        kind="web_visit", channel="web", contact=deal.contact, summary="Read the press page"
    )

    html = browser(sales_rep).get(f"/app/deals/{deal.pk}/").content.decode()

    assert "JPY 2,400,000" in html
    assert quote.number in html
    assert f"/pipeline/quotes/{quote.pk}/print/" in html
    assert "Read the press page" in html
    assert 'id="history"' in html
    assert 'name="action" value="move"' in html
    assert 'name="action" value="activity"' in html


def test_it_moves_the_deal_from_its_page(browser, sales_rep, deal):
    response = browser(sales_rep).post(
        f"/app/deals/{deal.pk}/",
        {"action": "move", "to_stage": "quote", "expected_stage": "opportunity", "note": ""},
    )

    assert response.status_code == 302
    assert DealStageChange.objects.filter(deal=deal, from_stage="opportunity", to_stage="quote")
    assert Deal.objects.get(pk=deal.pk).stage == "quote"


def test_it_shows_the_reason_a_backward_move_needs_on_the_field(browser, sales_rep, deal):
    response = browser(sales_rep).post(
        f"/app/deals/{deal.pk}/",
        {"action": "move", "to_stage": "list", "expected_stage": "opportunity", "note": ""},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="id_note_error" role="alert">'
        "Moving back from &#x27;opportunity&#x27; to &#x27;list&#x27; needs a reason.</p>"
    ) in html
    assert Deal.objects.get(pk=deal.pk).stage == "opportunity"


def test_it_logs_an_activity_into_todays_report_and_onto_the_timeline(browser, sales_rep, deal):
    response = browser(sales_rep).post(
        f"/app/deals/{deal.pk}/",
        {
            "action": "activity",
            "kind": "visit",
            "occurred_at": _local_now_text(),
            "minutes": "45",
            "outcome": "Met the plant manager",
            "contact": "",
        },
    )

    assert response.status_code == 302
    activity = Activity.objects.get(deal=deal)
    assert (activity.kind, activity.minutes, activity.outcome) == (
        "visit",
        45,
        "Met the plant manager",
    )
    assert (activity.report.rep_id, activity.report.day) == (sales_rep.pk, reports.local_today())
    touchpoint = Touchpoint.objects.get(pk=activity.touchpoint_id)
    assert (touchpoint.contact_id, touchpoint.summary) == (
        deal.contact_id,
        "Visit (Press line): Met the plant manager",
    )


def test_it_keeps_the_days_other_activities_when_logging_one(browser, sales_rep, deal):
    client = browser(sales_rep)
    for minutes in ("10", "20"):
        client.post(
            f"/app/deals/{deal.pk}/",
            {
                "action": "activity",
                "kind": "call",
                "occurred_at": _local_now_text(),
                "minutes": minutes,
            },
        )

    report = DailyReport.objects.get(rep=sales_rep)
    assert sorted(report.activities.values_list("minutes", flat=True)) == [10, 20]


def test_it_shows_bad_activity_input_inline(browser, sales_rep, deal):
    response = browser(sales_rep).post(
        f"/app/deals/{deal.pk}/",
        {"action": "activity", "kind": "call", "occurred_at": "yesterday", "minutes": "2000"},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_occurred_at_error"' in html
    assert "Ensure this value is less than or equal to 1440." in html
    assert not Activity.objects.exists()


def test_it_shows_the_services_refusal_of_a_future_activity_on_its_field(browser, sales_rep, deal):
    response = browser(sales_rep).post(
        f"/app/deals/{deal.pk}/",
        {
            "action": "activity",
            "kind": "call",
            "occurred_at": _local_now_text(timedelta(minutes=5)),
            "minutes": "5",
        },
    )

    assert response.status_code == 400
    assert (
        '<p class="field-error" id="id_occurred_at_error" role="alert">'
        "An activity cannot be in the future.</p>"
    ) in response.content.decode()
    assert not Activity.objects.exists()


def test_it_refuses_an_activity_once_the_report_is_submitted(browser, sales_rep, deal):
    reports.daily_report_save(rep=sales_rep, day=reports.local_today(), submit=True)

    response = browser(sales_rep).post(
        f"/app/deals/{deal.pk}/",
        {"action": "activity", "kind": "call", "occurred_at": _local_now_text(), "minutes": "5"},
    )

    assert response.status_code == 409
    assert "The report is submitted; it can no longer be edited." in response.content.decode()


def test_it_refuses_a_contact_of_another_customer(browser, sales_rep, deal):
    stranger = ContactFactory()

    response = browser(sales_rep).post(
        f"/app/deals/{deal.pk}/",
        {
            "action": "activity",
            "kind": "call",
            "occurred_at": _local_now_text(),
            "minutes": "5",
            "contact": stranger.pk,
        },
    )

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


def test_it_hides_another_reps_deal(browser, sales_rep):
    deal = DealFactory()

    assert browser(sales_rep).get(f"/app/deals/{deal.pk}/").status_code == 404


def test_it_shows_a_served_customers_deal_to_an_agent_read_only(browser, support_agent):
    deal = DealFactory()
    touchpoint_record(kind="call", channel="phone", contact=deal.contact, actor=support_agent)
    client = browser(support_agent)

    page = client.get(f"/app/deals/{deal.pk}/")
    refused = client.post(
        f"/app/deals/{deal.pk}/",
        {"action": "move", "to_stage": "proposal", "expected_stage": "list"},
    )

    assert page.status_code == 200
    assert 'name="action" value="move"' not in page.content.decode()
    assert refused.status_code == 403
    assert Deal.objects.get(pk=deal.pk).stage == "list"
