"""POST /api/v1/touchpoints/batch/: many marketing interactions at once, each resolved to its
contact, with a per-item report."""

from __future__ import annotations

import pytest

from accounts.models import Contact, JourneyTransition, Touchpoint
from tests.factories import CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/touchpoints/batch/"


def test_it_stores_each_item_on_the_right_contact_and_reports_per_item(marketer_client, marketer):
    known = ContactFactory(email="known@example.com")
    campaign = CampaignFactory()
    items = [
        {
            "kind": "web_visit",
            "channel": "web",
            "email": "KNOWN@example.com",
            "occurred_at": "2026-11-01T10:00:00+09:00",
            "summary": "/pricing",
        },
        {
            "kind": "content_download",
            "channel": "web",
            "email": "new@newco.example",
            "name": "New Person",
            "company": "NewCo",
            "campaign": campaign.pk,
            "summary": "Whitepaper",
        },
        {"kind": "email", "channel": "email", "email": "known@example.com", "summary": "opened"},
    ]

    response = marketer_client.post(URL, {"items": items}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["rejected"]) == (3, 0)
    created = Contact.objects.get(email="new@newco.example")
    assert [
        (r["index"], r["status"], r["contact"], r["contact_created"]) for r in body["results"]
    ] == [
        (0, "stored", known.pk, False),
        (1, "stored", created.pk, True),
        (2, "stored", known.pk, False),
    ]
    assert Touchpoint.objects.filter(contact=known).count() == 2
    download = Touchpoint.objects.get(contact=created)
    assert (download.kind, download.campaign, download.actor, download.account.name) == (
        "content_download",
        campaign,
        marketer,
        "NewCo",
    )
    assert JourneyTransition.objects.get(contact=created).to_stage == "awareness"


def test_it_rejects_bad_items_and_keeps_the_good_ones(marketer_client):
    items = [
        {"kind": "web_visit", "channel": "web", "email": "ok@example.com"},
        {"kind": "web_visit", "channel": "web"},
        {"kind": "order", "channel": "web", "email": "x@example.com"},
        {"kind": "web_visit", "channel": "web", "email": "not-an-email"},
        {"kind": "web_visit", "channel": "web", "email": "y@example.com", "colour": "red"},
        {"kind": "web_visit", "channel": "web", "email": "z@example.com", "campaign": 10**30},
    ]

    response = marketer_client.post(URL, {"items": items}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["rejected"]) == (1, 5)
    assert {r["index"]: sorted(r["errors"]) for r in body["results"]} == {
        0: [],
        1: ["email", "phone"],
        2: ["kind"],
        3: ["email"],
        4: ["colour"],
        5: ["campaign"],
    }
    assert list(Contact.objects.values_list("email", flat=True)) == ["ok@example.com"]
    assert Touchpoint.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"items": []}, {"items": "nope"}, {"items": [1, 2]}, {"items": [{}] * 501}, {"extra": 1}],
)
def test_it_refuses_a_malformed_batch_as_a_whole(marketer_client, body):
    response = marketer_client.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]
    assert Touchpoint.objects.count() == 0


def test_it_needs_the_add_touchpoint_permission(api_client, rep_client):
    item = {"kind": "web_visit", "channel": "web", "email": "a@example.com"}

    assert api_client.post(URL, {"items": [item]}, format="json").status_code == 401
    assert rep_client.post(URL, {"items": [item]}, format="json").status_code == 200


def test_it_announces_the_changed_contacts_once_after_commit(
    marketer_client, django_capture_on_commit_callbacks
):
    from accounts.signals import touchpoints_recorded

    received: list[list[int]] = []

    def listener(sender, contact_ids, **kwargs):
        received.append(contact_ids)

    touchpoints_recorded.connect(listener)
    try:
        items = [
            {"kind": "web_visit", "channel": "web", "email": f"p{i % 2}@example.com"}
            for i in range(4)
        ]
        with django_capture_on_commit_callbacks(execute=True):
            marketer_client.post(URL, {"items": items}, format="json")
    finally:
        touchpoints_recorded.disconnect(listener)

    ids = sorted(Contact.objects.values_list("pk", flat=True))
    assert received == [ids]
