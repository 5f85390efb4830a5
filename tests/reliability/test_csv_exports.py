"""CSV we hand out cannot run as a spreadsheet formula (frontoffice/csv_safety.py), and the
admin's "Export selected as CSV" on accounts, contacts, deals and inquiries goes through it,
limited to the rows the user may see."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from accounts import roles
from frontoffice.csv_safety import SafeCsvWriter, escape_formula
from inquiries.models import Inquiry
from tests.factories import AccountFactory, ContactFactory, DealFactory, user_with_role

CALC = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (CALC, f"'{CALC}"),
        ("+81 3 1234 5678", "'+81 3 1234 5678"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width equals sign
        ("Kaisha KK", "Kaisha KK"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
    ],
)
def test_it_escapes_text_that_a_spreadsheet_would_run(value, written):
    assert escape_formula(value) == written


def test_it_writes_numbers_dates_and_empty_cells_as_they_are():
    out = io.StringIO()

    SafeCsvWriter(out).writerow(
        [
            -5,
            Decimal("-3.50"),
            None,
            date(2026, 11, 23),
            datetime(2026, 11, 23, 0, 30, tzinfo=ZoneInfo("UTC")),
            "-5",
        ]
    )

    assert out.getvalue() == "-5,-3.50,,2026-11-23,2026-11-23T09:30:00+09:00,'-5\r\n"


# --- Admin exports ------------------------------------------------------------------------------


def _browser(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def _export(user, changelist: str, ids: list[int]) -> list[list[str]]:
    response = _browser(user).post(changelist, {"action": "export_csv", "_selected_action": ids})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="')
    content = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(content, newline="")))


@pytest.mark.django_db
def test_it_exports_the_selected_accounts_escaped(admin_user):
    account = AccountFactory(name=CALC, domain="calc.example", industry="@Tools", region="Kanto")

    rows = _export(admin_user, "/admin/accounts/account/", [account.pk])

    assert rows[0] == [
        "id",
        "name",
        "domain",
        "industry",
        "size",
        "region",
        "owner",
        "customer_since",
        "created_at",
    ]
    assert rows[1][:6] == [str(account.pk), f"'{CALC}", "calc.example", "'@Tools", "", "Kanto"]
    assert len(rows) == 2


@pytest.mark.django_db
def test_it_exports_only_the_deals_the_user_may_see(db):
    rep = user_with_role(roles.SALES_REP, username="rep-a")
    colleague = user_with_role(roles.SALES_REP, username="rep-b")
    mine = DealFactory(owner=rep, name='=HYPERLINK("http://evil.example")', amount=1200)
    theirs = DealFactory(owner=colleague, name="Not yours")

    rows = _export(rep, "/admin/pipeline/deal/", [mine.pk, theirs.pk])

    assert [row[:2] for row in rows[1:]] == [[str(mine.pk), '\'=HYPERLINK("http://evil.example")']]
    header = rows[0]
    assert rows[1][header.index("amount")] == "1200.00"
    assert rows[1][header.index("owner")] == "rep-a"


@pytest.mark.django_db
def test_it_exports_the_selected_inquiries_escaped(admin_user):
    contact = ContactFactory(name="+Hanako", email="hanako@kaisha.co.jp")
    inquiry = Inquiry.objects.create(
        contact=contact, channel="email", subject="-invoice missing", status="new"
    )

    rows = _export(admin_user, "/admin/inquiries/inquiry/", [inquiry.pk])

    header = rows[0]
    assert header[:7] == ["id", "subject", "status", "channel", "priority", "category", "contact"]
    row = dict(zip(header, rows[1], strict=True))
    assert (row["subject"], row["contact"], row["contact_email"]) == (
        "'-invoice missing",
        "'+Hanako",
        "hanako@kaisha.co.jp",
    )
