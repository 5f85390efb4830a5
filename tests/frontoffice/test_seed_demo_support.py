"""`manage.py seed_demo`: support inquiries that agree with the customers' timelines."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pytest

from inquiries import statuses
from inquiries.models import Escalation, Inquiry, InquiryStatusChange, Message, SlaPolicy
from inquiries.sla import add_working_minutes
from tests.frontoffice.test_seed_demo import seed_demo

pytestmark = pytest.mark.django_db


def test_it_gives_every_inquiry_a_chained_history_ending_at_its_status():
    seed_demo()

    histories = defaultdict(list)
    for row in InquiryStatusChange.objects.order_by("inquiry_id", "created_at", "id").values_list(
        "inquiry_id", "from_status", "to_status", "created_at", "note"
    ):
        histories[row[0]].append(row[1:])
    broken = []
    for inquiry in Inquiry.objects.all():
        rows = histories[inquiry.pk]
        chained = [frm for frm, *_rest in rows] == ["", *[to for _f, to, _a, _n in rows[:-1]]]
        increasing = all(a < b for a, b in itertools.pairwise(at for _f, _t, at, _n in rows))
        allowed = all(
            statuses.can_move(frm, to, has_reason=bool(note), system=True)
            for frm, to, _at, note in rows[1:]
        )
        if not (chained and increasing and allowed and rows[-1][1] == inquiry.status):
            broken.append(inquiry.pk)
    assert broken == []
    assert {"new", "open", "pending", "escalated", "closed"} <= set(
        Inquiry.objects.values_list("status", flat=True)
    )


def test_it_puts_every_customer_message_on_the_timeline_with_its_inquiry():
    seed_demo()

    for message in Message.objects.select_related("inquiry", "touchpoint"):
        assert message.touchpoint is not None
        assert message.touchpoint.contact_id == message.inquiry.contact_id
        assert message.touchpoint.occurred_at == message.created_at
    answered = Inquiry.objects.exclude(first_responded_at=None)
    for inquiry in answered.prefetch_related("messages"):
        first_answer = min(
            m.created_at for m in inquiry.messages.all() if m.direction == "outbound"
        )
        assert inquiry.first_responded_at == first_answer
    assert Inquiry.objects.filter(status="new", first_responded_at=None).count() > 0


def test_it_sets_due_times_from_the_sla_policy_of_the_priority():
    seed_demo()

    policies = {policy.priority: policy for policy in SlaPolicy.objects.all()}
    for inquiry in Inquiry.objects.all():
        policy = policies[inquiry.priority]
        assert inquiry.sla_policy_id == policy.pk
        assert inquiry.first_response_due_at == add_working_minutes(
            inquiry.created_at, policy.first_response_minutes, policy
        )


def test_it_keeps_escalated_inquiries_with_one_open_escalation_each():
    seed_demo()

    escalated = set(Inquiry.objects.filter(status="escalated").values_list("pk", flat=True))
    open_escalations = Escalation.objects.filter(status="open")
    assert set(open_escalations.values_list("inquiry_id", flat=True)) == escalated
    assert open_escalations.filter(owner=None).count() == 0
