"""Hot leads to call (qualify / disqualify through pipeline.screening) and logging an inquiry a
customer gave a rep (inquiries.channels.inquiry_log)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Contact, JourneyStage, JourneyTransition
from inquiries.models import Inquiry
from pipeline.models import FollowUpTask, LeadScore
from tests.factories import ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

LEADS = "/app/leads/"
LOG = "/app/inquiries/log/"


def _hot_lead(rep, *, name: str, due_in_hours: int = 4) -> Contact:
    contact = ContactFactory(name=name, stage=JourneyStage.LEAD, phone="03-1234-5678")
    LeadScore.objects.create(
        contact=contact,
        score=82,
        segment="hot",
        breakdown=[
            {"rule": 1, "name": "Plant manager", "kind": "fit", "points": 30},
            {"rule": 2, "name": "Visited the expo", "kind": "behaviour", "points": 52},
        ],
    )
    FollowUpTask.objects.create(
        contact=contact,
        assignee=rep,
        score=82,
        due_at=timezone.now() + timedelta(hours=due_in_hours),
    )
    return contact


def test_it_lists_my_hot_leads_with_why_they_are_hot(browser, sales_rep):
    _hot_lead(sales_rep, name="Late Lead", due_in_hours=-2)
    _hot_lead(sales_rep, name="Fresh Lead")
    other = ContactFactory(name="Not mine", stage=JourneyStage.LEAD)
    FollowUpTask.objects.create(contact=other, score=90, due_at=timezone.now())

    html = browser(sales_rep).get(LEADS).content.decode()

    assert html.index("Late Lead") < html.index("Fresh Lead")
    assert "Visited the expo (+52), Plant manager (+30)" in html
    assert html.count(">Overdue<") == 1
    assert "Not mine" not in html


def test_it_shows_an_empty_list_of_leads(browser, sales_rep):
    html = browser(sales_rep).get(LEADS).content.decode()

    assert "No hot leads waiting for you." in html


def test_it_qualifies_a_lead(browser, sales_rep):
    contact = _hot_lead(sales_rep, name="Ken Mori")

    response = browser(sales_rep).post(f"{LEADS}{contact.pk}/decide/", {"decision": "qualify"})

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.stage == "prospect"
    assert FollowUpTask.objects.get(contact=contact).status == "done"
    assert JourneyTransition.objects.filter(contact=contact, to_stage="prospect", actor=sales_rep)


def test_it_answers_htmx_with_the_decided_lead(browser, sales_rep):
    contact = _hot_lead(sales_rep, name="Ken Mori")

    response = browser(sales_rep).post(
        f"{LEADS}{contact.pk}/decide/",
        {"decision": "disqualify", f"lead-{contact.pk}-reason": "Student project"},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "Ken Mori disqualified." in html
    contact.refresh_from_db()
    assert contact.stage == "lost"
    task = FollowUpTask.objects.get(contact=contact)
    assert (task.status, task.outcome) == ("cancelled", "Student project")


def test_it_asks_for_the_reason_to_disqualify_inline(browser, sales_rep):
    contact = _hot_lead(sales_rep, name="Ken Mori")

    response = browser(sales_rep).post(
        f"{LEADS}{contact.pk}/decide/",
        {"decision": "disqualify", f"lead-{contact.pk}-reason": ""},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    assert f'id="id_lead-{contact.pk}-reason_error"' in response.content.decode()
    contact.refresh_from_db()
    assert contact.stage == "lead"
    assert FollowUpTask.objects.get(contact=contact).status == "open"


def test_it_refuses_to_decide_a_lead_twice(browser, sales_rep):
    contact = _hot_lead(sales_rep, name="Ken Mori")
    client = browser(sales_rep)
    client.post(f"{LEADS}{contact.pk}/decide/", {"decision": "qualify"})

    response = client.post(
        f"{LEADS}{contact.pk}/decide/", {"decision": "qualify"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 409
    assert "Only a lead can be qualified or disqualified" in response.content.decode()


def test_it_reads_the_leads_in_a_fixed_number_of_queries(
    browser, sales_rep, django_assert_max_num_queries
):
    for index in range(15):
        _hot_lead(sales_rep, name=f"Lead {index}")
    client = browser(sales_rep)
    client.get(LEADS)

    with django_assert_max_num_queries(5):
        response = client.get(LEADS)

    assert response.content.decode().count('class="card lead"') == 15


# --- Logging an inquiry -------------------------------------------------------------------------


def test_it_passes_a_known_customers_inquiry_on_to_support(browser, sales_rep):
    deal = DealFactory(owner=sales_rep)
    contact = deal.contact

    response = browser(sales_rep).post(
        f"{LOG}?contact={contact.pk}",
        {
            "contact": contact.pk,
            "subject": "Broken sensor",
            "body": "The sensor on line 2 stopped.",
            "category": "",
            "priority": "high",
            "deal": deal.pk,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/app/contacts/{contact.pk}/"
    inquiry = Inquiry.objects.get()
    assert (inquiry.channel, inquiry.source_rep_id, inquiry.contact_id, inquiry.deal_id) == (
        "sales_rep",
        sales_rep.pk,
        contact.pk,
        deal.pk,
    )
    assert inquiry.priority == "high"
    assert inquiry.messages.get().body == "The sensor on line 2 stopped."


def test_it_finds_or_creates_the_customer_by_email(browser, sales_rep):
    response = browser(sales_rep).post(
        LOG,
        {
            "email": "Yuki@Example.jp",
            "name": "Yuki Sato",
            "company": "Sato Kogyo",
            "body": "Can we get a brochure?",
            "priority": "normal",
        },
    )

    assert response.status_code == 302
    inquiry = Inquiry.objects.get()
    assert inquiry.contact.email == "yuki@example.jp"
    assert inquiry.subject == "Can we get a brochure?"


def test_it_asks_for_an_email_or_phone_and_the_question_inline(browser, sales_rep):
    response = browser(sales_rep).post(LOG, {"name": "Nobody", "priority": "normal"})

    html = response.content.decode()
    assert response.status_code == 400
    assert html.count("Give the customer&#x27;s email or phone number.") == 2
    assert 'id="id_body_error"' in html
    assert not Inquiry.objects.exists()


def test_it_lets_an_agent_choose_the_channel(browser, support_agent, sales_rep):
    html = browser(support_agent).get(LOG).content.decode()
    rep_html = browser(sales_rep).get(LOG).content.decode()

    assert 'name="channel"' in html
    assert 'name="channel"' not in rep_html
