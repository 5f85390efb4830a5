"""What a page of /api/v1/deals/ costs the database: no DISTINCT for a repeated stage filter, the
related rows' names without their other columns, and no extra query for them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AccountFactory, CampaignFactory, DealFactory, TeamFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/deals/"


@pytest.fixture
def deals(sales_rep):
    sales_rep.first_name, sales_rep.last_name = "Taro", "Sato"
    sales_rep.save()
    team = TeamFactory(name="Tokyo")
    campaign = CampaignFactory(name="Expo 2026")
    return [
        DealFactory(
            owner=sales_rep,
            stage=stage,
            account=AccountFactory(name=f"Account {stage}"),
            team=team,
            campaign=campaign,
        )
        for stage in ("list", "proposal", "opportunity")
    ]


def test_a_repeated_stage_filter_needs_no_distinct(rep_client, deals):
    with CaptureQueriesContext(connection) as queries:
        response = rep_client.get(URL, {"stage": ["list", "opportunity"], "ordering": "stage"})

    assert [row["stage"] for row in response.json()["results"]] == ["list", "opportunity"]
    assert not any("DISTINCT" in query["sql"] for query in queries)


def test_a_page_reads_only_the_names_of_the_related_rows(rep_client, deals):
    rep_client.get(URL)  # the user's permissions are cached after the first request

    with CaptureQueriesContext(connection) as queries:
        response = rep_client.get(URL, {"ordering": "stage"})

    row = response.json()["results"][0]
    assert (
        row["account_name"],
        row["contact_name"],
        row["owner_name"],
        row["team_name"],
        row["campaign_name"],
    ) == ("Account list", deals[0].contact.name, "Taro Sato", "Tokyo", "Expo 2026")
    assert len(queries) == 2  # the count and the page: no query per deferred column
    page = queries[-1]["sql"]
    assert '"auth_user"."username"' in page
    assert '"auth_user"."password"' not in page
    assert '"accounts_account"."domain"' not in page
