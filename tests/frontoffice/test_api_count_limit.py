"""API lists count their rows only up to FRONTOFFICE_API_COUNT_LIMIT (frontoffice/api/paginator.py):
exact below it; beyond it `count` is the limit, `count_exact` is false, and `next` still leads
through every page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DealFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/deals/"


@pytest.fixture
def seven_deals(sales_rep):
    return [DealFactory(owner=sales_rep, name=f"Deal {n}") for n in range(7)]


def _walk(client, url: str) -> tuple[list[tuple[int, bool, int]], list[str]]:
    """Follow `next` from `url`: (count, count_exact, rows) per page, and every name seen."""
    pages, names = [], []
    while url:
        body = client.get(url).json()
        pages.append((body["count"], body["count_exact"], len(body["results"])))
        names += [row["name"] for row in body["results"]]
        url = body["next"]
    return pages, names


def test_it_counts_exactly_up_to_the_limit(settings, rep_client, seven_deals):
    settings.FRONTOFFICE_API_COUNT_LIMIT = 7

    pages, names = _walk(rep_client, f"{URL}?page_size=3&ordering=name")

    assert pages == [(7, True, 3), (7, True, 3), (7, True, 1)]
    assert names == [f"Deal {n}" for n in range(7)]


def test_beyond_the_limit_it_says_more_and_still_pages_through_every_row(
    settings, rep_client, seven_deals
):
    settings.FRONTOFFICE_API_COUNT_LIMIT = 5

    pages, names = _walk(rep_client, f"{URL}?page_size=3&ordering=name")

    # Page 3 lies past the 5 counted rows: reached through `next`, and the last one.
    assert pages == [(5, False, 3), (5, False, 3), (5, False, 1)]
    assert names == [f"Deal {n}" for n in range(7)]


def test_beyond_the_limit_a_page_past_the_end_is_a_404(settings, rep_client, seven_deals):
    settings.FRONTOFFICE_API_COUNT_LIMIT = 5

    assert rep_client.get(URL, {"page_size": 3, "page": 4}).status_code == 404
    assert rep_client.get(URL, {"page_size": 3, "page": 0}).status_code == 404
    assert rep_client.get(URL, {"page_size": 3, "page": 3}).status_code == 200


def test_it_gives_the_previous_page_beyond_the_limit(settings, rep_client, seven_deals):
    settings.FRONTOFFICE_API_COUNT_LIMIT = 5

    body = rep_client.get(URL, {"page_size": 3, "page": 3, "ordering": "name"}).json()

    assert [row["name"] for row in body["results"]] == ["Deal 6"]
    assert body["next"] is None
    assert body["previous"].endswith("?ordering=name&page=2&page_size=3")


def test_the_count_stops_reading_after_the_limit(settings, rep_client, seven_deals):
    settings.FRONTOFFICE_API_COUNT_LIMIT = 5

    with CaptureQueriesContext(connection) as queries:
        rep_client.get(URL)

    [count] = [query["sql"] for query in queries if "COUNT(" in query["sql"]]
    assert "LIMIT 6" in count


def test_the_schema_documents_count_exact(admin_client_api):
    schema = admin_client_api.get("/api/schema/", {"format": "json"}).json()

    page = schema["components"]["schemas"]["PaginatedDealList"]
    assert page["properties"]["count_exact"]["type"] == "boolean"
    assert {"count", "count_exact", "results"} <= set(page["required"])
