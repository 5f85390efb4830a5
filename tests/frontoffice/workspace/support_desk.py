"""A support desk for the support and supervisor page tests: a support team supervised by a
manager with two agents, a billing department, a 24/7 SLA policy, and an email inquiry that
arrived through the real inbound email service, assigned to the agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import time_machine
from django.test import Client

from accounts import roles
from accounts.models import Team
from inquiries.email_in import Outcome, email_receive
from inquiries.escalations import sla_policy_create
from inquiries.models import Inquiry
from inquiries.services import inquiry_assign
from tests.factories import TeamFactory, user_with_role

# Monday 2026-03-02, 10:00 in Tokyo.
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
CUSTOMER = "hanako.yamada@kaisha.co.jp"


@dataclass
class Desk:
    supervisor: object
    agent: object
    other_agent: object
    billing_lead: object
    support: Team
    billing: Team
    inquiry: Inquiry


def customer_mail(
    *,
    message_id: str,
    subject: str = "Invoice address change",
    body: str = "Please change the address on our invoices.",
    sender: str = f"Hanako Yamada <{CUSTOMER}>",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "support@frontoffice.example"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    return message.as_bytes()


def receive(raw: bytes) -> Inquiry:
    """An inbound email through the webhook's service; the inquiry it opened or threaded."""
    received = email_receive(raw=raw, source="webhook")
    assert received.outcome in (Outcome.OPENED, Outcome.THREADED), received
    return received.message.inquiry


def email_inquiry(desk_team: Team, agent, *, number: int, **mail) -> Inquiry:
    inquiry = receive(customer_mail(message_id=f"<q{number}@kaisha.co.jp>", **mail))
    inquiry_assign(inquiry=inquiry, assignee=agent, team=desk_team, actor=agent)
    return inquiry


def make_desk() -> Desk:
    supervisor = user_with_role(
        roles.MANAGER, username="sup", first_name="Sachiko", last_name="Sato"
    )
    agent = user_with_role(
        roles.SUPPORT_AGENT, username="agent1", first_name="Kenji", last_name="Ito"
    )
    other_agent = user_with_role(
        roles.SUPPORT_AGENT, username="agent2", first_name="Yui", last_name="Mori"
    )
    billing_lead = user_with_role(
        roles.MANAGER, username="billing_lead", first_name="Taro", last_name="Kato"
    )
    support = TeamFactory(name="Support", kind=Team.Kind.SUPPORT, supervisor=supervisor)
    support.members.add(agent, other_agent)
    billing = TeamFactory(name="Billing", kind=Team.Kind.SPECIALIST, supervisor=billing_lead)
    sla_policy_create(
        name="Normal", priority="normal", first_response_minutes=240, resolution_minutes=480
    )
    with time_machine.travel(NOW, tick=False):
        inquiry = email_inquiry(support, agent, number=1)
    inquiry.refresh_from_db()
    return Desk(
        supervisor=supervisor,
        agent=agent,
        other_agent=other_agent,
        billing_lead=billing_lead,
        support=support,
        billing=billing,
        inquiry=inquiry,
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
