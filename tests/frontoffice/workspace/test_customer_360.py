"""Customer 360 and search: who the customer is, journey and score, and one timeline across
marketing, deals and quotes, report activities and inquiries, as far as the reader may see."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import roles
from accounts.models import JourneyStage
from accounts.services import journey_move, touchpoint_record
from inquiries import channels
from inquiries.services import Customer
from pipeline import deals, reports
from pipeline.models import LeadScore
from pipeline.quotes import quote_create, quote_send
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    DealFactory,
    ProductFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(sales_rep):
    """A contact every department has worked with: an expo visit, a deal with a sent quote, a
    report activity and an inquiry the rep passed on."""
    account = AccountFactory(name="Kansai Robotics")
    contact = ContactFactory(name="Aiko Tanaka", account=account, stage=JourneyStage.LEAD)
    journey_move(contact=contact, to_stage=JourneyStage.PROSPECT, cause="qualified")
    touchpoint_record(
        kind="event_visit",
        channel="in_person",
        contact=contact,
        campaign=CampaignFactory(name="Tokyo Expo"),
        summary="Visited our booth",
    )
    deal = deals.deal_create(
        name="Welding cells",
        owner=sales_rep,
        account=account,
        contact=contact,
        amount=2000000,
        actor=sales_rep,
    )
    quote = quote_create(
        deal=deal, lines=[{"product": ProductFactory(), "quantity": Decimal(2)}], actor=sales_rep
    )
    quote_send(quote=quote, actor=sales_rep)
    reports.daily_report_save(
        rep=sales_rep,
        day=reports.local_today(),
        activities=[
            reports.ActivityInput(
                kind="call",
                occurred_at=timezone.now(),
                minutes=10,
                outcome="Price agreed",
                deal_id=deal.pk,
            )
        ],
    )
    inquiry = channels.inquiry_log(
        actor=sales_rep,
        channel="sales_rep",
        customer=Customer(contact=contact),
        subject="Delivery date",
        body="When can you deliver?",
    )
    LeadScore.objects.create(
        contact=contact,
        score=64,
        segment="hot",
        breakdown=[{"rule": 1, "name": "Visited the expo", "kind": "behaviour", "points": 64}],
    )
    return {"contact": contact, "deal": deal, "quote": quote, "inquiry": inquiry}


def test_it_shows_who_they_are_journey_and_score(browser, sales_rep, customer):
    contact = customer["contact"]

    html = browser(sales_rep).get(f"/app/contacts/{contact.pk}/").content.decode()

    assert 'id="journey-stage" data-stage="prospect"' in html
    assert "Kansai Robotics" in html
    assert '<span class="score">64</span>' in html
    assert "<td>Visited the expo</td><td>Behaviour</td>" in html
    assert "qualified" in html


def test_it_puts_every_departments_work_on_one_timeline(browser, sales_rep, customer):
    contact, deal, quote = customer["contact"], customer["deal"], customer["quote"]

    html = browser(sales_rep).get(f"/app/contacts/{contact.pk}/").content.decode()
    timeline = html[html.index('id="timeline"') :]

    kinds = [part.split('"')[0] for part in timeline.split('data-kind="')[1:]]
    assert sorted(kinds) == sorted(
        ["inquiry_message", "call", "deal_update", "quote", "deal_update", "event_visit"]
    )
    assert "Visited our booth" in timeline
    assert "campaign Tokyo Expo" in timeline
    assert f'<a href="/app/deals/{deal.pk}/">quote {quote.number}</a>' in timeline
    assert "Call (Welding cells): Price agreed" in timeline
    assert f"inquiry #{customer['inquiry'].pk}" in timeline


def test_it_filters_the_timeline_by_department(browser, sales_rep, customer):
    contact = customer["contact"]

    html = (
        browser(sales_rep).get(f"/app/contacts/{contact.pk}/?department=support").content.decode()
    )
    timeline = html[html.index('id="timeline"') :]

    assert [part.split('"')[0] for part in timeline.split('data-kind="')[1:]] == ["inquiry_message"]


def test_it_shows_only_the_deals_and_inquiries_the_reader_may_see(browser, customer):
    other_rep = user_with_role(roles.SALES_REP, username="other")
    contact = customer["contact"]
    DealFactory(owner=other_rep, name="Other's deal", account=contact.account, contact=contact)

    html = browser(other_rep).get(f"/app/contacts/{contact.pk}/").content.decode()
    deals_section = html[html.index('id="deals"') : html.index('id="inquiries"')]

    assert "Other&#x27;s deal" in deals_section
    assert "Welding cells" not in deals_section
    assert "Delivery date" in html  # the inquiry of a customer of their own deal


def test_it_reads_the_contact_page_in_a_fixed_number_of_queries(
    browser, sales_rep, customer, django_assert_max_num_queries
):
    contact = customer["contact"]
    earlier = timezone.now() - timedelta(days=1)
    for index in range(50):
        touchpoint_record(
            kind="web_visit",
            channel="web",
            contact=contact,
            occurred_at=earlier,
            summary=f"Page {index}",
        )
    client = browser(sales_rep)
    client.get(f"/app/contacts/{contact.pk}/")

    with django_assert_max_num_queries(14):
        response = client.get(f"/app/contacts/{contact.pk}/")

    assert response.content.decode().count("data-kind=") == 50  # one page of the timeline


def test_it_pages_through_an_older_timeline(browser, sales_rep):
    contact = ContactFactory()
    for index in range(55):
        touchpoint_record(kind="web_visit", channel="web", contact=contact, summary=f"Page {index}")

    html = browser(sales_rep).get(f"/app/contacts/{contact.pk}/?page=2").content.decode()

    assert html.count("data-kind=") == 5
    assert "?page=1#timeline" in html


def test_it_shows_empty_states_for_a_new_contact(browser, sales_rep):
    contact = ContactFactory(name="New Person")

    html = browser(sales_rep).get(f"/app/contacts/{contact.pk}/").content.decode()

    assert "Not scored yet." in html
    assert "Nothing on the timeline yet." in html
    assert "No deals you can see." in html
    assert "No inquiries you can see." in html


def test_it_shows_the_account_with_its_people_deals_and_timeline(browser, sales_rep, customer):
    account = customer["contact"].account
    ContactFactory(name="Second Person", account=account)

    html = browser(sales_rep).get(f"/app/accounts/{account.pk}/").content.decode()

    assert "2 people" in html
    assert "Second Person" in html
    assert "Welding cells" in html
    assert "Visited our booth" in html


# --- Search -------------------------------------------------------------------------------------


def test_it_searches_customers_deals_and_inquiries_the_user_may_see(browser, sales_rep, customer):
    DealFactory(name="Kansai hidden deal")

    html = browser(sales_rep).get("/app/search/?q=kansai").content.decode()

    assert 'id="search-accounts"' in html
    assert "Kansai Robotics" in html
    assert "Aiko Tanaka" in html  # through her account's name
    assert "Welding cells" in html
    assert "Kansai hidden deal" not in html


def test_it_finds_an_inquiry_by_its_number(browser, sales_rep, customer):
    inquiry = customer["inquiry"]

    html = browser(sales_rep).get(f"/app/search/?q=%23{inquiry.pk}").content.decode()

    assert f"#{inquiry.pk} Delivery date" in html


def test_it_answers_the_search_box_with_a_short_list(browser, sales_rep, customer):
    response = browser(sales_rep).get(
        "/app/search/?q=aiko", headers={"HX-Request": "true", "HX-Target": "search-suggest"}
    )

    html = response.content.decode()
    assert "<html" not in html
    assert "Aiko Tanaka" in html
    assert 'href="/app/search/?q=aiko">All results' in html


def test_it_says_when_nothing_matches(browser, sales_rep):
    html = browser(sales_rep).get("/app/search/?q=zzzz").content.decode()

    assert "Nothing matches “zzzz”." in html


def test_it_searches_in_a_fixed_number_of_queries(
    browser, sales_rep, django_assert_max_num_queries
):
    for index in range(30):
        DealFactory(owner=sales_rep, name=f"Match deal {index}")
    client = browser(sales_rep)
    client.get("/app/search/?q=match")

    with django_assert_max_num_queries(8):
        response = client.get("/app/search/?q=match")

    assert response.content.decode().count('href="/app/deals/') == 10
