"""/api/v1/campaigns/ and /api/v1/lead-forms/."""

from __future__ import annotations

import pytest

from pipeline.models import Campaign, LeadForm
from tests.factories import CampaignFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"


def test_it_creates_a_campaign_through_the_service(marketer_client, marketer):
    response = marketer_client.post(
        URL,
        {
            "name": "Japan IT Week",
            "kind": "exhibition",
            "starts_on": "2026-10-21",
            "ends_on": "2026-10-23",
            "cost": "1200000",
            "currency": "jpy",
            "owner": marketer.pk,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    campaign = Campaign.objects.get()
    assert (campaign.name, campaign.currency, str(campaign.cost), campaign.owner) == (
        "Japan IT Week",
        "JPY",
        "1200000.00",
        marketer,
    )
    assert response.json()["touchpoint_count"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "kind": "billboard"}, "kind"),
        ({"name": "X", "kind": "web", "cost": "-1"}, "cost"),
        (
            {"name": "X", "kind": "web", "starts_on": "2026-10-23", "ends_on": "2026-10-21"},
            "ends_on",
        ),
        ({"name": "X", "kind": "web", "currency": "yen!"}, "currency"),
        ({"name": "", "kind": "web"}, "name"),
        ({"name": "X", "kind": "web", "budget": 5}, "budget"),
        ({"name": "X", "kind": "web", "starts_on": "tomorrow"}, "starts_on"),
    ],
)
def test_it_refuses_a_bad_campaign_with_a_field_message(marketer_client, body, field):
    response = marketer_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Campaign.objects.count() == 0


def test_it_lists_campaigns_with_touchpoint_counts_in_a_fixed_number_of_queries(
    rep_client, django_assert_max_num_queries
):
    for _ in range(20):
        campaign = CampaignFactory()
        TouchpointFactory(campaign=campaign)

    with django_assert_max_num_queries(6):
        response = rep_client.get(URL)

    assert response.status_code == 200
    assert response.json()["count"] == 20
    assert {row["touchpoint_count"] for row in response.json()["results"]} == {1}


def test_it_filters_campaigns_by_kind_and_status(rep_client):
    CampaignFactory(name="Expo", kind="exhibition", status="active")
    CampaignFactory(name="Webinar", kind="seminar", status="completed")

    response = rep_client.get(URL, {"kind": "seminar", "status": ["completed", "active"]})

    assert [row["name"] for row in response.json()["results"]] == ["Webinar"]


def test_it_lets_only_marketers_managers_and_admins_write_campaigns(rep_client, agent_client):
    body = {"name": "X", "kind": "web"}

    assert rep_client.post(URL, body, format="json").status_code == 403
    assert agent_client.post(URL, body, format="json").status_code == 403


def test_it_creates_a_lead_form_with_a_key_and_rotates_it(marketer_client):
    campaign = CampaignFactory()

    created = marketer_client.post(
        "/api/v1/lead-forms/", {"name": "Booth", "campaign": campaign.pk}, format="json"
    )
    old_key = created.json()["key"]
    rotated = marketer_client.post(f"/api/v1/lead-forms/{created.json()['id']}/rotate-key/")

    assert created.status_code == 201
    assert len(old_key) >= 40
    assert rotated.status_code == 200
    assert rotated.json()["key"] != old_key
    assert LeadForm.objects.get().key == rotated.json()["key"]


def test_it_does_not_let_a_sales_rep_rotate_a_form_key(rep_client):
    lead_form = LeadForm.objects.create(name="Booth", campaign=CampaignFactory())

    response = rep_client.post(f"/api/v1/lead-forms/{lead_form.pk}/rotate-key/")

    assert response.status_code == 403
    lead_form.refresh_from_db()
    assert LeadForm.objects.get().key == lead_form.key
