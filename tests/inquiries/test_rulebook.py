"""The SLA policies and assignment rules are read once into the cache and dropped when one
changes (inquiries/rulebook.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inquiries import services
from inquiries.models import AssignmentRule, SlaPolicy
from tests.factories import ContactFactory, TeamFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _open(**kwargs):
    return services.inquiry_open(
        channel=kwargs.pop("channel", "email"),
        subject="Where is my invoice?",
        customer=services.Customer(contact=ContactFactory()),
        body="Hello, where is it?",
        **kwargs,
    )


def _rule_and_policy_reads(queries) -> list[str]:
    tables = (AssignmentRule._meta.db_table, SlaPolicy._meta.db_table)
    return [
        query["sql"]
        for query in queries
        if query["sql"].startswith("SELECT") and any(f'FROM "{t}"' in query["sql"] for t in tables)
    ]


def test_it_reads_the_rules_once_for_many_inquiries():
    team = TeamFactory(name="Desk", kind="support")
    AssignmentRule.objects.create(name="Desk", team=team, strategy="queue_only")
    SlaPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=480
    )
    _open()  # reads them

    with CaptureQueriesContext(connection) as queries:
        second, third = _open(), _open()

    assert _rule_and_policy_reads(queries.captured_queries) == []
    assert (second.team, third.team) == (team, team)
    assert second.sla_policy.name == third.sla_policy.name == "Normal"


def test_it_routes_by_a_rule_created_after_the_rules_were_read():
    before = _open()
    team = TeamFactory(name="Desk", kind="support")
    AssignmentRule.objects.create(name="Desk", team=team, strategy="queue_only")

    after = _open()

    assert (before.team, after.team) == (None, team)


def test_it_stops_using_a_rule_switched_off_or_deleted():
    team = TeamFactory(name="Desk", kind="support")
    rule = AssignmentRule.objects.create(name="Desk", team=team, strategy="queue_only")
    first = _open()
    rule.is_active = False
    rule.save()
    switched_off = _open()
    rule.is_active = True
    rule.save()
    back_on = _open()
    rule.delete()

    deleted = _open()

    assert [first.team, switched_off.team, back_on.team, deleted.team] == [team, None, team, None]


def test_it_times_inquiries_by_a_policy_changed_after_the_rules_were_read():
    policy = SlaPolicy.objects.create(
        name="Normal", priority="normal", first_response_minutes=60, resolution_minutes=480
    )
    _open()
    policy.first_response_minutes = 30
    policy.save()

    with time_machine.travel(T0, tick=False):
        inquiry = _open()

    assert inquiry.first_response_due_at == T0 + timedelta(minutes=30)


def test_it_matches_rule_categories_ignoring_case_and_blank_as_any():
    billing = TeamFactory(name="Billing", kind="support")
    rest = TeamFactory(name="Rest", kind="support")
    AssignmentRule.objects.create(
        name="Billing", team=billing, category="Billing", position=1, strategy="queue_only"
    )
    AssignmentRule.objects.create(name="Rest", team=rest, position=2, strategy="queue_only")

    shouted = _open(category="BILLING")
    other = _open(category="shipping")

    assert (shouted.team, other.team) == (billing, rest)
