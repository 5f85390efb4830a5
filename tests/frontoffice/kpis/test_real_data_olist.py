"""Origin → won conversion on the real Olist marketing funnel (../shared/data/olist-marketing-
funnel, see its SOURCE.txt), imported with the documented mappings ``olist`` and ``olist-deals``,
equals an independent count over the CSV files with the csv module."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from frontoffice.kpis import journey
from frontoffice.kpis.periods import Period, Scope
from pipeline.imports import leads_import
from pipeline.models import Campaign

pytestmark = pytest.mark.django_db

OLIST = Path(settings.BASE_DIR).parent / "shared" / "data" / "olist-marketing-funnel"
MQL_FILE = OLIST / "olist_marketing_qualified_leads_dataset.csv"
DEALS_FILE = OLIST / "olist_closed_deals_dataset.csv"
# Every first contact (2017-06 … 2018-05) and every won date (… 2018-11) falls inside.
WHOLE_FUNNEL = Period.parse("2017-01-01..2018-12-31")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _origin(label: str) -> str:
    # SOURCE.txt: this mirror wrote Kaggle's underscores as spaces; blank is "unknown".
    return label.strip().replace(" ", "_") or "unknown"


@pytest.fixture(scope="module")
def journey_olist_expected() -> dict[str, tuple[int, int]]:
    """Per origin: (marketing-qualified leads, of them closed deals), from the CSV alone."""
    if not MQL_FILE.exists() or not DEALS_FILE.exists():
        pytest.skip(f"the Olist marketing funnel data is not present in {OLIST}")
    origins = {row["mql_id"]: _origin(row["origin"]) for row in _rows(MQL_FILE)}
    won = {row["mql_id"] for row in _rows(DEALS_FILE)}
    leads = Counter(origins.values())
    closed = Counter(origin for mql_id, origin in origins.items() if mql_id in won)
    return {origin: (leads[origin], closed[origin]) for origin in leads}


@pytest.fixture
def journey_olist_imported(journey_olist_expected) -> dict[str, Campaign]:
    for path, mapping in ((MQL_FILE, "olist"), (DEALS_FILE, "olist-deals")):
        outcome = leads_import(content=path.read_bytes(), file_name=path.name, mapping=mapping)
        assert outcome.lead_import.status == "imported"
    if connection.vendor == "postgresql":
        # Planner statistics for the freshly loaded tables, as autovacuum keeps them in use.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        campaign.name.removeprefix("Olist MQL: "): campaign
        for campaign in Campaign.objects.filter(name__startswith="Olist MQL: ")
    }


def test_it_converts_each_origin_to_won_as_the_csv_files_say(
    journey_olist_expected, journey_olist_imported
):
    measured = {}
    for origin, campaign in journey_olist_imported.items():
        lead_to_customer = journey.conversions(WHOLE_FUNNEL, Scope("campaign", str(campaign.pk)))[4]
        assert (lead_to_customer["from"], lead_to_customer["to"]) == ("lead", "customer")
        measured[origin] = (
            lead_to_customer["cohort"],
            lead_to_customer["converted"],
            lead_to_customer["rate"],
        )

    assert measured == {
        origin: (leads, won, round(won / leads, 4))
        for origin, (leads, won) in journey_olist_expected.items()
    }
    # The same per campaign row of the unscoped figures (first-touch leads and customers).
    by_campaign = {
        row["name"].removeprefix("Olist MQL: "): (row["leads"], row["customers"])
        for row in journey.campaigns(WHOLE_FUNNEL, Scope())
    }
    assert by_campaign == journey_olist_expected
