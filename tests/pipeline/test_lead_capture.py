"""POST /api/v1/leads/capture/: a public web form, authenticated by its key."""

from __future__ import annotations

import pytest

from accounts.models import Account, Contact, JourneyTransition, Touchpoint
from pipeline.models import Campaign, LeadForm
from tests.factories import AccountFactory, CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/leads/capture/"


@pytest.fixture
def lead_form():
    campaign = CampaignFactory(name="Japan IT Week 2026", kind=Campaign.Kind.EXHIBITION)
    return LeadForm.objects.create(name="Booth sign-up", campaign=campaign)


def _counts() -> dict[str, int]:
    return {
        "contacts": Contact.objects.count(),
        "accounts": Account.objects.count(),
        "touchpoints": Touchpoint.objects.count(),
        "transitions": JourneyTransition.objects.count(),
    }


def test_it_captures_a_new_person_as_a_lead_with_account_and_touchpoint(api_client, lead_form):
    response = api_client.post(
        URL,
        {
            "form_key": lead_form.key,
            "email": "Hanako.Yamada@Kaisha.co.jp",
            "name": "Yamada Hanako",
            "company": "Kaisha KK",
            "title": "CTO",
            "message": "Please send the brochure",
        },
        format="json",
    )

    assert response.status_code == 201
    contact = Contact.objects.get()
    touchpoint = Touchpoint.objects.get()
    assert response.json() == {"result": "received", "reference": f"T{touchpoint.pk}"}
    assert (contact.email, contact.name, contact.title, contact.stage) == (
        "hanako.yamada@kaisha.co.jp",
        "Yamada Hanako",
        "CTO",
        "lead",
    )
    assert (contact.account.name, contact.account.domain) == ("Kaisha KK", "kaisha.co.jp")
    assert (touchpoint.kind, touchpoint.channel, touchpoint.campaign, touchpoint.contact) == (
        "form",
        "web",
        lead_form.campaign,
        contact,
    )
    assert touchpoint.summary == "Booth sign-up: Please send the brochure"
    assert touchpoint.source == lead_form
    row = JourneyTransition.objects.get(contact=contact)
    assert (row.from_stage, row.to_stage, row.cause) == ("", "lead", "web form: Booth sign-up")


def test_it_recognises_a_known_person_by_email_and_advances_the_journey(api_client, lead_form):
    known = ContactFactory(email="taro@example.com", stage="awareness")

    response = api_client.post(
        URL,
        {"email": " TARO@example.com ", "name": "Taro"},
        HTTP_X_FORM_KEY=lead_form.key,
        format="json",
    )

    assert response.status_code == 201
    assert Contact.objects.count() == 1
    known.refresh_from_db()
    assert known.stage == "lead"
    last = JourneyTransition.objects.filter(contact=known).order_by("-id").first()
    assert (last.from_stage, last.to_stage) == ("awareness", "lead")
    assert Touchpoint.objects.get().contact == known


def test_it_recognises_a_known_person_by_phone(api_client, lead_form):
    known = ContactFactory(email="", phone="03-1234-5678", phone_normalized="+81312345678")

    response = api_client.post(
        URL, {"form_key": lead_form.key, "phone": "+81 3 1234 5678"}, format="json"
    )

    assert response.status_code == 201
    assert Contact.objects.count() == 1
    assert Touchpoint.objects.get().contact == known


def test_it_never_moves_a_customer_back_to_lead(api_client, lead_form):
    customer = ContactFactory(email="buyer@example.com", stage="customer")

    response = api_client.post(URL, {"form_key": lead_form.key, "email": "buyer@example.com"})

    assert response.status_code == 201
    customer.refresh_from_db()
    assert customer.stage == "customer"
    assert JourneyTransition.objects.filter(contact=customer).count() == 1


def test_it_joins_a_person_to_the_existing_account_of_their_company(api_client, lead_form):
    account = AccountFactory(name="Kaisha KK", domain="kaisha.co.jp")

    api_client.post(URL, {"form_key": lead_form.key, "email": "a@kaisha.co.jp"}, format="json")

    assert Contact.objects.get().account == account
    assert Account.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"name": "No way to reach me"}, {"email", "phone"}),
        ({"email": "not-an-email"}, {"email"}),
        ({"email": "a@example.com", "name": "x" * 201}, {"name"}),
        ({"email": "a@example.com", "message": "x" * 2001}, {"message"}),
        ({"email": "a@example.com", "website": "http://spam.example"}, {"website"}),
        ({"email": "a@example.com", "favourite_colour": "blue"}, {"favourite_colour"}),
        ({"email": "a@example.com", "phone": 5 * "0123456789"}, {"phone"}),
    ],
)
def test_it_refuses_spam_ish_input_with_field_errors_and_stores_nothing(
    api_client, lead_form, body, errors
):
    before = _counts()

    response = api_client.post(URL, {"form_key": lead_form.key, **body}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == errors
    assert _counts() == before


def test_it_refuses_malformed_json(api_client, lead_form):
    response = api_client.post(
        URL, data=b'{"email": ', content_type="application/json", HTTP_X_FORM_KEY=lead_form.key
    )

    assert response.status_code == 400
    assert Contact.objects.count() == 0


@pytest.mark.parametrize("key", ["", "wrong-key"])
def test_it_refuses_a_missing_or_unknown_form_key(api_client, lead_form, key):
    response = api_client.post(URL, {"form_key": key, "email": "a@example.com"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Unknown or inactive form key.", "errors": {}}
    assert _counts() == {"contacts": 0, "accounts": 0, "touchpoints": 0, "transitions": 0}


def test_it_refuses_an_inactive_form_and_a_cancelled_campaign(api_client, lead_form):
    lead_form.is_active = False
    lead_form.save()
    inactive = api_client.post(URL, {"form_key": lead_form.key, "email": "a@example.com"})
    lead_form.is_active = True
    lead_form.save()
    Campaign.objects.filter(pk=lead_form.campaign_id).update(status="cancelled")
    cancelled = api_client.post(URL, {"form_key": lead_form.key, "email": "a@example.com"})

    assert (inactive.status_code, cancelled.status_code) == (403, 403)
    assert Contact.objects.count() == 0


def test_it_throttles_a_client_that_posts_too_often(api_client, lead_form, settings):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], lead_capture="3/minute")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    from rest_framework.throttling import ScopedRateThrottle

    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        statuses = [
            api_client.post(
                URL, {"form_key": lead_form.key, "email": f"p{i}@example.com"}
            ).status_code
            for i in range(5)
        ]
    finally:
        from rest_framework.settings import api_settings

        ScopedRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES

    assert statuses == [201, 201, 201, 429, 429]
    assert Contact.objects.count() == 3


def test_it_needs_no_csrf_token_and_no_login(lead_form):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)

    response = client.post(URL, {"form_key": lead_form.key, "email": "a@example.com"})

    assert response.status_code == 201
