"""Escalations over the API: escalate an inquiry, the lists, the answers, and the settings."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts import roles
from inquiries.models import Escalation, EscalationChange, SlaPolicy
from tests.factories import user_with_role
from tests.inquiries.test_escalations import make_desk


@pytest.fixture
def desk(db):
    return make_desk()


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _escalate(desk, user=None, **data):
    payload = {"kind": "instructions", "reason": "What may I offer?", **data}
    return _client(user or desk["agent"]).post(
        f"/api/v1/inquiries/{desk['inquiry'].pk}/escalate/", payload, format="json"
    )


def test_it_escalates_an_inquiry(desk):
    response = _escalate(desk)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["status"], body["level"], body["owner"]) == (
        "instructions",
        "open",
        1,
        desk["supervisor"].pk,
    )
    assert [(c["from_status"], c["to_status"]) for c in body["changes"]] == [("", "open")]


def test_it_answers_bad_escalation_input_with_field_messages(desk):
    response = _escalate(desk, kind="shout", reason="", owner=10**30)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"kind", "reason", "owner"}
    assert Escalation.objects.count() == 0


def test_it_answers_a_service_refusal_with_a_400(desk):
    response = _escalate(desk, kind="transfer")

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "to_team": ["A transfer needs the specialist department (to_team)."]
    }


def test_it_forbids_a_sales_rep_to_escalate(desk):
    rep = user_with_role(roles.SALES_REP, username="rep1")

    response = _escalate(desk, user=rep)

    assert response.status_code in (403, 404)
    assert Escalation.objects.count() == 0


def test_it_lists_escalations_addressed_to_me(desk):
    _escalate(desk)

    mine = _client(desk["supervisor"]).get("/api/v1/escalations/").json()
    agents = _client(desk["agent"]).get("/api/v1/escalations/").json()
    asked = _client(desk["agent"]).get("/api/v1/escalations/?requested_by=me").json()

    assert [row["owner"] for row in mine["results"]] == [desk["supervisor"].pk]
    assert agents["results"] == []
    assert [row["requested_by"] for row in asked["results"]] == [desk["agent"].pk]


def test_it_refuses_an_unknown_filter_value(desk):
    response = _client(desk["supervisor"]).get("/api/v1/escalations/?requested_by=you")

    assert response.status_code == 400
    assert "requested_by" in response.json()["errors"]


def test_it_lists_with_a_query_count_independent_of_the_page_size(
    desk,
    django_assert_max_num_queries,
):
    client = _client(desk["supervisor"])
    _escalate(desk)
    with django_assert_max_num_queries(6) as one:
        client.get("/api/v1/escalations/")
    one_row = len(one.captured_queries)
    for _ in range(5):
        _escalate(desk, kind="approval")

    with django_assert_max_num_queries(one_row):
        response = client.get("/api/v1/escalations/?page_size=50")

    assert response.json()["count"] == 6


def test_it_shows_one_escalation_with_its_history(desk):
    escalation_id = _escalate(desk).json()["id"]
    _client(desk["supervisor"]).post(
        f"/api/v1/escalations/{escalation_id}/answer/", {"text": "Offer 10%."}, format="json"
    )

    body = _client(desk["agent"]).get(f"/api/v1/escalations/{escalation_id}/").json()

    assert (body["status"], body["answer"]) == ("answered", "Offer 10%.")
    assert [(c["from_status"], c["to_status"], c["note"]) for c in body["changes"]] == [
        ("", "open", "What may I offer?"),
        ("open", "answered", "Offer 10%."),
    ]


def test_it_forbids_an_agent_to_answer_a_supervisors_escalation(desk):
    escalation_id = _escalate(desk).json()["id"]

    response = _client(desk["agent"]).post(
        f"/api/v1/escalations/{escalation_id}/answer/", {"text": "Myself"}, format="json"
    )

    assert response.status_code == 403
    assert EscalationChange.objects.filter(escalation_id=escalation_id).count() == 1


def test_it_rejects_only_with_a_comment(desk):
    escalation_id = _escalate(desk, kind="approval").json()["id"]
    client = _client(desk["supervisor"])

    refused = client.post(f"/api/v1/escalations/{escalation_id}/reject/", {}, format="json")
    done = client.post(
        f"/api/v1/escalations/{escalation_id}/reject/", {"comment": "No."}, format="json"
    )

    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"comment"}
    assert (done.status_code, done.json()["status"]) == (200, "rejected")


def test_it_approves_and_cancel_is_a_conflict_afterwards(desk):
    escalation_id = _escalate(desk, kind="approval").json()["id"]

    approved = _client(desk["supervisor"]).post(
        f"/api/v1/escalations/{escalation_id}/approve/", {}, format="json"
    )
    cancelled = _client(desk["agent"]).post(
        f"/api/v1/escalations/{escalation_id}/cancel/", {}, format="json"
    )

    assert (approved.status_code, approved.json()["status"]) == (200, "approved")
    assert cancelled.status_code == 409


def test_it_escalates_an_escalation_further(desk):
    escalation_id = _escalate(desk, kind="approval").json()["id"]

    response = _client(desk["supervisor"]).post(
        f"/api/v1/escalations/{escalation_id}/escalate/",
        {"kind": "approval", "reason": "Above my limit", "owner": desk["director"].pk},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["level"], response.json()["parent"]) == (2, escalation_id)


# --- Settings -----------------------------------------------------------------------------------


POLICY = {
    "name": "Urgent in office hours",
    "priority": "urgent",
    "first_response_minutes": 30,
    "resolution_minutes": 480,
    "business_hours_only": True,
    "business_days": [5, 1, 2, 3, 4],
}


def test_it_lets_a_manager_create_an_sla_policy(manager_client):
    response = manager_client.post("/api/v1/sla-policies/", POLICY, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["business_days"] == [1, 2, 3, 4, 5]
    assert SlaPolicy.objects.get().business_hours_only is True


def test_it_forbids_an_agent_to_change_sla_policies(agent_client):
    response = agent_client.post("/api/v1/sla-policies/", POLICY, format="json")

    assert response.status_code == 403
    assert SlaPolicy.objects.count() == 0


def test_it_refuses_a_second_active_policy_for_the_same_priority(manager_client):
    manager_client.post("/api/v1/sla-policies/", POLICY, format="json")

    response = manager_client.post("/api/v1/sla-policies/", POLICY, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"priority"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"business_days": [0, 8]}, "business_days"),
        ({"business_days": [1, 1]}, "business_days"),
        ({"first_response_minutes": 10**12}, "first_response_minutes"),
        ({"business_day_start": "18:00", "business_day_end": "09:00"}, "business_day_end"),
        ({"priority": "asap"}, "priority"),
    ],
)
def test_it_answers_a_bad_sla_policy_with_field_messages(manager_client, change, field):
    response = manager_client.post("/api/v1/sla-policies/", {**POLICY, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert SlaPolicy.objects.count() == 0


def test_it_manages_assignment_rules(manager_client, desk):
    created = manager_client.post(
        "/api/v1/assignment-rules/",
        {"name": "Email", "team": desk["support"].pk, "channel": "email"},
        format="json",
    )
    changed = manager_client.patch(
        f"/api/v1/assignment-rules/{created.json()['id']}/",
        {"strategy": "least_open"},
        format="json",
    )

    assert created.status_code == 201, created.json()
    assert (changed.status_code, changed.json()["strategy"]) == (200, "least_open")


def test_it_lists_settings_with_bounded_queries(
    manager_client, desk, django_assert_max_num_queries
):
    for position in range(5):
        manager_client.post(
            "/api/v1/assignment-rules/",
            {"name": f"Rule {position}", "team": desk["support"].pk, "position": position},
            format="json",
        )

    with django_assert_max_num_queries(5):
        response = manager_client.get("/api/v1/assignment-rules/")

    assert response.json()["count"] == 5
