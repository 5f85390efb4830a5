"""The inquiries KPI family on hand-built inquiries around March 2026 (Asia/Tokyo).

Inquiry  contact channel category  created      first response (due)      resolved (due)
I1       c1      email   billing   03-02 09:00  09:30 (10:00, met)        03-03 09:00 (09:00, met)
I2       c2      phone   billing   03-05 10:00  10:30 (10:15, missed)     - (04-10)
I3       c3      email   ""        02-27 10:00  03-01 10:00 (02-28)       03-10 10:00 (03-12, met)
I4       c3      chat    shipping  03-31 23:30  - (04-01 00:30)           -
I5       c1      chat    ""        03-20 08:00  - (03-20 09:00, missed)   -
I7, I8   c1      web_form          05-30 00:00 and 05-29 23:59 (for the 90 days after c1's order)

I1 and I2 are team S's, I1 is assigned to the agent. Escalations: I1 transfer 03-02 and
instructions 03-03, I2 instructions 03-06, I5 approval 04-03, I3 transfer 03-01. Orders: c1 on
03-01 and 03-15, c2 on 02-20, c3 twice at the same instant 03-01 12:00. c1 was first touched by
the campaign Spring; c2 is in the hot segment.
"""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Touchpoint
from frontoffice.kpis import inquiries
from frontoffice.kpis.periods import Period, Scope
from inquiries.models import Escalation, Inquiry
from pipeline.models import LeadScore
from tests.factories import CampaignFactory, ContactFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

MARCH = Period.month_of(datetime.date(2026, 3, 1))
LATER = datetime.datetime(2026, 6, 1, tzinfo=datetime.UTC)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime.datetime:
    naive = datetime.datetime(2026, month, day, hour, minute)
    return timezone.make_aware(naive, timezone.get_current_timezone())


@pytest.fixture
def desk(db):
    team = TeamFactory(name="Support S", kind="support")
    agent = UserFactory(username="agent-one")
    spring = CampaignFactory(name="Spring")
    c1, c2, c3 = (ContactFactory(name=name) for name in ("c1", "c2", "c3"))
    Touchpoint.objects.create(
        contact=c1, kind="web_visit", channel="web", campaign=spring, occurred_at=at(2, 1)
    )
    LeadScore.objects.create(contact=c2, score=90, segment="hot")
    for contact, moment in [
        (c1, at(3, 1)),
        (c1, at(3, 15)),
        (c2, at(2, 20)),
        (c3, at(3, 1, 12)),
        (c3, at(3, 1, 12)),
    ]:
        Touchpoint.objects.create(
            contact=contact, kind="order", channel="sales_rep", occurred_at=moment
        )

    def inquiry(name: str, contact, channel: str, category: str, created, **fields) -> Inquiry:
        return Inquiry.objects.create(
            contact=contact,
            channel=channel,
            subject=name,
            category=category,
            created_at=created,
            **fields,
        )

    i1 = inquiry(
        "I1",
        c1,
        "email",
        "billing",
        at(3, 2, 9),
        team=team,
        assignee=agent,
        first_responded_at=at(3, 2, 9, 30),
        first_response_due_at=at(3, 2, 10),
        resolved_at=at(3, 3, 9),
        resolution_due_at=at(3, 3, 9),
    )
    i2 = inquiry(
        "I2",
        c2,
        "phone",
        "billing",
        at(3, 5, 10),
        team=team,
        first_responded_at=at(3, 5, 10, 30),
        first_response_due_at=at(3, 5, 10, 15),
        resolution_due_at=at(4, 10),
    )
    i3 = inquiry(
        "I3",
        c3,
        "email",
        "",
        at(2, 27, 10),
        first_responded_at=at(3, 1, 10),
        first_response_due_at=at(2, 28, 10),
        resolved_at=at(3, 10, 10),
        resolution_due_at=at(3, 12),
    )
    inquiry("I4", c3, "chat", "shipping", at(3, 31, 23, 30), first_response_due_at=at(4, 1, 0, 30))
    i5 = inquiry("I5", c1, "chat", "", at(3, 20, 8), first_response_due_at=at(3, 20, 9))
    inquiry("I7", c1, "web_form", "", at(5, 30))
    inquiry("I8", c1, "web_form", "", at(5, 29, 23, 59))
    for escalated, kind, moment in [
        (i1, "transfer", at(3, 2, 12)),
        (i1, "instructions", at(3, 3)),
        (i2, "instructions", at(3, 6)),
        (i5, "approval", at(4, 3)),
        (i3, "transfer", at(3, 1)),
    ]:
        Escalation.objects.create(
            inquiry=escalated,
            kind=kind,
            to_team=team if kind == "transfer" else None,
            reason="needs help",
            due_at=moment + datetime.timedelta(days=1),
            created_at=moment,
        )
    return {"team": team, "agent": agent, "spring": spring}


@pytest.fixture
def later():
    with time_machine.travel(LATER, tick=False):
        yield


def test_it_counts_volume_per_channel_and_category(desk, later):
    figures = inquiries.compute(MARCH, Scope())

    assert figures["volume"] == {
        "total": 4,
        "by_channel": {"chat": 2, "email": 1, "phone": 1},
        "by_category": {"": 1, "billing": 2, "shipping": 1},
    }


def test_it_measures_first_response_minutes_with_tied_values(desk, later):
    figures = inquiries.compute(MARCH, Scope())

    # I1 30, I2 30 (a tie), I3 2880 (created in February, answered in March).
    assert figures["first_response_minutes"] == {"n": 3, "median": 30.0, "p90": 2310.0}


def test_it_measures_resolution_minutes_of_inquiries_resolved_in_the_period(desk, later):
    figures = inquiries.compute(MARCH, Scope())

    assert figures["resolution_minutes"] == {"n": 2, "median": 8640.0, "p90": 14400.0}


def test_it_gives_the_escalation_rate_by_kind(desk, later):
    figures = inquiries.compute(MARCH, Scope())

    assert figures["escalations"] == {
        "escalated": 2,
        "rate": 0.5,
        "by_kind": {
            "transfer": {"count": 1, "rate": 0.25},
            "instructions": {"count": 2, "rate": 0.5},
            "approval": {"count": 0, "rate": 0.0},
        },
    }


def test_it_measures_sla_compliance_when_the_outcome_became_known(desk, later):
    figures = inquiries.compute(MARCH, Scope())

    # First response: I1 met, I2 late, I5 never answered by its due time; I3 was missed in
    # February. Resolution: I1 exactly at its due time and I3 early.
    assert figures["sla"] == {
        "first_response": {"measured": 3, "met": 1, "rate": 0.3333},
        "resolution": {"measured": 2, "met": 2, "rate": 1.0},
    }


def test_it_does_not_count_a_due_time_still_ahead_as_missed(desk):
    april = Period.month_of(datetime.date(2026, 4, 1))

    with time_machine.travel(at(4, 1, 0, 10), tick=False):
        before = inquiries.compute(april, Scope())["sla"]["first_response"]
    with time_machine.travel(at(4, 1, 0, 40), tick=False):
        after = inquiries.compute(april, Scope())["sla"]["first_response"]

    assert before == {"measured": 0, "met": 0, "rate": None}
    assert after == {"measured": 1, "met": 0, "rate": 0.0}


def test_it_counts_inquiries_in_the_90_days_after_a_first_order(desk, later):
    figures = inquiries.compute(MARCH, Scope())

    # c1: I1, I5 and I8 (I7 is 90 days after to the minute); c3 (two orders at one instant):
    # I4; c2's first order was in February.
    assert figures["after_order"] == {"customers": 2, "inquiries": 4, "per_customer": 2.0}


def test_it_gives_zeros_and_nulls_for_an_empty_period(desk, later):
    figures = inquiries.compute(Period.month_of(datetime.date(2025, 1, 1)), Scope())

    assert figures == {
        "volume": {"total": 0, "by_channel": {}, "by_category": {}},
        "first_response_minutes": {"n": 0, "median": None, "p90": None},
        "resolution_minutes": {"n": 0, "median": None, "p90": None},
        "escalations": {
            "escalated": 0,
            "rate": None,
            "by_kind": {
                kind: {"count": 0, "rate": None}
                for kind in ("transfer", "instructions", "approval")
            },
        },
        "sla": {
            "first_response": {"measured": 0, "met": 0, "rate": None},
            "resolution": {"measured": 0, "met": 0, "rate": None},
        },
        "after_order": {"customers": 0, "inquiries": 0, "per_customer": None},
    }


def test_it_scopes_to_a_teams_inquiries(desk, later):
    figures = inquiries.compute(MARCH, Scope("team", str(desk["team"].pk)))

    assert figures["volume"]["by_channel"] == {"email": 1, "phone": 1}
    assert figures["escalations"]["rate"] == 1.0
    assert figures["after_order"] == {"customers": 2, "inquiries": 1, "per_customer": 0.5}


def test_it_scopes_to_the_inquiries_assigned_to_a_rep(desk, later):
    figures = inquiries.compute(MARCH, Scope("rep", str(desk["agent"].pk)))

    assert figures["volume"]["total"] == 1
    assert figures["first_response_minutes"] == {"n": 1, "median": 30.0, "p90": 30.0}


def test_it_scopes_to_an_inquiry_channel(desk, later):
    figures = inquiries.compute(MARCH, Scope("channel", "chat"))

    assert figures["volume"] == {
        "total": 2,
        "by_channel": {"chat": 2},
        "by_category": {"": 1, "shipping": 1},
    }
    assert figures["sla"]["first_response"] == {"measured": 1, "met": 0, "rate": 0.0}
    assert figures["escalations"]["escalated"] == 0


def test_it_scopes_to_contacts_first_touched_by_a_campaign(desk, later):
    figures = inquiries.compute(MARCH, Scope("campaign", str(desk["spring"].pk)))

    assert figures["volume"]["total"] == 2
    assert figures["after_order"] == {"customers": 1, "inquiries": 3, "per_customer": 3.0}


def test_it_scopes_to_a_lead_segment(desk, later):
    figures = inquiries.compute(MARCH, Scope("segment", "hot"))

    assert figures["volume"]["by_channel"] == {"phone": 1}
    assert figures["after_order"] == {"customers": 0, "inquiries": 0, "per_customer": None}
