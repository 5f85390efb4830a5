"""Japanese and English: the browser's language, or the staff member's own choice, with numbers,
money and dates formatted for it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from accounts.models import Contact, JourneyStage, StaffPreference
from pipeline.models import Deal, DealStage, FollowUpTask
from tests.factories import ContactFactory, DealFactory

pytestmark = pytest.mark.django_db


def _render(text: str, **context) -> str:
    return Template("{% load workspace %}" + text).render(Context(context))


def test_it_renders_the_board_in_japanese_for_a_japanese_browser(browser, sales_rep):
    DealFactory(owner=sales_rep, amount=1500000, stage="list")

    response = browser(sales_rep).get("/app/pipeline/", HTTP_ACCEPT_LANGUAGE="ja")

    html = response.content.decode()
    assert response["Content-Language"] == "ja"
    assert '<html lang="ja">' in html
    assert "<h1>自分のパイプライン</h1>" in html
    assert "1,500,000 JPY" in html
    assert "ボード上の商談 1 件" in html


def test_it_prefers_the_staff_members_choice_to_the_browsers(browser, sales_rep):
    StaffPreference.objects.create(user=sales_rep, language="ja")

    html = browser(sales_rep).get("/app/pipeline/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "<h1>自分のパイプライン</h1>" in html


def test_it_keeps_english_for_someone_who_chose_it_on_a_japanese_browser(browser, sales_rep):
    StaffPreference.objects.create(user=sales_rep, language="en")

    html = browser(sales_rep).get("/app/pipeline/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()

    assert "<h1>My pipeline</h1>" in html


def test_it_saves_the_choice_from_the_language_switcher(browser, sales_rep):
    client = browser(sales_rep)

    response = client.post("/app/language/", {"language": "ja", "next": "/app/reports/"})

    assert response.status_code == 302
    assert response["Location"] == "/app/reports/"
    assert StaffPreference.objects.get(user=sales_rep).language == "ja"
    assert response.cookies["django_language"].value == "ja"
    html = client.get("/app/reports/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>自分の日報</h1>" in html
    assert '<option value="ja" lang="ja" selected>' in html


def test_it_follows_the_browser_again_when_the_choice_is_cleared(browser, sales_rep):
    StaffPreference.objects.create(user=sales_rep, language="ja")
    client = browser(sales_rep)

    client.post("/app/language/", {"language": "", "next": "/app/reports/"})

    assert StaffPreference.objects.get(user=sales_rep).language == ""
    assert "<h1>My reports</h1>" in client.get("/app/reports/").content.decode()


def test_it_ignores_an_unknown_language(browser, sales_rep):
    client = browser(sales_rep)

    response = client.post("/app/language/", {"language": "xx", "next": "/app/reports/"})

    assert response.status_code == 302
    assert not StaffPreference.objects.exists()


def test_it_translates_the_login_page_for_a_visitor(browser):
    html = browser().get("/app/login/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()

    assert "ワークスペースにログイン" in html


def test_it_formats_dates_in_the_japanese_way(browser, sales_rep):
    contact = ContactFactory(stage_changed_at=timezone.make_aware(dt.datetime(2026, 3, 9, 10)))

    html = (
        browser(sales_rep)
        .get(f"/app/contacts/{contact.pk}/", HTTP_ACCEPT_LANGUAGE="ja")
        .content.decode()
    )

    assert "2026/03/09 から" in html


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "1234567", "JPY", "JPY 1,234,567"),
        ("en", "1234567.5", "JPY", "JPY 1,234,568"),
        ("en", "1234.5", "usd", "USD 1,234.50"),
        ("ja", "1234567", "JPY", "1,234,567 JPY"),
        ("ja", "99.999", "EUR", "100.00 EUR"),
    ],
)
def test_it_formats_money_to_the_currencys_minor_unit(language, amount, currency, expected):
    with translation.override(language):
        assert _render("{{ a|money:c }}", a=amount, c=currency) == expected


def test_it_formats_amounts_per_currency_and_numbers_with_grouping():
    with translation.override("en"):
        text = _render("{{ d|amounts }} / {{ n|number }}", d={"USD": 5, "JPY": 1000}, n=12345)

    assert text == "JPY 1,000 · USD 5.00 / 12,345"


def test_it_translates_model_and_field_names():
    with translation.override("ja"):
        names = (
            str(Deal._meta.verbose_name),
            str(Contact._meta.get_field("stage").verbose_name),
            str(FollowUpTask._meta.get_field("due_at").verbose_name),
            str(JourneyStage.LOST.label),
            str(DealStage.LOST.label),
        )

    assert names == ("商談", "ジャーニーステージ", "期限", "離脱", "失注")


def test_it_shows_stages_in_japanese_on_customer_360(browser, sales_rep):
    deal = DealFactory(owner=sales_rep, stage="won", closed_at=timezone.now())

    html = (
        browser(sales_rep)
        .get(f"/app/contacts/{deal.contact_id}/", HTTP_ACCEPT_LANGUAGE="ja")
        .content.decode()
    )

    assert '<span class="badge stage-won">受注</span>' in html
    assert ">認知</span>" in html  # the contact's journey stage
