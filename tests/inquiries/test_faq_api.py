"""The FAQ API: candidates by rank with their members, accept (publishes an entry), reject,
merge, who may do what; the public FAQ with search; suggestions for an open inquiry."""

# ruff: noqa: RUF001 (Japanese text with full-width punctuation on purpose)
from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.throttling import ScopedRateThrottle

from inquiries import services as inquiry_services
from inquiries.faq import services
from inquiries.models import FaqCandidate, FaqCandidateChange, FaqEntry, SavedReply
from tests.api_helpers import result_ids
from tests.factories import ContactFactory, TeamFactory
from tests.inquiries.faq_data import (
    DELIVERY,
    DELIVERY_ANSWER,
    PASSWORD,
    PASSWORD_ANSWER,
    REFUND,
    REFUND_ANSWER,
    T0,
    ask,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/faq-candidates/"
FAQS = "/api/v1/faqs/"


@pytest.fixture
def candidates(support_agent):
    """Three new candidates: delivery (rank 1), password (2), refund (3)."""
    for question in DELIVERY:
        ask(question, agent=support_agent, answer=DELIVERY_ANSWER, resolve_after=timedelta(hours=5))
    for question in PASSWORD:
        ask(question, agent=support_agent, answer=PASSWORD_ANSWER)
    for question in REFUND[:3]:
        ask(question, agent=support_agent, answer=REFUND_ANSWER)
    services.faq_candidates_build(since=T0.date(), until=T0.date())
    return list(FaqCandidate.objects.order_by("rank"))


# --- Candidates ---------------------------------------------------------------------------------


def test_it_lists_the_candidates_by_rank_with_examples(
    agent_client, candidates, django_assert_max_num_queries
):
    with django_assert_max_num_queries(6):
        response = agent_client.get(URL)

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["id"], row["rank"]) for row in rows] == [(c.pk, c.rank) for c in candidates]
    first = rows[0]
    assert (first["volume"], first["total_handling_seconds"], first["status"]) == (
        4,
        4 * 5 * 3600,
        "new",
    )
    assert first["draft_answer"] == DELIVERY_ANSWER
    assert first["next_moves"] == ["accepted", "rejected", "merged"]
    assert len(first["examples"]) == 3
    assert first["examples"][0]["is_representative"] is True
    assert first["examples"][0]["question"] == first["question"]


def test_it_lists_every_member_of_a_candidate_most_central_first(agent_client, candidates):
    delivery = candidates[0]

    response = agent_client.get(f"{URL}{delivery.pk}/members/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert sorted(row["question"] for row in rows) == sorted(DELIVERY)
    assert rows[0]["is_representative"] is True
    similarities = [row["similarity"] for row in rows]
    assert similarities == sorted(similarities, reverse=True)
    assert {row["handling_seconds"] for row in rows} == {5 * 3600}


def test_it_filters_candidates_by_status_and_coverage(agent_client, candidates, support_agent):
    services.faq_candidate_reject(candidate=candidates[2], reason="Seasonal", actor=support_agent)

    rejected = agent_client.get(URL, {"status": "rejected"})
    uncovered = agent_client.get(URL, {"covered": "false", "status": "new"})

    assert result_ids(rejected) == [candidates[2].pk]
    assert result_ids(uncovered) == [candidates[0].pk, candidates[1].pk]
    assert agent_client.get(URL, {"covered": "maybe"}).status_code == 400


def test_accepting_publishes_the_edited_entry_and_writes_the_history(
    agent_client, candidates, support_agent
):
    password = candidates[1]

    response = agent_client.post(
        f"{URL}{password.pk}/accept/",
        {"question": "How do I reset my password?", "category": "Account"},
    )

    assert response.status_code == 201
    entry = FaqEntry.objects.get(pk=response.json()["id"])
    assert (entry.question, entry.answer, entry.category, entry.is_published) == (
        "How do I reset my password?",
        PASSWORD_ANSWER,
        "Account",
        True,
    )
    password.refresh_from_db()
    assert (password.status, password.rank, password.covered_by_id) == ("accepted", None, entry.pk)
    change = FaqCandidateChange.objects.get(candidate=password)
    assert (change.from_status, change.to_status, change.actor) == (
        "new",
        "accepted",
        support_agent,
    )
    assert result_ids(agent_client.get(FAQS)) == [entry.pk]


def test_accepting_twice_is_a_conflict(agent_client, candidates):
    url = f"{URL}{candidates[0].pk}/accept/"

    first = agent_client.post(url, {})
    second = agent_client.post(url, {})

    assert (first.status_code, second.status_code) == (201, 409)
    assert FaqEntry.objects.count() == 1


def test_accepting_a_blank_question_is_a_400_and_publishes_nothing(agent_client, candidates):
    response = agent_client.post(f"{URL}{candidates[0].pk}/accept/", {"question": "   "})

    assert response.status_code == 400
    assert "question" in response.json()["errors"]
    assert not FaqEntry.objects.exists()
    assert FaqCandidate.objects.get(pk=candidates[0].pk).status == "new"


def test_rejecting_needs_a_reason(agent_client, candidates):
    url = f"{URL}{candidates[2].pk}/reject/"

    missing = agent_client.post(url, {})
    blank = agent_client.post(url, {"reason": " "})
    done = agent_client.post(url, {"reason": "Only asked around the sale"})

    assert (missing.status_code, blank.status_code, done.status_code) == (400, 400, 200)
    assert (done.json()["status"], done.json()["reason"]) == (
        "rejected",
        "Only asked around the sale",
    )
    assert FaqCandidateChange.objects.get().note == "Only asked around the sale"


def test_merging_folds_the_other_candidates_inquiries_in(agent_client, candidates):
    delivery, password, refund = candidates

    response = agent_client.post(f"{URL}{delivery.pk}/merge/", {"other": refund.pk})

    assert response.status_code == 200
    assert (response.json()["volume"], response.json()["rank"]) == (7, 1)
    refund.refresh_from_db()
    assert (refund.status, refund.merged_into_id, refund.rank) == ("merged", delivery.pk, None)
    members = agent_client.get(f"{URL}{delivery.pk}/members/").json()
    assert members["count"] == 7
    assert agent_client.get(f"{URL}{password.pk}/").json()["rank"] == 2


def test_merging_refuses_itself_and_reviewed_candidates(agent_client, candidates, support_agent):
    delivery, _password, refund = candidates
    services.faq_candidate_reject(candidate=refund, reason="No", actor=support_agent)

    itself = agent_client.post(f"{URL}{delivery.pk}/merge/", {"other": delivery.pk})
    reviewed = agent_client.post(f"{URL}{delivery.pk}/merge/", {"other": refund.pk})
    unknown = agent_client.post(f"{URL}{delivery.pk}/merge/", {"other": 999999})

    assert (itself.status_code, reviewed.status_code, unknown.status_code) == (400, 409, 400)
    assert FaqCandidate.objects.get(pk=delivery.pk).volume == 4


def test_the_history_lists_the_reviews(agent_client, candidates, support_agent):
    services.faq_candidate_reject(candidate=candidates[0], reason="Later", actor=support_agent)

    response = agent_client.get(f"{URL}{candidates[0].pk}/history/")

    assert [(row["from_status"], row["to_status"], row["note"]) for row in response.json()] == [
        ("new", "rejected", "Later")
    ]


def test_reps_and_strangers_cannot_see_candidates(rep_client, api_client, candidates):
    assert rep_client.get(URL).status_code == 403
    assert rep_client.post(f"{URL}{candidates[0].pk}/accept/", {}).status_code == 403
    assert api_client.get(URL).status_code == 401
    assert FaqCandidate.objects.filter(status="new").count() == 3


# --- The public FAQ -----------------------------------------------------------------------------


@pytest.fixture
def entries():
    return {
        "password": services.faq_entry_create(
            question="How do I reset my password?", answer=PASSWORD_ANSWER, category="Account"
        ),
        "delivery": services.faq_entry_create(
            question="Where is my order?",
            answer="Follow the tracking link; a forgotten password is not needed.",
            category="Shipping",
        ),
        "japanese": services.faq_entry_create(
            question="パスワードを再設定するには？",
            answer="設定画面の「パスワード再設定」から行えます。",
        ),
        "draft": services.faq_entry_create(
            question="Password rules", answer="At least 12 characters.", is_published=False
        ),
    }


def test_anyone_searches_the_published_faq(api_client, entries, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = api_client.get(FAQS, {"q": "PASSWORD"})

    assert response.status_code == 200
    assert result_ids(response) == [entries["password"].pk, entries["delivery"].pk]
    assert response.json()["results"][0] == {
        "id": entries["password"].pk,
        "question": "How do I reset my password?",
        "answer": PASSWORD_ANSWER,
        "category": "Account",
        "published_at": response.json()["results"][0]["published_at"],
        "updated_at": response.json()["results"][0]["updated_at"],
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("reset password", ["password"]),
        ("ＲＥＳＥＴ", ["password"]),
        ("再設定", ["japanese"]),
        ("tracking", ["delivery"]),
        ("rules", []),
    ],
)
def test_the_search_needs_every_word_and_ignores_case_and_width(
    api_client, entries, query, expected
):
    response = api_client.get(FAQS, {"q": query})

    assert result_ids(response) == [entries[name].pk for name in expected]


def test_the_faq_filters_by_category_and_pages(api_client, entries):
    shipping = api_client.get(FAQS, {"category": "shipping"})
    page = api_client.get(FAQS, {"page_size": 1, "page": 2})

    assert result_ids(shipping) == [entries["delivery"].pk]
    assert page.json()["count"] == 3
    assert len(page.json()["results"]) == 1
    assert api_client.get(f"{FAQS}{entries['draft'].pk}/").status_code == 404


def test_the_faq_search_is_throttled_per_client(api_client, entries, monkeypatch):
    monkeypatch.setattr(
        ScopedRateThrottle,
        "THROTTLE_RATES",
        {**ScopedRateThrottle.THROTTLE_RATES, "faq_search": "2/minute"},
    )

    statuses = [api_client.get(FAQS, {"q": "order"}).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_the_faq_is_read_only(api_client, admin_client_api, entries):
    assert api_client.post(FAQS, {"question": "x", "answer": "y"}).status_code == 405
    assert admin_client_api.delete(f"{FAQS}{entries['password'].pk}/").status_code == 405
    assert FaqEntry.objects.count() == 4


# --- Suggestions for an inquiry -----------------------------------------------------------------


@pytest.fixture
def team(support_agent):
    team = TeamFactory(name="Support", kind="support")
    team.members.add(support_agent)
    return team


def _inquiry(team, body: str):
    return inquiry_services.inquiry_open(
        channel="email",
        subject="Help",
        body=body,
        team=team,
        customer=inquiry_services.Customer(contact=ContactFactory()),
    )


def test_it_suggests_faq_entries_and_usable_saved_replies_for_an_inquiry(
    agent_client, team, entries, django_assert_max_num_queries
):
    steps = SavedReply.objects.create(title="Password reset steps", body=PASSWORD_ANSWER)
    SavedReply.objects.create(title="Delivery delays", body=DELIVERY_ANSWER, team=team)
    SavedReply.objects.create(
        title="Password reset (other team)", body=PASSWORD_ANSWER, team=TeamFactory()
    )
    inquiry = _inquiry(team, "Hello,\n\nI forgot my password. How can I reset it?\n\nThanks,\nKen")

    with django_assert_max_num_queries(8):
        response = agent_client.get(f"/api/v1/inquiries/{inquiry.pk}/suggestions/")

    assert response.status_code == 200
    body = response.json()
    assert (body["inquiry"], body["question"]) == (
        inquiry.pk,
        "I forgot my password. How can I reset it?",
    )
    # The delivery entry mentions a forgotten password; the Japanese one shares nothing.
    assert [row["id"] for row in body["faqs"]] == [entries["password"].pk, entries["delivery"].pk]
    # Another team's reply is not the agent's to use; the delivery one shares nothing.
    assert [row["id"] for row in body["saved_replies"]] == [steps.pk]
    scores = [row["score"] for row in body["faqs"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0.1 <= score <= 1 for score in scores)


def test_suggestions_for_an_inquiry_the_agent_cannot_see_are_a_404(agent_client, team, entries):
    other = _inquiry(TeamFactory(), "How do I reset my password?")

    assert agent_client.get(f"/api/v1/inquiries/{other.pk}/suggestions/").status_code == 404


def test_suggestions_are_for_those_who_answer_inquiries(rep_client, team, entries):
    inquiry = _inquiry(team, "How do I reset my password?")

    assert rep_client.get(f"/api/v1/inquiries/{inquiry.pk}/suggestions/").status_code == 403
