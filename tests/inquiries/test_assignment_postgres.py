"""Races on PostgreSQL with real threads, each with its own connection, on committed data:
agents taking the same inquiry at once, and a chat conversation's first messages arriving at
once. SQLite serialises writers, so there is no race to show there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accounts import roles
from frontoffice.errors import ConflictError
from inquiries import channels, services
from inquiries.models import InboundChannel, Inquiry, InquiryAssignment, Message
from tests.concurrency import POSTGRES_ONLY, all_at_once
from tests.factories import ContactFactory, TeamFactory, user_with_role

pytestmark = [
    pytest.mark.postgres,
    POSTGRES_ONLY,
    pytest.mark.django_db(transaction=True),
]

THREADS = 8


def _all_at_once(prepare: Callable[[int], Any], act: Callable[[int, Any], Any]) -> list[Any]:
    return all_at_once(act, prepare=prepare, threads=THREADS)


def test_it_gives_an_inquiry_to_exactly_one_of_many_agents_taking_it(role_groups):
    team = TeamFactory(name="Support", kind="support")
    agents = [user_with_role(roles.SUPPORT_AGENT, username=f"agent{n}") for n in range(THREADS)]
    team.members.add(*agents)
    inquiry = services.inquiry_open(
        channel="chat",
        subject="Help",
        body="Please",
        customer=services.Customer(contact=ContactFactory()),
        team=team,
    )

    outcomes = _all_at_once(
        prepare=lambda n: Inquiry.objects.get(pk=inquiry.pk),
        act=lambda n, mine: channels.inquiry_take(inquiry=mine, actor=agents[n]),
    )

    taken = [o for o in outcomes if isinstance(o, InquiryAssignment)]
    refused = [o for o in outcomes if isinstance(o, ConflictError)]
    assert (len(taken), len(refused)) == (1, THREADS - 1)
    row = InquiryAssignment.objects.get(inquiry=inquiry)
    assert (
        Inquiry.objects.get(pk=inquiry.pk).assignee_id
        == row.to_assignee_id
        == taken[0].to_assignee_id
    )


def test_it_answers_409_to_all_but_one_agent_taking_over_the_api(role_groups):
    from rest_framework.test import APIClient

    team = TeamFactory(name="Support", kind="support")
    agents = [user_with_role(roles.SUPPORT_AGENT, username=f"agent{n}") for n in range(THREADS)]
    team.members.add(*agents)
    inquiry = services.inquiry_open(
        channel="chat",
        subject="Help",
        body="Please",
        customer=services.Customer(contact=ContactFactory()),
        team=team,
    )

    def client(n: int) -> APIClient:
        api = APIClient()
        api.force_authenticate(agents[n])
        return api

    codes = _all_at_once(
        prepare=client,
        act=lambda n, api: api.post(f"/api/v1/inquiries/{inquiry.pk}/take/").status_code,
    )

    assert sorted(codes) == [200] + [409] * (THREADS - 1)
    assert InquiryAssignment.objects.filter(inquiry=inquiry).count() == 1


def test_it_opens_one_inquiry_when_a_conversations_first_messages_arrive_at_once(role_groups):
    chat = InboundChannel.objects.create(name="Chat", kind="chat")

    outcomes = _all_at_once(
        prepare=lambda n: None,
        act=lambda n, _: channels.chat_message_receive(
            inbound_channel=chat,
            conversation_id="conv-1",
            message=f"Hello {n}",
            customer=services.Customer(email="hanako@kaisha.co.jp", name="Hanako"),
        ),
    )

    inquiry = Inquiry.objects.get()
    assert {o.inquiry.pk for o in outcomes} == {inquiry.pk}
    assert sum(1 for o in outcomes if o.opened) == 1
    assert sorted(Message.objects.filter(inquiry=inquiry).values_list("body", flat=True)) == sorted(
        f"Hello {n}" for n in range(THREADS)
    )
