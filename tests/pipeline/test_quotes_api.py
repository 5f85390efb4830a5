"""/api/v1/products/ and /api/v1/quotes/, the printable quote and the quote admin: the same
services behind each, the same visibility rules, field messages for bad input, and no query per
row."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import roles
from accounts.models import Touchpoint
from pipeline.models import Deal, Product, Quote, QuoteLine, QuoteStatusChange
from pipeline.quotes import quote_create, quote_reject, quote_send
from tests.api_helpers import result_ids
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DealFactory,
    ProductFactory,
    TeamFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=TOKYO)
LAST_WEEK = dt.datetime(2026, 2, 23, 9, 0, tzinfo=TOKYO)
URL = "/api/v1/quotes/"
PRODUCTS = "/api/v1/products/"
D = Decimal


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
        contact=ContactFactory(name="Hanako Sato", email="hanako@acme.example", account=account),
        stage="opportunity",
        stage_changed_at=LAST_WEEK,
        last_activity_at=LAST_WEEK,
    )


@pytest.fixture
def licence():
    return ProductFactory(code="ERP-1", name="ERP licence", unit_price=D("1000"), series="ERP")


@pytest.fixture
def support():
    return ProductFactory(code="SUP-1", name="Support", unit_price=D("333"), series="Services")


@pytest.fixture
def other_rep(db):
    return user_with_role(roles.SALES_REP, username="other-rep")


def _client(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _draft(deal, product, quantity="2", **extra) -> Quote:
    return quote_create(
        deal=deal, lines=[{"product": product, "quantity": D(quantity)}], actor=deal.owner, **extra
    )


# --- Creating -----------------------------------------------------------------------------------


def test_it_creates_a_quote_with_its_lines_in_one_request(rep_client, deal, licence, support):
    response = rep_client.post(
        URL,
        {
            "deal": deal.pk,
            "tax_rate": "0.10",
            "valid_until": "2026-03-31",
            "notes": "Delivery within 30 days.",
            "lines": [
                {
                    "product": licence.pk,
                    "quantity": "3",
                    "discount_percent": "10",
                    "description": "Year one",
                },
                {"product": support.pk, "quantity": "1", "discount_percent": "12.5"},
            ],
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    quote = Quote.objects.get()
    assert {key: body[key] for key in ("id", "number", "status", "currency", "deal")} == {
        "id": quote.pk,
        "number": "Q-2026-00001",
        "status": "draft",
        "currency": "JPY",
        "deal": deal.pk,
    }
    assert [body[key] for key in ("subtotal", "discount_total", "tax_total", "total")] == [
        "3333.00",
        "342.00",
        "299.00",
        "3290.00",
    ]
    assert [
        (line["position"], line["product_code"], line["unit_price"], line["line_total"])
        for line in body["lines"]
    ] == [(1, "ERP-1", "1000.00", "2700.00"), (2, "SUP-1", "333.00", "291.00")]
    assert (body["account_name"], body["contact_name"]) == ("Acme KK", "Hanako Sato")
    assert body["print_url"] == f"/pipeline/quotes/{quote.pk}/print/"
    assert list(QuoteStatusChange.objects.values_list("from_status", "to_status")) == [
        ("", "draft")
    ]


@pytest.mark.parametrize(
    ("line", "errors"),
    [
        (
            {"quantity": "0"},
            {"lines": {"0": {"quantity": ["Ensure this value is greater than or equal to 0.01."]}}},
        ),
        (
            {"discount_percent": "150"},
            {
                "lines": {
                    "0": {"discount_percent": ["Ensure this value is less than or equal to 100."]}
                }
            },
        ),
        (
            {"product": 999999},
            {"lines": {"0": {"product": ['Invalid pk "999999" - object does not exist.']}}},
        ),
        ({"quantity": "many"}, {"lines": {"0": {"quantity": ["A valid number is required."]}}}),
        ({"colour": "red"}, {"lines": {"0": {"colour": ["Unknown field."]}}}),
        (
            {"unit_price": "-1"},
            {"lines": {"0": {"unit_price": ["Ensure this value is greater than or equal to 0."]}}},
        ),
    ],
)
def test_it_refuses_a_bad_line_with_its_field_message(rep_client, deal, licence, line, errors):
    body = {"deal": deal.pk, "lines": [{"product": licence.pk, "quantity": "1", **line}]}

    response = rep_client.post(URL, body)

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", "errors": errors}
    assert (Quote.objects.count(), QuoteLine.objects.count()) == (0, 0)


def test_it_refuses_a_product_no_longer_sold(rep_client, deal):
    retired = ProductFactory(code="OLD-1", is_active=False)

    response = rep_client.post(
        URL, {"deal": deal.pk, "lines": [{"product": retired.pk, "quantity": "1"}]}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"lines": {"0": {"product": ["OLD-1 is no longer sold."]}}}
    assert Quote.objects.count() == 0


def test_it_refuses_a_product_in_another_currency(rep_client, deal, licence):
    dollars = ProductFactory(code="US-1", currency="USD")

    response = rep_client.post(
        URL,
        {
            "deal": deal.pk,
            "lines": [
                {"product": licence.pk, "quantity": "1"},
                {"product": dollars.pk, "quantity": "1"},
            ],
        },
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "lines": {"1": {"product": ["US-1 is priced in USD; this quote is in JPY."]}}
    }
    assert Quote.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"tax_rate": "1.5"}, "tax_rate"),
        ({"tax_rate": "0.123456"}, "tax_rate"),
        ({"valid_until": "next week"}, "valid_until"),
        ({"deal": None}, "deal"),
        ({"deal": 1.5}, "deal"),
        ({"lines": "ERP-1 x 3"}, "lines"),
    ],
)
def test_it_refuses_a_bad_quote_with_a_field_message(rep_client, deal, body, field):
    response = rep_client.post(URL, {"deal": deal.pk, "lines": [], **body})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert Quote.objects.count() == 0


def test_it_does_not_let_a_rep_quote_another_reps_deal(rep_client, other_rep, licence):
    theirs = DealFactory(owner=other_rep)

    response = rep_client.post(
        URL, {"deal": theirs.pk, "lines": [{"product": licence.pk, "quantity": "1"}]}
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "deal": [f'Invalid pk "{theirs.pk}" - object does not exist.']
    }


def test_it_refuses_a_quote_on_a_closed_deal_with_409(rep_client, sales_rep, licence):
    won = DealFactory(owner=sales_rep, stage="won", closed_at=NOW)

    response = rep_client.post(
        URL, {"deal": won.pk, "lines": [{"product": licence.pk, "quantity": "1"}]}
    )

    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["deal"]


def test_it_does_not_let_a_support_agent_write_quotes(agent_client, deal, licence):
    response = agent_client.post(
        URL, {"deal": deal.pk, "lines": [{"product": licence.pk, "quantity": "1"}]}
    )

    assert response.status_code == 403
    assert Quote.objects.count() == 0


# --- Editing ------------------------------------------------------------------------------------


def test_it_replaces_the_lines_of_a_draft(rep_client, deal, licence, support):
    quote = _draft(deal, licence)

    response = rep_client.patch(
        f"{URL}{quote.pk}/",
        {"lines": [{"product": support.pk, "quantity": "3", "unit_price": "300"}]},
    )

    assert response.status_code == 200, response.json()
    assert [(line["product_code"], line["line_total"]) for line in response.json()["lines"]] == [
        ("SUP-1", "900.00")
    ]
    assert response.json()["total"] == "900.00"
    assert list(QuoteLine.objects.values_list("product__code", "quantity")) == [("SUP-1", D("3"))]


def test_it_refuses_to_edit_a_sent_quote_with_409(rep_client, deal, licence, support):
    quote = _draft(deal, licence)
    quote_send(quote=quote)

    response = rep_client.patch(
        f"{URL}{quote.pk}/", {"lines": [{"product": support.pk, "quantity": "1"}]}
    )

    assert response.status_code == 409
    assert response.json()["errors"] == {
        "status": ["The quote is sent; only a draft can be changed."]
    }
    assert list(QuoteLine.objects.values_list("product__code", flat=True)) == ["ERP-1"]


def test_it_refuses_unknown_fields_and_put_on_a_quote(rep_client, deal, licence):
    quote = _draft(deal, licence)

    patched = rep_client.patch(f"{URL}{quote.pk}/", {"status": "accepted"})
    put = rep_client.put(f"{URL}{quote.pk}/", {"notes": "x"})

    assert (patched.status_code, put.status_code) == (400, 405)
    assert patched.json()["errors"] == {"status": ["Unknown field."]}
    assert Quote.objects.get().status == "draft"


# --- Send, accept, reject, history --------------------------------------------------------------


def test_it_sends_a_quote_and_moves_the_deal_to_quote(rep_client, deal, licence):
    quote = _draft(deal, licence)

    response = rep_client.post(f"{URL}{quote.pk}/send/")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["sent_at"]) == (
        "sent",
        "2026-03-02T10:00:00+09:00",
    )
    assert Deal.objects.get(pk=deal.pk).stage == "quote"
    assert Touchpoint.objects.filter(kind="quote", contact=deal.contact).count() == 1


def test_it_wins_the_deal_when_a_quote_is_accepted(rep_client, deal, licence):
    quote = _draft(deal, licence)
    quote_send(quote=quote)

    response = rep_client.post(f"{URL}{quote.pk}/accept/")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted"
    deal.refresh_from_db()
    assert (deal.stage, deal.amount) == ("won", D("2000"))


def test_it_needs_a_reason_to_reject_a_quote(rep_client, deal, licence):
    quote = _draft(deal, licence)
    quote_send(quote=quote)

    missing = rep_client.post(f"{URL}{quote.pk}/reject/", {})
    unknown = rep_client.post(f"{URL}{quote.pk}/reject/", {"reason": "x", "why": "y"})
    rejected = rep_client.post(f"{URL}{quote.pk}/reject/", {"reason": "Chose a competitor"})

    assert (missing.status_code, unknown.status_code, rejected.status_code) == (400, 400, 200)
    assert missing.json()["errors"] == {"reason": ["This field is required."]}
    assert unknown.json()["errors"] == {"why": ["Unknown field."]}
    assert rejected.json()["status"] == "rejected"
    assert list(QuoteStatusChange.objects.filter(to_status="rejected").values_list("note")) == [
        ("Chose a competitor",)
    ]


@pytest.mark.parametrize("action", ["accept", "send"])
def test_it_answers_409_to_a_change_the_status_does_not_allow(rep_client, deal, licence, action):
    quote = _draft(deal, licence)
    if action == "send":
        quote_send(quote=quote)

    response = rep_client.post(f"{URL}{quote.pk}/{action}/")

    assert response.status_code == 409
    assert list(response.json()["errors"]) == ["status"]
    assert QuoteStatusChange.objects.filter(quote=quote).count() == (2 if action == "send" else 1)


def test_it_needs_the_named_permissions_for_the_actions(deal, licence):
    marketer = user_with_role(roles.MARKETER, username="mk")
    quote = _draft(deal, licence)

    response = _client(marketer).post(f"{URL}{quote.pk}/send/")

    assert response.status_code == 403
    assert Quote.objects.get().status == "draft"


def test_it_shows_the_status_history_newest_first(rep_client, deal, licence, sales_rep):
    quote = _draft(deal, licence)
    quote_send(quote=quote, actor=sales_rep)

    response = rep_client.get(f"{URL}{quote.pk}/history/")

    assert response.status_code == 200
    assert [
        (row["from_status"], row["to_status"], row["actor_name"])
        for row in response.json()["results"]
    ] == [("draft", "sent", sales_rep.get_full_name()), ("", "draft", sales_rep.get_full_name())]


# --- Visibility ---------------------------------------------------------------------------------


def test_it_hides_another_reps_quote_everywhere(rep_client, other_rep, licence):
    theirs = _draft(DealFactory(owner=other_rep), licence)
    base = f"{URL}{theirs.pk}/"

    answers = [
        rep_client.get(base).status_code,
        rep_client.get(f"{base}history/").status_code,
        rep_client.patch(base, {"notes": "mine now"}).status_code,
        rep_client.post(f"{base}send/").status_code,
    ]

    assert answers == [404, 404, 404, 404]
    assert rep_client.get(URL).json()["count"] == 0
    assert Quote.objects.get().status == "draft"


def test_it_shows_a_manager_the_quotes_of_their_team_and_lets_them_send(
    manager_client, manager, deal, licence, sales_rep, other_rep
):
    team = TeamFactory(supervisor=manager)
    team.members.add(sales_rep)
    mine = _draft(deal, licence)
    _draft(DealFactory(owner=other_rep), licence)

    listed = manager_client.get(URL)
    sent = manager_client.post(f"{URL}{mine.pk}/send/")

    assert result_ids(listed) == [mine.pk]
    assert sent.status_code == 200


def test_it_lets_a_support_agent_read_but_not_send_a_served_customers_quote(
    agent_client, support_agent, deal, licence
):
    quote = _draft(deal, licence)
    Touchpoint.objects.create(
        kind="call",
        channel="phone",
        contact=deal.contact,
        account=deal.account,
        actor=support_agent,
    )

    read = agent_client.get(f"{URL}{quote.pk}/")
    sent = agent_client.post(f"{URL}{quote.pk}/send/")

    assert (read.status_code, sent.status_code) == (200, 403)


# --- Lists --------------------------------------------------------------------------------------


def _many_quotes(deal, products, count: int) -> None:
    for _ in range(count):
        quote_create(
            deal=deal,
            lines=[{"product": product, "quantity": D(1)} for product in products],
            actor=deal.owner,
        )


def test_it_lists_quotes_in_a_number_of_queries_that_does_not_grow_with_the_page(
    rep_client, deal, licence, support, django_assert_max_num_queries
):
    _many_quotes(deal, [licence, support], 12)

    rep_client.get(URL)  # the user's permissions are loaded once per request user
    with CaptureQueriesContext(connection) as small:
        rep_client.get(URL, {"page_size": 2})
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as large:
        response = rep_client.get(URL, {"page_size": 12})

    assert len(response.json()["results"]) == 12
    assert {len(row["lines"]) for row in response.json()["results"]} == {2}
    assert len(large.captured_queries) == len(small.captured_queries)


def test_it_filters_quotes(rep_client, deal, licence, sales_rep):
    cheap = _draft(deal, licence, quantity="1")
    dear = _draft(deal, licence, quantity="5")
    quote_send(quote=dear)
    elsewhere = _draft(DealFactory(owner=sales_rep), licence, quantity="3")

    def ids(**params):
        return sorted(result_ids(rep_client.get(URL, params)))

    assert ids(status="sent") == [dear.pk]
    assert ids(status=["draft", "sent"]) == sorted([cheap.pk, dear.pk, elsewhere.pk])
    assert ids(deal=deal.pk) == sorted([cheap.pk, dear.pk])
    assert ids(number="00002") == [dear.pk]
    assert ids(total_min="2000", total_max="4000") == [elsewhere.pk]
    assert ids(created_at_after="2026-03-02", created_at_before="2026-03-02") == sorted(
        [cheap.pk, dear.pk, elsewhere.pk]
    )
    assert ids(created_at_after="2026-03-03") == []


@pytest.mark.parametrize(
    "params",
    [
        {"status": "lost"},
        {"total_min": "lots"},
        {"total_max": "1e400"},
        {"deal": "10000000000000000000000"},
        {"created_at_after": "yesterday"},
        {"ordering": "password"},
    ],
)
def test_it_refuses_a_bad_filter_with_400(rep_client, params):
    response = rep_client.get(URL, params)

    assert response.status_code == (200 if "ordering" in params else 400)


def test_it_orders_quotes_by_total(rep_client, deal, licence):
    small = _draft(deal, licence, quantity="1")
    big = _draft(deal, licence, quantity="9")

    assert result_ids(rep_client.get(URL, {"ordering": "-total"})) == [big.pk, small.pk]


# --- Products -----------------------------------------------------------------------------------


def test_it_lists_and_filters_products_for_reps(rep_client, licence, support):
    ProductFactory(code="ERP-0", name="ERP legacy", series="ERP", is_active=False)

    def codes(**params):
        return [row["code"] for row in rep_client.get(PRODUCTS, params).json()["results"]]

    assert codes(q="erp", is_active="true") == ["ERP-1"]
    assert codes(series="ERP") == ["ERP-0", "ERP-1"]
    assert codes(is_active="false") == ["ERP-0"]
    assert rep_client.get(PRODUCTS, {"is_active": "maybe"}).status_code == 400


def test_it_lists_products_in_a_fixed_number_of_queries(rep_client, django_assert_max_num_queries):
    for index in range(30):
        ProductFactory(code=f"P-{index}")

    with django_assert_max_num_queries(5):
        response = rep_client.get(PRODUCTS, {"page_size": 30})

    assert len(response.json()["results"]) == 30


def test_it_lets_only_the_admin_edit_the_catalogue(rep_client, admin_client_api, licence):
    body = {"code": "CLD-1", "name": "Cloud plan", "unit_price": "49.90", "currency": "usd"}

    refused = rep_client.post(PRODUCTS, body)
    created = admin_client_api.post(PRODUCTS, body)
    changed = admin_client_api.patch(f"{PRODUCTS}{licence.pk}/", {"is_active": False})

    assert (refused.status_code, created.status_code, changed.status_code) == (403, 201, 200)
    assert (created.json()["currency"], created.json()["unit_price"]) == ("USD", "49.90")
    assert Product.objects.get(pk=licence.pk).is_active is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "yen!"}, "currency"),
        ({"unit_price": "-5"}, "unit_price"),
        ({"code": "ERP-1"}, "code"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_it_refuses_a_bad_product(admin_client_api, licence, body, field):
    response = admin_client_api.post(
        PRODUCTS, {"code": "NEW-1", "name": "New", "unit_price": "10", **body}
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_it_refuses_to_delete_a_product_on_a_quote(admin_client_api, deal, licence):
    _draft(deal, licence)

    response = admin_client_api.delete(f"{PRODUCTS}{licence.pk}/")

    assert response.status_code == 409
    assert Product.objects.filter(pk=licence.pk).exists()


# --- The printable quote ------------------------------------------------------------------------


def test_it_prints_a_quote_with_the_customer_the_lines_and_the_totals(
    sales_rep, deal, licence, support
):
    sales_rep.first_name, sales_rep.last_name = "Ichiro", "Suzuki"
    sales_rep.save()
    quote = quote_create(
        deal=deal,
        lines=[
            {"product": licence, "quantity": D("1200"), "discount_percent": D("5")},
            {"product": support, "quantity": D("1")},
        ],
        tax_rate=D("0.1"),
        valid_until=dt.date(2026, 3, 31),
    )

    response = _browser(sales_rep).get(f"/pipeline/quotes/{quote.pk}/print/")

    assert response.status_code == 200
    page = response.content.decode()
    for text in [
        "Q-2026-00001",
        "Acme KK",
        "Hanako Sato",
        "hanako@acme.example",
        "Ichiro Suzuki",
        "2026-03-31",
        "ERP licence",
        "JPY 1,000",  # unit price
        "JPY 1,140,000",  # 1,200 x 1,000 less 5%
        "JPY 1,200,333",  # subtotal
        "&minus;JPY 60,000",  # discount
        "Tax (10%)",
        "JPY 114,033",  # tax on 1,140,333
        "JPY 1,254,366",  # total
        "@media print",
    ]:
        assert text in page, text


def test_it_sends_an_anonymous_visitor_to_log_in(api_client, deal, licence):
    quote = _draft(deal, licence)

    response = Client().get(f"/pipeline/quotes/{quote.pk}/print/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("who", ["other_rep", "marketer"])
def test_it_answers_404_to_whoever_may_not_read_the_quote(request, deal, licence, who):
    quote = _draft(deal, licence)
    user = request.getfixturevalue(who)

    response = _browser(user).get(f"/pipeline/quotes/{quote.pk}/print/")

    assert response.status_code == 404


# --- The admin ----------------------------------------------------------------------------------


def _admin_form(deal, lines, **extra) -> dict:
    data = {
        "deal": deal.pk,
        "tax_rate": "0.1",
        "valid_until": "",
        "notes": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "status_changes-TOTAL_FORMS": "0",
        "status_changes-INITIAL_FORMS": "0",
        **extra,
    }
    for index, line in enumerate(lines):
        for name, value in line.items():
            data[f"lines-{index}-{name}"] = value
        data.setdefault(f"lines-{index}-discount_percent", "0")
    return data


def test_it_adds_a_quote_in_the_admin_through_the_service(sales_rep, deal, licence):
    response = _browser(sales_rep).post(
        "/admin/pipeline/quote/add/",
        _admin_form(deal, [{"product": licence.pk, "quantity": "3", "unit_price": ""}]),
    )

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    quote = Quote.objects.get()
    assert (quote.number, quote.total, quote.created_by) == ("Q-2026-00001", D("3300"), sales_rep)
    assert list(quote.lines.values_list("unit_price", "line_total")) == [(D("1000"), D("3000"))]


def test_it_shows_the_services_line_errors_in_the_admin(sales_rep, deal):
    dollars = ProductFactory(code="US-1", currency="USD")

    response = _browser(sales_rep).post(
        "/admin/pipeline/quote/add/",
        _admin_form(deal, [{"product": dollars.pk, "quantity": "1", "unit_price": "5"}]),
    )

    assert response.status_code == 200
    assert "US-1 is priced in USD; this quote is in JPY." in response.content.decode()
    assert Quote.objects.count() == 0


def test_it_shows_a_sent_quote_read_only_in_the_admin(sales_rep, deal, licence):
    quote = _draft(deal, licence)
    quote_send(quote=quote)
    browser = _browser(sales_rep)

    page = browser.get(f"/admin/pipeline/quote/{quote.pk}/change/")
    posted = browser.post(
        f"/admin/pipeline/quote/{quote.pk}/change/", _admin_form(deal, [], notes="changed")
    )

    assert page.status_code == 200
    assert 'name="lines-0-quantity"' not in page.content.decode()
    assert f'href="/pipeline/quotes/{quote.pk}/print/"' in page.content.decode()
    assert posted.status_code == 403
    assert Quote.objects.get().notes == ""


def test_it_sends_and_rejects_quotes_with_admin_actions(sales_rep, deal, licence):
    quote = _draft(deal, licence)
    browser = _browser(sales_rep)
    selected = {"_selected_action": [quote.pk]}

    confirm = browser.post("/admin/pipeline/quote/", {**selected, "action": "send_quotes"})
    browser.post("/admin/pipeline/quote/", {**selected, "action": "send_quotes", "apply": "1"})
    browser.post(
        "/admin/pipeline/quote/",
        {**selected, "action": "reject_quotes", "apply": "1", "reason": "Too expensive"},
    )

    assert confirm.status_code == 200
    assert list(
        QuoteStatusChange.objects.filter(quote=quote)
        .order_by("created_at", "id")
        .values_list("to_status", "actor", "note")
    ) == [
        ("draft", sales_rep.pk, ""),
        ("sent", sales_rep.pk, ""),
        ("rejected", sales_rep.pk, "Too expensive"),
    ]
    assert Deal.objects.get(pk=deal.pk).stage == "quote"


def test_it_lists_only_visible_quotes_in_the_admin(
    sales_rep, other_rep, deal, licence, django_assert_max_num_queries
):
    for _ in range(10):
        _draft(deal, licence)
    theirs = _draft(DealFactory(owner=other_rep), licence)

    browser = _browser(sales_rep)

    with django_assert_max_num_queries(20):
        response = browser.get("/admin/pipeline/quote/")
    history = browser.get("/admin/pipeline/quotestatuschange/")

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 10
    assert theirs.number not in response.content.decode()
    assert len(history.context["cl"].result_list) == 10


def test_it_lists_the_history_in_a_fixed_number_of_queries(
    rep_client, deal, licence, sales_rep, django_assert_max_num_queries
):
    quote = _draft(deal, licence)
    quote_send(quote=quote, actor=sales_rep)
    quote_reject(quote=quote, actor=sales_rep, reason="Too expensive")
    rep_client.get(f"{URL}{quote.pk}/history/")  # the user's permissions load once

    with django_assert_max_num_queries(3):
        response = rep_client.get(f"{URL}{quote.pk}/history/")

    assert [row["to_status"] for row in response.json()["results"]] == [
        "rejected",
        "sent",
        "draft",
    ]
