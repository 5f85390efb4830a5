"""Who sees which inquiries (inquiries.selectors), branch by branch, and what the queue costs in
queries. The scope is written as subqueries on the inquiry's own columns so PostgreSQL can read a
million-row table through its indexes (bench/api_load.py); these tests pin that every branch
still selects the same rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import roles
from inquiries import services
from inquiries.models import Escalation, Inquiry
from inquiries.selectors import inquiries_visible_to
from tests.factories import AccountFactory, ContactFactory, DealFactory, TeamFactory, user_with_role

pytestmark = pytest.mark.django_db

URL = "/api/v1/inquiries/"


def _open(contact=None, team=None) -> Inquiry:
    return services.inquiry_open(
        channel="email",
        subject="Where is my order?",
        body="It has not arrived.",
        customer=services.Customer(contact=contact or ContactFactory()),
        team=team,
    )


def _escalate(inquiry: Inquiry, *, owner=None, to_team=None) -> Escalation:
    return Escalation.objects.create(
        inquiry=inquiry,
        kind="transfer" if to_team is not None else "instructions",
        owner=owner,
        to_team=to_team,
        reason="Needs a specialist",
        due_at=timezone.now() + timedelta(days=1),
    )


def _visible(user, inquiries: dict[str, Inquiry]) -> set[str]:
    ids = set(inquiries_visible_to(user).values_list("pk", flat=True))
    return {name for name, inquiry in inquiries.items() if inquiry.pk in ids}


def test_a_rep_sees_the_inquiries_of_accounts_they_own_or_have_deals_with():
    rep = user_with_role(roles.SALES_REP, username="rep")
    owned_account = AccountFactory(owner=rep)
    deal_account = DealFactory(owner=rep, contact=None).account
    inquiries = {
        "owned_account": _open(ContactFactory(account=owned_account)),
        "deal_account": _open(ContactFactory(account=deal_account)),
        "owned_contact": _open(ContactFactory(owner=rep)),
        "someone_elses": _open(ContactFactory(account=AccountFactory())),
    }

    assert _visible(rep, inquiries) == {"owned_account", "deal_account", "owned_contact"}


def test_an_agent_sees_what_is_escalated_to_them_or_their_teams():
    agent = user_with_role(roles.SUPPORT_AGENT, username="agent")
    support = TeamFactory(name="Support", kind="support")
    support.members.add(agent)
    hardware = TeamFactory(name="Hardware", kind="specialist")
    billing = TeamFactory(name="Billing", kind="specialist")
    inquiries = {
        "to_my_team": _open(team=hardware),
        "to_me": _open(team=hardware),
        "to_another_team": _open(team=hardware),
        "not_escalated": _open(team=billing),
    }
    _escalate(inquiries["to_my_team"], to_team=support)
    _escalate(inquiries["to_me"], owner=agent)
    _escalate(inquiries["to_another_team"], to_team=billing)

    assert _visible(agent, inquiries) == {"to_my_team", "to_me"}


def test_an_agent_without_a_team_sees_only_the_shared_queue_and_their_own():
    agent = user_with_role(roles.SUPPORT_AGENT, username="agent")
    inquiries = {
        "shared": _open(),
        "mine": _open(team=TeamFactory()),
        "a_teams": _open(team=TeamFactory()),
    }
    services.inquiry_assign(inquiry=inquiries["mine"], assignee=agent)

    assert _visible(agent, inquiries) == {"shared", "mine"}


def test_the_queue_reads_the_teams_once_then_counts_and_pages(agent_client, support_agent):
    team = TeamFactory(name="Support", kind="support")
    team.members.add(support_agent)
    for _ in range(3):
        _open(team=team)
    agent_client.get(URL)  # the user's permissions are cached after the first request

    with CaptureQueriesContext(connection) as queries:
        response = agent_client.get(URL, {"status": ["new", "open"]})

    assert response.json()["count"] == 3
    # The caller's teams, the count, the page: the permission check no longer builds the scope.
    assert len(queries) == 3
    assert not any("DISTINCT" in query["sql"] for query in queries)


def test_a_page_shows_the_related_names_from_their_columns_alone(agent_client, support_agent):
    support_agent.first_name, support_agent.last_name = "Hanako", "Ito"
    support_agent.save()
    rep = user_with_role(roles.SALES_REP, username="rep", first_name="Jiro", last_name="Kato")
    deal = DealFactory(owner=rep, name="Fleet renewal", account=AccountFactory(name="Kaisha"))
    inquiry = services.inquiry_open(
        channel="sales_rep",
        subject="Invoice again",
        body="Please send the invoice again.",
        customer=services.Customer(contact=deal.contact),
        source_rep=rep,
        deal=deal,
    )
    services.inquiry_assign(inquiry=inquiry, assignee=support_agent)
    agent_client.get(URL)  # the user's permissions are cached after the first request

    with CaptureQueriesContext(connection) as queries:
        [row] = agent_client.get(URL).json()["results"]

    assert (
        row["account_name"],
        row["assignee_name"],
        row["source_rep_name"],
        row["deal_name"],
        row["contact_email"],
    ) == ("Kaisha", "Hanako Ito", "Jiro Kato", "Fleet renewal", deal.contact.email)
    assert len(queries) == 3
    assert '"auth_user"."password"' not in queries[-1]["sql"]
