"""Quotes as services: totals, numbering, the status machine, and what sending, accepting and
expiring do to the deal and the customer's timeline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import JourneyStage, Touchpoint
from frontoffice.errors import ApplicationError, ConflictError
from pipeline import quotes, tasks
from pipeline.deals import deal_move
from pipeline.models import (
    Deal,
    DealStageChange,
    QuoteLine,
    QuoteNumberSequence,
    QuoteStatus,
    QuoteStatusChange,
)
from pipeline.quotes import (
    can_transition,
    compute_totals,
    expire_quotes,
    format_money,
    quote_accept,
    quote_create,
    quote_reject,
    quote_send,
    quote_update,
)
from tests.factories import AccountFactory, ContactFactory, DealFactory, ProductFactory

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TOKYO)
LAST_WEEK = dt.datetime(2026, 2, 23, 9, 0, tzinfo=TOKYO)
D = Decimal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def deal(sales_rep):
    account = AccountFactory(name="Acme KK")
    return DealFactory(
        name="Acme ERP",
        owner=sales_rep,
        account=account,
        contact=ContactFactory(name="Hanako Sato", account=account),
        stage="opportunity",
        currency="JPY",
        stage_changed_at=LAST_WEEK,
        last_activity_at=LAST_WEEK,
    )


@pytest.fixture
def licence():
    return ProductFactory(code="ERP-1", name="ERP licence", unit_price=D("1000"), currency="JPY")


def _line(product, quantity="1", **extra):
    return {"product": product, "quantity": D(quantity), **extra}


def _draft(deal, product, *, actor=None, **extra):
    return quote_create(deal=deal, lines=[_line(product, "2")], actor=actor, **extra)


def _history(quote) -> list[tuple[str, str]]:
    return list(
        QuoteStatusChange.objects.filter(quote=quote)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status")
    )


# --- Totals (pure) ------------------------------------------------------------------------------


def test_it_computes_jpy_totals_with_discounts_and_tax_rounded_to_whole_yen():
    totals = compute_totals(
        lines=[(D("3"), D("1000"), D("10")), (D("1"), D("333"), D("12.5"))],
        tax_rate=D("0.10"),
        currency="JPY",
    )

    assert [(line.gross, line.discount, line.total) for line in totals.lines] == [
        (D("3000"), D("300"), D("2700")),
        (D("333"), D("42"), D("291")),  # 41.625 → 42
    ]
    assert (totals.subtotal, totals.discount_total, totals.tax_total, totals.total) == (
        D("3333"),
        D("342"),
        D("299"),  # 10% of 2,991 = 299.1
        D("3290"),
    )


def test_it_rounds_half_up_not_to_even():
    totals = compute_totals(
        lines=[(D("1"), D("5"), D("10")), (D("1"), D("11"), D("0"))],
        tax_rate=D("0.10"),
        currency="JPY",
    )

    # Discount 0.5 → 1 and tax 1.5 → 2 (banker's rounding would give 0 and 2 on 16).
    assert (totals.subtotal, totals.discount_total, totals.tax_total, totals.total) == (
        D("16"),
        D("1"),
        D("2"),
        D("17"),
    )


def test_it_computes_usd_totals_to_the_cent():
    totals = compute_totals(
        lines=[(D("1.5"), D("33.31"), D("15")), (D("2"), D("19.99"), D("0"))],
        tax_rate=D("0.0825"),
        currency="USD",
    )

    assert [(line.gross, line.discount, line.total) for line in totals.lines] == [
        (D("49.97"), D("7.50"), D("42.47")),  # 49.965 → 49.97; 7.4955 → 7.50
        (D("39.98"), D("0.00"), D("39.98")),
    ]
    assert (totals.subtotal, totals.discount_total, totals.tax_total, totals.total) == (
        D("89.95"),
        D("7.50"),
        D("6.80"),  # 8.25% of 82.45 = 6.802125
        D("89.25"),
    )


def test_it_rounds_a_fractional_quantity_of_yen_to_whole_yen():
    totals = compute_totals(lines=[(D("2.5"), D("333"), D("0"))], tax_rate=D(0), currency="JPY")

    assert (totals.lines[0].gross, totals.total) == (D("833"), D("833"))  # 832.5


def test_it_formats_amounts_in_the_currency():
    assert (format_money(D("1234567.00"), "JPY"), format_money(D("1234.5"), "USD")) == (
        "JPY 1,234,567",
        "USD 1,234.50",
    )


@pytest.mark.parametrize(
    ("from_status", "to_status", "allowed"),
    [
        ("draft", "sent", True),
        ("sent", "accepted", True),
        ("sent", "rejected", True),
        ("sent", "expired", True),
        ("draft", "accepted", False),
        ("draft", "rejected", False),
        ("draft", "expired", False),
        ("sent", "draft", False),
        ("accepted", "rejected", False),
        ("rejected", "sent", False),
        ("expired", "sent", False),
    ],
)
def test_it_knows_which_status_changes_are_allowed(from_status, to_status, allowed):
    assert can_transition(from_status, to_status) is allowed


# --- Creating and editing -----------------------------------------------------------------------


def test_it_stores_a_jpy_quote_with_its_lines_totals_and_first_history_row(
    deal, licence, sales_rep
):
    support = ProductFactory(code="SUP-1", name="Support", unit_price=D("333"), currency="JPY")

    quote = quote_create(
        deal=deal,
        lines=[
            _line(licence, "3", discount_percent=D("10"), description="Year one"),
            _line(support, "1", discount_percent=D("12.5")),
        ],
        tax_rate=D("0.1"),
        valid_until=dt.date(2026, 3, 31),
        actor=sales_rep,
    )

    quote.refresh_from_db()
    assert (quote.number, quote.status, quote.currency, quote.created_by) == (
        "Q-2026-00001",
        "draft",
        "JPY",
        sales_rep,
    )
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        D("3333"),
        D("342"),
        D("299"),
        D("3290"),
    )
    assert list(
        quote.lines.order_by("position").values_list(
            "position", "product__code", "quantity", "unit_price", "line_total", "description"
        )
    ) == [
        (1, "ERP-1", D("3"), D("1000"), D("2700"), "Year one"),
        (2, "SUP-1", D("1"), D("333"), D("291"), ""),
    ]
    assert _history(quote) == [("", "draft")]


def test_it_takes_the_list_price_unless_a_unit_price_is_given(deal, licence):
    quote = quote_create(
        deal=deal, lines=[_line(licence, "1"), _line(licence, "1", unit_price=D("800"))]
    )

    assert list(quote.lines.order_by("position").values_list("unit_price", flat=True)) == [
        D("1000"),
        D("800"),
    ]
    assert quote.total == D("1800")


def test_it_stores_a_usd_quote_to_the_cent(sales_rep):
    deal = DealFactory(owner=sales_rep, currency="USD")
    widget = ProductFactory(code="W-1", unit_price=D("33.31"), currency="USD")
    gadget = ProductFactory(code="G-1", unit_price=D("19.99"), currency="USD")

    quote = quote_create(
        deal=deal,
        lines=[_line(widget, "1.5", discount_percent=D("15")), _line(gadget, "2")],
        tax_rate=D("0.0825"),
    )

    quote.refresh_from_db()
    assert (quote.currency, quote.subtotal, quote.discount_total, quote.tax_total) == (
        "USD",
        D("89.95"),
        D("7.50"),
        D("6.80"),
    )
    assert quote.total == D("89.25")


def test_it_refuses_a_product_priced_in_another_currency_and_stores_nothing(deal, licence):
    dollars = ProductFactory(code="US-1", currency="USD")

    with pytest.raises(ApplicationError) as refused:
        quote_create(deal=deal, lines=[_line(licence), _line(dollars)])

    assert refused.value.errors == {
        "lines": {1: {"product": ["US-1 is priced in USD; this quote is in JPY."]}}
    }
    assert (quotes.Quote.objects.count(), QuoteLine.objects.count()) == (0, 0)
    assert QuoteNumberSequence.objects.count() == 0


@pytest.mark.parametrize(
    ("line", "errors"),
    [
        (
            {"quantity": D("0")},
            {"quantity": ["Ensure this value is greater than or equal to 0.01."]},
        ),
        (
            {"discount_percent": D("150")},
            {"discount_percent": ["Ensure this value is less than or equal to 100."]},
        ),
        ({"colour": "red"}, {"colour": ["Unknown field."]}),
    ],
)
def test_it_refuses_a_bad_line_with_its_field_message(deal, licence, line, errors):
    with pytest.raises(ApplicationError) as refused:
        quote_create(deal=deal, lines=[{**_line(licence), **line}])

    assert refused.value.errors == {"lines": {0: errors}}
    assert quotes.Quote.objects.count() == 0


def test_it_refuses_a_product_no_longer_sold(deal):
    retired = ProductFactory(code="OLD-1", is_active=False)

    with pytest.raises(ApplicationError) as refused:
        quote_create(deal=deal, lines=[_line(retired)])

    assert refused.value.errors == {"lines": {0: {"product": ["OLD-1 is no longer sold."]}}}


def test_it_refuses_a_quote_on_a_closed_deal(sales_rep, licence):
    lost = DealFactory(owner=sales_rep, stage="lost", closed_at=NOW, lost_reason="budget")

    with pytest.raises(ConflictError):
        quote_create(deal=lost, lines=[_line(licence)])

    assert quotes.Quote.objects.count() == 0


def test_it_replaces_a_drafts_lines_and_recomputes_the_totals(deal, licence):
    quote = _draft(deal, licence)

    quote_update(
        quote=quote, lines=[_line(licence, "5", discount_percent=D("20"))], tax_rate=D("0.08")
    )

    quote.refresh_from_db()
    assert list(quote.lines.values_list("position", "quantity", "line_total")) == [
        (1, D("5"), D("4000"))
    ]
    assert (quote.subtotal, quote.discount_total, quote.tax_total, quote.total) == (
        D("5000"),
        D("1000"),
        D("320"),
        D("4320"),
    )


def test_it_recomputes_the_tax_when_only_the_rate_changes(deal, licence):
    quote = _draft(deal, licence)

    quote_update(quote=quote, tax_rate=D("0.1"))

    quote.refresh_from_db()
    assert (quote.tax_total, quote.total, quote.lines.count()) == (D("200"), D("2200"), 1)


def test_it_refuses_to_edit_a_sent_quote(deal, licence):
    quote = _draft(deal, licence)
    quote_send(quote=quote)

    with pytest.raises(ConflictError) as refused:
        quote_update(quote=quote, lines=[_line(licence, "9")])

    assert refused.value.errors == {"status": ["The quote is sent; only a draft can be changed."]}
    assert list(quote.lines.values_list("quantity", flat=True)) == [D("2")]


# --- Numbering ----------------------------------------------------------------------------------


def test_it_numbers_quotes_in_sequence_within_a_year(deal, licence):
    numbers = [_draft(deal, licence).number for _ in range(3)]

    assert numbers == ["Q-2026-00001", "Q-2026-00002", "Q-2026-00003"]
    assert QuoteNumberSequence.objects.get(year=2026).last_number == 3


def test_it_restarts_the_numbers_on_new_year_in_local_time(deal, licence):
    _draft(deal, licence)

    # 15:30 UTC on 31 December is already New Year's Day in Tokyo.
    with time_machine.travel(dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.UTC), tick=False):
        new_year = _draft(deal, licence)

    assert (new_year.number, new_year.year, new_year.sequence) == ("Q-2027-00001", 2027, 1)


def test_it_never_reuses_the_number_of_a_deleted_quote(deal, licence):
    _draft(deal, licence)
    deleted = _draft(deal, licence)
    deleted.delete()

    assert _draft(deal, licence).number == "Q-2026-00003"


def test_it_gives_back_no_number_when_the_creation_is_refused(deal, licence):
    _draft(deal, licence)
    with pytest.raises(ApplicationError):
        quote_create(deal=deal, lines=[_line(licence, "0")])

    assert _draft(deal, licence).number == "Q-2026-00002"


def test_it_continues_after_existing_quotes_when_the_year_row_is_missing(deal, licence):
    _draft(deal, licence)
    QuoteNumberSequence.objects.all().delete()

    assert _draft(deal, licence).number == "Q-2026-00002"


# --- The status machine -------------------------------------------------------------------------


def _in_status(deal, product, status: str):
    quote = _draft(deal, product)
    if status == "draft":
        return quote
    quote_send(quote=quote)
    if status == "accepted":
        quote_accept(quote=quote)
    elif status == "rejected":
        quote_reject(quote=quote, reason="Too expensive")
    elif status == "expired":
        quotes.Quote.objects.filter(pk=quote.pk).update(valid_until=dt.date(2026, 3, 1))
        expire_quotes(now=NOW)
        quote.refresh_from_db()
    return quote


SEND, ACCEPT, REJECT = "send", "accept", "reject"


def _act(quote, action: str):
    if action == SEND:
        return quote_send(quote=quote)
    if action == ACCEPT:
        return quote_accept(quote=quote)
    return quote_reject(quote=quote, reason="Too expensive")


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("draft", SEND, [("", "draft"), ("draft", "sent")]),
        ("sent", ACCEPT, [("", "draft"), ("draft", "sent"), ("sent", "accepted")]),
        ("sent", REJECT, [("", "draft"), ("draft", "sent"), ("sent", "rejected")]),
    ],
)
def test_it_makes_an_allowed_change_with_its_history_row(
    deal, licence, sales_rep, status, action, expected
):
    quote = _in_status(deal, licence, status)

    change = _act(quote, action)

    quote.refresh_from_db()
    assert quote.status == expected[-1][1]
    assert _history(quote) == expected
    assert (change.from_status, change.to_status, change.created_at) == (*expected[-1], NOW)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", ACCEPT),
        ("draft", REJECT),
        ("sent", SEND),
        ("accepted", SEND),
        ("accepted", ACCEPT),
        ("accepted", REJECT),
        ("rejected", SEND),
        ("rejected", ACCEPT),
        ("rejected", REJECT),
        ("expired", SEND),
        ("expired", ACCEPT),
        ("expired", REJECT),
    ],
)
def test_it_refuses_a_change_the_status_does_not_allow_and_writes_no_row(
    deal, licence, status, action
):
    quote = _in_status(deal, licence, status)
    before = _history(quote)

    with pytest.raises(ConflictError):
        _act(quote, action)

    quote.refresh_from_db()
    assert (quote.status, _history(quote)) == (status, before)


def test_it_refuses_a_change_when_someone_else_changed_the_status_first(deal, licence):
    quote = _draft(deal, licence)
    stale = quotes.Quote.objects.get(pk=quote.pk)
    quote_send(quote=quote)
    quote_accept(quote=quote)

    with pytest.raises(ConflictError) as refused:
        quote_reject(quote=stale, reason="No budget")  # `stale` still reads "draft"

    assert refused.value.errors == {"status": ["A draft quote cannot become rejected."]}
    assert _history(quote)[-1] == ("sent", "accepted")


def test_it_loses_the_compare_and_set_against_a_change_it_did_not_see(deal, licence):
    quote = _draft(deal, licence)
    quote_send(quote=quote)
    stale = quotes.Quote.objects.get(pk=quote.pk)  # reads "sent"
    quote_reject(quote=quote, reason="No budget")

    with pytest.raises(ConflictError) as refused:
        quote_reject(quote=stale, reason="Chose a competitor")

    assert refused.value.errors == {"status": ["The status changed meanwhile."]}
    assert _history(quote).count(("sent", "rejected")) == 1


def test_it_needs_a_reason_to_reject(deal, licence):
    quote = _in_status(deal, licence, "sent")

    with pytest.raises(ApplicationError) as refused:
        quote_reject(quote=quote, reason="  ")

    assert refused.value.errors == {"reason": ["Say why the customer declined."]}
    quote.refresh_from_db()
    assert (quote.status, len(_history(quote))) == ("sent", 2)


def test_it_keeps_the_reason_on_the_rejection_row(deal, licence, sales_rep):
    quote = _in_status(deal, licence, "sent")

    quote_reject(quote=quote, reason="Chose a competitor", actor=sales_rep)

    change = QuoteStatusChange.objects.get(quote=quote, to_status="rejected")
    assert (change.note, change.actor) == ("Chose a competitor", sales_rep)
    quote.refresh_from_db()
    assert quote.decided_at == NOW
    assert Deal.objects.get(pk=deal.pk).stage == "quote"


# --- Sending ------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["list", "proposal", "opportunity"])
def test_it_moves_the_deal_to_quote_when_the_quote_is_sent(sales_rep, licence, stage):
    deal = DealFactory(owner=sales_rep, stage=stage, stage_changed_at=LAST_WEEK)
    quote = _draft(deal, licence)

    quote_send(quote=quote, actor=sales_rep)

    deal.refresh_from_db()
    assert (deal.stage, deal.stage_changed_at, deal.last_activity_at) == ("quote", NOW, NOW)
    move = DealStageChange.objects.filter(deal=deal).latest("created_at", "id")
    assert (move.from_stage, move.to_stage, move.actor, move.note) == (
        stage,
        "quote",
        sales_rep,
        "Quote Q-2026-00001 sent",
    )


def test_it_puts_the_sent_quote_on_the_customers_timeline(deal, licence, sales_rep):
    quote = _draft(deal, licence)

    quote_send(quote=quote, actor=sales_rep)

    touchpoint = Touchpoint.objects.get(kind="quote")
    assert (
        touchpoint.contact,
        touchpoint.account,
        touchpoint.channel,
        touchpoint.amount,
        touchpoint.currency,
        touchpoint.summary,
        touchpoint.actor,
        touchpoint.occurred_at,
        touchpoint.source,
    ) == (
        deal.contact,
        deal.account,
        "sales_rep",
        D("2000"),
        "JPY",
        "Quote Q-2026-00001 sent: JPY 2,000",
        sales_rep,
        NOW,
        quote,
    )
    quote.refresh_from_db()
    assert quote.sent_at == NOW


def test_it_leaves_a_deal_already_at_quote_where_it_is(sales_rep, licence):
    deal = DealFactory(owner=sales_rep, stage="quote", stage_changed_at=LAST_WEEK)
    quote = _draft(deal, licence)

    quote_send(quote=quote)

    deal.refresh_from_db()
    assert (deal.stage, deal.stage_changed_at, deal.last_activity_at) == ("quote", LAST_WEEK, NOW)
    assert DealStageChange.objects.filter(deal=deal).count() == 1


def test_it_refuses_to_send_a_quote_on_a_closed_deal(deal, licence, sales_rep):
    quote = _draft(deal, licence)
    deal_move(deal=deal, to_stage="lost", note="Budget cut", actor=sales_rep)

    with pytest.raises(ConflictError) as refused:
        quote_send(quote=quote)

    assert refused.value.errors == {"deal": ["The deal is lost; a quote on it cannot be sent."]}
    quote.refresh_from_db()
    assert (quote.status, _history(quote)) == ("draft", [("", "draft")])
    assert not Touchpoint.objects.filter(kind="quote").exists()


def test_it_refuses_to_send_an_empty_quote(deal):
    quote = quote_create(deal=deal, lines=[])

    with pytest.raises(ApplicationError) as refused:
        quote_send(quote=quote)

    assert refused.value.errors == {"lines": ["Add at least one line before sending the quote."]}
    assert _history(quote) == [("", "draft")]


def test_it_refuses_to_send_a_quote_whose_validity_has_passed(deal, licence):
    quote = _draft(deal, licence, valid_until=dt.date(2026, 3, 1))

    with pytest.raises(ApplicationError) as refused:
        quote_send(quote=quote)

    assert list(refused.value.errors) == ["valid_until"]
    assert Deal.objects.get(pk=deal.pk).stage == "opportunity"


# --- Accepting ----------------------------------------------------------------------------------


def test_it_wins_the_deal_at_the_quotes_total_when_the_quote_is_accepted(deal, licence, sales_rep):
    quote = quote_create(deal=deal, lines=[_line(licence, "3")], tax_rate=D("0.1"))
    quote_send(quote=quote, actor=sales_rep)

    quote_accept(quote=quote, actor=sales_rep)

    deal.refresh_from_db()
    assert (deal.stage, deal.amount, deal.closed_at) == ("won", D("3300"), NOW)
    won = DealStageChange.objects.get(deal=deal, to_stage="won")
    assert (won.from_stage, won.amount, won.note) == (
        "quote",
        D("3300"),
        "Quote Q-2026-00001 accepted",
    )
    quote.refresh_from_db()
    assert (quote.status, quote.decided_at) == ("accepted", NOW)


def test_it_makes_the_contact_a_customer_with_an_order_on_the_timeline(deal, licence, sales_rep):
    quote = _in_status(deal, licence, "sent")

    quote_accept(quote=quote, actor=sales_rep)

    deal.contact.refresh_from_db()
    assert deal.contact.stage == JourneyStage.CUSTOMER
    order = Touchpoint.objects.get(kind="order")
    assert (order.contact, order.amount, order.currency, order.actor) == (
        deal.contact,
        D("2000"),
        "JPY",
        sales_rep,
    )


def test_it_leaves_the_other_sent_quotes_sent_and_refuses_to_accept_them_after_the_win(
    deal, licence
):
    first = _in_status(deal, licence, "sent")
    second = _in_status(deal, licence, "sent")

    quote_accept(quote=first)
    with pytest.raises(ConflictError) as refused:
        quote_accept(quote=second)

    second.refresh_from_db()
    assert second.status == "sent"
    assert refused.value.errors == {"deal": ["The deal is won; a quote on it cannot be accepted."]}
    assert DealStageChange.objects.filter(deal=deal, to_stage="won").count() == 1
    assert Deal.objects.get(pk=deal.pk).amount == D("2000")


def test_it_lets_the_other_sent_quotes_be_rejected_after_the_win(deal, licence):
    first = _in_status(deal, licence, "sent")
    second = _in_status(deal, licence, "sent")
    quote_accept(quote=first)

    quote_reject(quote=second, reason="Superseded by Q-2026-00001")

    second.refresh_from_db()
    assert second.status == "rejected"


def test_it_rolls_the_acceptance_back_when_the_deal_cannot_be_won(sales_rep, licence):
    deal = DealFactory(owner=sales_rep, stage="quote", account=None, contact=None)
    quote = _draft(deal, licence)
    QuoteStatusChange.objects.create(quote=quote, from_status="draft", to_status="sent")
    quotes.Quote.objects.filter(pk=quote.pk).update(status="sent")
    quote.refresh_from_db()

    with pytest.raises(ApplicationError):
        quote_accept(quote=quote)

    quote.refresh_from_db()
    deal.refresh_from_db()
    assert (quote.status, deal.stage, deal.amount) == ("sent", "quote", D("1000000"))
    assert not QuoteStatusChange.objects.filter(quote=quote, to_status="accepted").exists()


# --- Expiry -------------------------------------------------------------------------------------


def test_it_expires_sent_quotes_after_their_last_valid_day_once(deal, licence):
    quote = _draft(deal, licence, valid_until=dt.date(2026, 3, 10))
    quote_send(quote=quote)

    last_day = expire_quotes(now=dt.datetime(2026, 3, 10, 23, 59, tzinfo=TOKYO))
    first_run = expire_quotes(now=dt.datetime(2026, 3, 11, 0, 5, tzinfo=TOKYO))
    second_run = expire_quotes(now=dt.datetime(2026, 3, 11, 0, 10, tzinfo=TOKYO))

    assert (last_day, first_run, second_run) == ({"expired": 0}, {"expired": 1}, {"expired": 0})
    quote.refresh_from_db()
    assert quote.status == "expired"
    assert _history(quote) == [("", "draft"), ("draft", "sent"), ("sent", "expired")]
    change = QuoteStatusChange.objects.get(quote=quote, to_status="expired")
    assert (change.actor, change.note) == (None, "Valid until 2026-03-10")


def test_it_expires_only_sent_quotes(deal, licence):
    _draft(deal, licence, valid_until=dt.date(2026, 3, 1))
    no_end = _in_status(deal, licence, "sent")
    rejected = _draft(deal, licence, valid_until=dt.date(2026, 3, 5))
    quote_send(quote=rejected)
    quote_reject(quote=rejected, reason="No")

    assert expire_quotes(now=dt.datetime(2026, 4, 1, tzinfo=TOKYO)) == {"expired": 0}
    assert set(quotes.Quote.objects.values_list("status", flat=True)) == {
        "draft",
        "sent",
        "rejected",
    }
    assert no_end.valid_until is None


def test_it_expires_through_the_celery_task_idempotently(deal, licence):
    quote = _draft(deal, licence, valid_until=dt.date(2026, 3, 10))
    quote_send(quote=quote)

    first = tasks.expire_quotes.delay(now="2026-03-12T09:00:00+09:00").get()
    second = tasks.expire_quotes.delay(now="2026-03-12T09:00:00+09:00").get()

    assert (first, second) == ({"expired": 1}, {"expired": 0})
    assert QuoteStatusChange.objects.filter(to_status=QuoteStatus.EXPIRED).count() == 1
