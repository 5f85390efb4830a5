"""The Olist marketing-funnel data imports with the documented mappings (`olist`, `olist-deals`).

Counts are taken from the CSV files with the csv module, independently of the importer.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models import Count

from accounts.models import Account, Contact, JourneyTransition, Touchpoint
from pipeline.imports import leads_import
from pipeline.models import Campaign

pytestmark = pytest.mark.django_db

OLIST = Path(settings.BASE_DIR).parent / "shared" / "data" / "olist-marketing-funnel"
MQL_FILE = OLIST / "olist_marketing_qualified_leads_dataset.csv"
DEALS_FILE = OLIST / "olist_closed_deals_dataset.csv"
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def _olist_present():
    if not MQL_FILE.exists() or not DEALS_FILE.exists():
        pytest.skip("../shared/data/olist-marketing-funnel not present")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _import(path: Path, mapping: str):
    return leads_import(content=path.read_bytes(), file_name=path.name, mapping=mapping)


def test_it_imports_every_mql_as_a_lead_with_a_campaign_per_origin():
    rows = _rows(MQL_FILE)
    # The documented mapping: Kaggle's labels (underscores), a blank origin is "unknown".
    expected = Counter(row["origin"].strip().replace(" ", "_") or "unknown" for row in rows)

    outcome = _import(MQL_FILE, "olist")

    run = outcome.lead_import
    assert (run.status, run.total_rows, run.created_contacts, run.rejected_rows) == (
        "imported",
        len(rows),
        len({row["mql_id"] for row in rows}),
        0,
    )
    per_campaign = dict(
        Touchpoint.objects.values_list("campaign__name").annotate(n=Count("id")).order_by()
    )
    assert per_campaign == {f"Olist MQL: {origin}": n for origin, n in expected.items()}
    assert Campaign.objects.get(name="Olist MQL: paid_search").kind == "advertising"
    assert Contact.objects.filter(stage="lead").count() == len(rows)
    assert Account.objects.count() == 0


def test_it_dates_the_lead_by_the_first_contact_and_keeps_the_origin():
    first = _rows(MQL_FILE)[0]

    _import(MQL_FILE, "olist")

    contact = Contact.objects.get(email=f"{first['mql_id']}@olist-mql.invalid")
    first_contact = datetime.fromisoformat(first["first_contact_date"]).replace(tzinfo=TOKYO)
    assert contact.stage_changed_at == first_contact
    assert list(
        contact.journey_transitions.values_list("from_stage", "to_stage", "created_at")
    ) == [("", "lead", first_contact)]
    touchpoint = contact.touchpoints.get()
    assert (touchpoint.kind, touchpoint.occurred_at, touchpoint.summary) == (
        "form",
        first_contact,
        f"origin: {first['origin'].replace(' ', '_')}; landing page {first['landing_page_id']}",
    )


def test_it_finds_the_same_people_when_the_file_is_imported_again():
    rows = _rows(MQL_FILE)
    _import(MQL_FILE, "olist")

    again = _import(MQL_FILE, "olist").lead_import

    assert (again.created_contacts, again.matched_contacts) == (0, len(rows))
    assert Contact.objects.count() == len(rows)
    assert Touchpoint.objects.count() == 2 * len(rows)


def test_it_makes_closed_deals_customers_at_their_won_date():
    deals = _rows(DEALS_FILE)
    _import(MQL_FILE, "olist")

    run = _import(DEALS_FILE, "olist-deals").lead_import

    assert (run.status, run.created_contacts, run.matched_contacts) == ("imported", 0, len(deals))
    assert Contact.objects.filter(stage="customer").count() == len({d["mql_id"] for d in deals})
    assert Touchpoint.objects.filter(kind="order", channel="sales_rep").count() == len(deals)
    deal = deals[0]
    won = JourneyTransition.objects.get(
        contact__email=f"{deal['mql_id']}@olist-mql.invalid", to_stage="customer"
    )
    assert (won.from_stage, won.created_at) == (
        "lead",
        datetime.fromisoformat(deal["won_date"]).replace(tzinfo=TOKYO),
    )
