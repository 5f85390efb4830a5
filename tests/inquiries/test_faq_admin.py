"""The FAQ admin: candidates by rank with their members, the accept / reject / merge actions
through the services, and FAQ entries written by the services (search text kept)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from inquiries.faq import services
from inquiries.models import FaqCandidate, FaqCandidateChange, FaqCandidateMember, FaqEntry
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

LIST = "/admin/inquiries/faqcandidate/"


@pytest.fixture
def browser(support_agent):
    client = Client()
    client.force_login(support_agent)
    return client


@pytest.fixture
def candidates(support_agent):
    for question in DELIVERY:
        ask(question, agent=support_agent, answer=DELIVERY_ANSWER, resolve_after=timedelta(hours=5))
    for question in PASSWORD:
        ask(question, agent=support_agent, answer=PASSWORD_ANSWER)
    for question in REFUND[:3]:
        ask(question, agent=support_agent, answer=REFUND_ANSWER)
    services.faq_candidates_build(since=T0.date(), until=T0.date())
    return list(FaqCandidate.objects.order_by("rank"))


def _action(browser, action: str, candidates, **form):
    data = {"action": action, "_selected_action": [c.pk for c in candidates], **form}
    if form:
        data["apply"] = "1"
    return browser.post(LIST, data)


@pytest.mark.parametrize(
    "url",
    [LIST, "/admin/inquiries/faqcandidatemember/", "/admin/inquiries/faqentry/"],
)
def test_it_shows_the_changelists_without_a_query_per_row(
    browser, candidates, url, django_assert_max_num_queries
):
    for number in range(10):
        services.faq_entry_create(question=f"Question {number}?", answer="Answer.")

    with django_assert_max_num_queries(12):
        response = browser.get(url)

    assert response.status_code == 200


def test_it_lists_candidates_by_rank(browser, candidates):
    response = browser.get(LIST)

    assert [row.pk for row in response.context["cl"].result_list] == [c.pk for c in candidates]


def test_a_candidate_page_links_its_members(browser, candidates):
    delivery = candidates[0]

    page = browser.get(f"{LIST}{delivery.pk}/change/")
    members = browser.get(
        "/admin/inquiries/faqcandidatemember/", {"candidate__id__exact": delivery.pk}
    )

    assert page.status_code == 200
    assert f"?candidate__id__exact={delivery.pk}" in page.content.decode()
    assert members.status_code == 200
    listed = {row.inquiry_id for row in members.context["cl"].result_list}
    assert listed == set(
        FaqCandidateMember.objects.filter(candidate=delivery).values_list("inquiry_id", flat=True)
    )
    assert len(listed) == 4


def test_the_accept_action_asks_for_the_text_then_publishes(browser, candidates, support_agent):
    password = candidates[1]

    form_page = _action(browser, "accept", [password])
    response = _action(
        browser,
        "accept",
        [password],
        question="How can I reset my password?",
        answer=PASSWORD_ANSWER,
        category="",
    )

    assert form_page.status_code == 200
    assert form_page.context["form"].initial["question"] == password.question
    assert response.status_code == 302
    entry = FaqEntry.objects.get()
    assert (entry.question, entry.source_candidate_id, entry.created_by) == (
        "How can I reset my password?",
        password.pk,
        support_agent,
    )
    assert FaqCandidate.objects.get(pk=password.pk).status == "accepted"


def test_the_reject_action_needs_a_reason(browser, candidates):
    refund = candidates[2]

    _action(browser, "reject", [refund], reason="")
    assert FaqCandidate.objects.get(pk=refund.pk).status == "new"

    _action(browser, "reject", [refund], reason="Only during the sale")

    refund.refresh_from_db()
    assert (refund.status, refund.reason) == ("rejected", "Only during the sale")
    assert FaqCandidateChange.objects.get(candidate=refund).note == "Only during the sale"


def test_the_merge_action_merges_into_the_best_ranked(browser, candidates):
    delivery, password, refund = candidates

    _action(browser, "merge", [refund, delivery])

    refund.refresh_from_db()
    delivery.refresh_from_db()
    assert (refund.status, refund.merged_into_id) == ("merged", delivery.pk)
    assert delivery.volume == 7
    assert FaqCandidate.objects.get(pk=password.pk).status == "new"


def test_a_rep_cannot_review(candidates, sales_rep):
    client = Client()
    client.force_login(sales_rep)

    assert client.get(LIST).status_code == 403


def test_an_entry_written_in_the_admin_is_searchable(browser):
    response = browser.post(
        "/admin/inquiries/faqentry/add/",
        # Full-width "Where", folded for search.
        {"question": "Ｗｈｅｒｅ is my INVOICE?", "answer": "Under Billing.", "category": ""},  # noqa: RUF001
    )

    assert response.status_code == 302
    entry = FaqEntry.objects.get()
    assert entry.search_text == "where is my invoice? under billing."
    assert entry.published_at is None
