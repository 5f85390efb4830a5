"""What the API fuzzer (test_fuzz_api.py) found, one behaviour each, so a regression is named:
answers the schema did not document, input it forbids that was accepted, and 500s."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts.models import Team
from inquiries.models import SlaPolicy
from pipeline.models import DailyReport, LeadForm, LeadScore, ScoringRule
from pipeline.scoring import score_contacts
from pipeline.screening import screen_contacts
from tests.factories import CampaignFactory, ContactFactory, DealFactory
from tests.pipeline.scoring_factories import FitRuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _operation(schema, path: str, method: str) -> dict:
    return schema["paths"][path][method]


# --- Every error answer is documented, with its body --------------------------------------------


def test_it_documents_the_error_answers_of_an_operation_with_their_json_body(schema):
    move = _operation(schema, "/api/v1/deals/{id}/move/", "post")

    assert sorted(move["responses"]) == ["200", "400", "401", "403", "404", "409", "415"]
    assert move["responses"]["409"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}
    }
    assert sorted(schema["components"]["schemas"]["ApiError"]["required"]) == ["detail", "errors"]


def test_it_documents_401_only_where_a_token_is_asked_and_429_where_throttled(schema):
    capture = _operation(schema, "/api/v1/leads/capture/", "post")
    contacts = _operation(schema, "/api/v1/contacts/", "get")

    assert sorted(capture["responses"]) == ["201", "400", "403", "415", "429"]
    assert sorted(contacts["responses"]) == ["200", "400", "401", "403", "404"]


def test_it_documents_the_404_of_a_missing_report_of_today(schema, sales_rep, rep_client):
    assert "404" in _operation(schema, "/api/v1/daily-reports/today/", "get")["responses"]

    response = rep_client.get("/api/v1/daily-reports/today/")

    assert response.status_code == 404
    assert DailyReport.objects.count() == 0


def test_it_documents_the_inbound_email_key_as_a_security_scheme(schema):
    email = _operation(schema, "/api/v1/inbound/email/", "post")

    assert email["security"] == [{"inboundEmailKey": []}]
    assert schema["components"]["securitySchemes"]["inboundEmailKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Inbound-Key",
        "description": "FRONTOFFICE_INBOUND_EMAIL_KEY, given to the mail server.",
    }


# --- Routes Django answers itself are JSON under /api/ ------------------------------------------


def test_it_answers_an_unknown_api_path_with_a_json_404(admin_client_api):
    response = admin_client_api.get("/api/v1/leads/%F1%9E%AF%B7/score/")  # ids are digits

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "errors": {}}


def test_it_keeps_the_html_404_page_outside_the_api(client):
    response = client.get("/pipeline/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- Nullable names are documented nullable -----------------------------------------------------


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("Deal", "account_name"),
        ("Deal", "contact_name"),
        ("Deal", "team_name"),
        ("Deal", "campaign_name"),
        ("Quote", "account_name"),
        ("Inquiry", "deal_name"),
        ("ScreeningPolicy", "sales_team_name"),
        ("LeadImport", "campaign_name"),
        ("Lead", "account"),
        ("Lead", "owner"),
    ],
)
def test_it_documents_a_name_through_an_optional_relation_as_nullable(schema, component, field):
    assert schema["components"]["schemas"][component]["properties"][field]["nullable"] is True


def test_it_answers_null_for_the_account_of_a_deal_without_one(admin_client_api):
    deal = DealFactory(account=None, contact=None)

    body = admin_client_api.get(f"/api/v1/deals/{deal.pk}/").json()

    assert (body["account_name"], body["contact_name"]) == (None, None)


def test_it_documents_the_blank_from_status_of_a_quotes_first_history_row(schema):
    from_status = schema["components"]["schemas"]["QuoteStatusChange"]["properties"]["from_status"]

    assert from_status["oneOf"] == [
        {"$ref": "#/components/schemas/QuoteStatusEnum"},
        {"$ref": "#/components/schemas/BlankEnum"},
    ]


def test_it_documents_a_refused_upload_without_its_run(schema):
    refused = schema["components"]["schemas"]["LeadImportRefused"]

    assert refused["required"] == ["detail", "errors"]
    assert "lead_import" in refused["properties"]


# --- Business hours are local wall-clock times --------------------------------------------------


def test_it_documents_business_hours_as_local_times_not_rfc3339(schema):
    start = schema["components"]["schemas"]["SlaPolicy"]["properties"]["business_day_start"]

    assert "format" not in start
    assert start["pattern"] == "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


@pytest.mark.parametrize(
    ("given", "status"),
    [("09:30", 201), ("09:30:15", 201), ("9:30", 400), ("0930", 400), ("09:30+09:00", 400)],
)
def test_it_takes_business_hours_as_hh_mm_only(given, status, admin_client_api):
    response = admin_client_api.post(
        "/api/v1/sla-policies/",
        {
            "name": "Gold",
            "priority": "high",
            "first_response_minutes": 30,
            "resolution_minutes": 240,
            "business_hours_only": True,
            "business_day_start": given,
            "business_day_end": "18:00",
        },
    )

    assert response.status_code == status, response.json()
    assert SlaPolicy.objects.filter(name="Gold").count() == (1 if status == 201 else 0)


# --- Amounts: JSON numbers or decimal strings, as documented -------------------------------


def test_it_documents_an_amount_as_a_decimal_string_or_a_number(schema):
    amount = schema["components"]["schemas"]["PatchedDealRequest"]["properties"]["amount"]

    assert amount["oneOf"][1] == {"type": "number"}
    assert amount["oneOf"][0]["type"] == "string"


def test_it_takes_an_amount_as_a_json_number_or_a_decimal_string(admin_client_api):
    deal = DealFactory()

    as_number = admin_client_api.patch(f"/api/v1/deals/{deal.pk}/", {"amount": 1200.5})
    as_text = admin_client_api.patch(f"/api/v1/deals/{deal.pk}/", {"amount": "1300.25"})

    assert (as_number.status_code, as_text.status_code) == (200, 200)
    assert (as_number.json()["amount"], as_text.json()["amount"]) == ("1200.50", "1300.25")
    deal.refresh_from_db()
    assert str(deal.amount) == "1300.25"


def test_it_reads_a_form_post_to_a_public_form_as_text(api_client):
    lead_form = LeadForm.objects.create(name="Booth", campaign=CampaignFactory())

    response = api_client.post(
        "/api/v1/leads/capture/",
        {"form_key": lead_form.key, "email": "visitor@example.com", "name": "Visitor"},
        format="multipart",
    )

    assert response.status_code == 201


def test_it_refuses_a_form_post_where_json_is_expected(admin_client_api):
    response = admin_client_api.post(
        "/api/v1/notifications/mark-read/", {"ids": "1"}, format="multipart"
    )

    assert response.status_code == 415
    assert response.json()["detail"].startswith('Unsupported media type "multipart/form-data')


# --- Query parameters ---------------------------------------------------------------------------


def test_it_refuses_a_page_size_that_is_not_a_whole_number(admin_client_api):
    response = admin_client_api.get("/api/v1/contacts/", {"page_size": "ten"})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "page_size": ["A whole number from 1 (at most 200 are returned)."]
    }


def test_it_reads_a_blank_query_parameter_as_not_set(admin_client_api):
    ContactFactory(name="Hanako")

    blank = admin_client_api.get(
        "/api/v1/contacts/", {"stage": "", "page_size": "", "page": "", "ordering": ""}
    )

    assert blank.status_code == 200
    assert [row["name"] for row in blank.json()["results"]] == ["Hanako"]


def test_it_refuses_a_boolean_filter_it_cannot_read(admin_client_api):
    response = admin_client_api.get("/api/v1/lead-forms/", {"is_active": "null"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"is_active": ["Enter true or false."]}


def test_it_documents_the_requested_by_filter_as_text(schema):
    [requested_by] = [
        parameter
        for parameter in _operation(schema, "/api/v1/escalations/", "get")["parameters"]
        if parameter["name"] == "requested_by"
    ]

    assert requested_by["schema"] == {"type": "string", "enum": ["me"]}


# --- 500s ---------------------------------------------------------------------------------------


def test_it_describes_a_put_route_without_an_id_on_options(admin_client_api):
    response = admin_client_api.options("/api/v1/daily-reports/today/")

    assert response.status_code == 200
    assert response.json()["name"] == "Today"


def test_it_answers_404_for_a_lead_id_past_the_database_range(admin_client_api):
    response = admin_client_api.post(f"/api/v1/leads/{2**64}/qualify/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}


# --- Found by the long run (bench/fuzz_api.py): a rule worth more than a score can hold -------


def test_it_refuses_a_scoring_rule_worth_more_than_the_bound(admin_client_api):
    response = admin_client_api.post(
        "/api/v1/scoring-rules/",
        {
            "name": "Everything",
            "kind": "fit",
            "points": 10**6,
            "attribute": "title",
            "operator": "contains",
            "value": "a",
        },
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "points": ["Ensure this value is less than or equal to 1000."]
    }
    assert ScoringRule.objects.count() == 0


def test_it_keeps_a_score_past_the_storable_bound_at_the_bound():
    # A rule from before the bound, worth more than a score's ten digits can hold.
    FitRuleFactory(name="Huge", attribute="title", operator="equals", value="CTO", points=2**31 - 1)
    contact = ContactFactory(title="CTO", stage="lead")

    score_contacts()

    assert LeadScore.objects.get(contact=contact).score == Decimal("99999999.99")
    screened = screen_contacts()  # reads the scores back: failed on SQLite, refused on PostgreSQL
    assert (screened.hot, screened.nurture) == (1, 0)


def test_it_refuses_an_object_where_a_list_of_ids_is_due(admin_client_api):
    response = admin_client_api.post(
        "/api/v1/teams/", {"name": "Osaka", "kind": "sales", "members": {}}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "members": ['Expected a list of items but got type "dict".']
    }
    assert not Team.objects.filter(name="Osaka").exists()


def test_it_documents_the_409_of_a_quote_on_a_closed_deal(schema, admin_client_api):
    assert "409" in _operation(schema, "/api/v1/quotes/", "post")["responses"]
    deal = DealFactory(stage="won", closed_at=timezone.now())

    response = admin_client_api.post("/api/v1/quotes/", {"deal": deal.pk, "lines": []})

    assert response.status_code == 409
    assert response.json()["errors"] == {
        "deal": ["The deal is won; a quote on it cannot be written."]
    }


@pytest.mark.parametrize(
    ("occurred_at", "status"),
    [("0025-01-01T01:00:01Z", 400), ("1899-12-31T23:59:59+09:00", 400), ("1900-01-02T00:00Z", 201)],
)
def test_it_takes_moments_from_1900_on(occurred_at, status, admin_client_api):
    contact = ContactFactory()

    response = admin_client_api.post(
        "/api/v1/touchpoints/",
        {"kind": "call", "channel": "phone", "contact": contact.pk, "occurred_at": occurred_at},
    )

    assert response.status_code == status, response.json()
    if status == 400:
        assert response.json()["errors"] == {"occurred_at": ["Enter a date and time from 1900 on."]}
    else:
        assert response.json()["occurred_at"] == "1900-01-02T09:00:00+09:00"
