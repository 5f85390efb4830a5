"""SLA: business-hours due times, and breaches escalated to the team supervisor exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection

from accounts import roles
from accounts.models import Notification, Team
from inquiries.models import Escalation, SlaBreach, SlaPolicy
from inquiries.services import Customer, inquiry_open, inquiry_reply
from inquiries.sla import add_working_minutes
from inquiries.sla_watch import check_breaches
from tests.factories import TeamFactory, user_with_role

TOKYO = ZoneInfo("Asia/Tokyo")


def tokyo(*args) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


OFFICE = SlaPolicy(
    business_hours_only=True,
    business_day_start=time(9, 0),
    business_day_end=time(18, 0),
    business_days=[1, 2, 3, 4, 5],
)


# --- Business hours (2026-03-02 is a Monday) ----------------------------------------------------


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        pytest.param(tokyo(2026, 3, 2, 10, 0), 60, tokyo(2026, 3, 2, 11, 0), id="same-day"),
        pytest.param(tokyo(2026, 3, 2, 17, 30), 60, tokyo(2026, 3, 3, 9, 30), id="over-night"),
        pytest.param(tokyo(2026, 3, 6, 17, 0), 120, tokyo(2026, 3, 9, 10, 0), id="over-weekend"),
        pytest.param(tokyo(2026, 3, 7, 12, 0), 30, tokyo(2026, 3, 9, 9, 30), id="from-saturday"),
        pytest.param(tokyo(2026, 3, 2, 7, 0), 30, tokyo(2026, 3, 2, 9, 30), id="before-opening"),
        pytest.param(tokyo(2026, 3, 2, 19, 0), 30, tokyo(2026, 3, 3, 9, 30), id="after-closing"),
        pytest.param(tokyo(2026, 3, 2, 9, 0), 540, tokyo(2026, 3, 2, 18, 0), id="whole-day"),
        pytest.param(
            tokyo(2026, 3, 2, 9, 0), 5 * 540 + 1, tokyo(2026, 3, 9, 9, 1), id="whole-week"
        ),
        pytest.param(
            tokyo(2026, 3, 2, 17, 59, 30), 1, tokyo(2026, 3, 3, 9, 0, 30), id="seconds-carry"
        ),
    ],
)
def test_it_counts_only_business_hours(start, minutes, due):
    assert add_working_minutes(start, minutes, OFFICE) == due


def test_it_reads_a_utc_start_in_local_time():
    # Sunday 15:30 UTC is Monday 00:30 in Tokyo: the clock starts at Monday's opening.
    start = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)

    assert add_working_minutes(start, 45, OFFICE) == tokyo(2026, 3, 2, 9, 45)


def test_it_follows_the_policys_business_days():
    weekend_desk = SlaPolicy(
        business_hours_only=True,
        business_day_start=time(10, 0),
        business_day_end=time(16, 0),
        business_days=[6, 7],
    )

    assert add_working_minutes(tokyo(2026, 3, 2, 12, 0), 400, weekend_desk) == tokyo(
        2026, 3, 8, 10, 40
    )


def test_it_runs_around_the_clock_without_business_hours():
    policy = SlaPolicy(business_hours_only=False)

    assert add_working_minutes(tokyo(2026, 3, 6, 17, 0), 24 * 60, policy) == tokyo(
        2026, 3, 7, 17, 0
    )


# --- Breaches -----------------------------------------------------------------------------------

OPENED = tokyo(2026, 3, 2, 10, 0)


def _desk():
    supervisor = user_with_role(roles.MANAGER, username="supervisor")
    team = TeamFactory(name="Support", kind=Team.Kind.SUPPORT, supervisor=supervisor)
    SlaPolicy.objects.create(
        name="Urgent", priority="urgent", first_response_minutes=30, resolution_minutes=240
    )
    with time_machine.travel(OPENED, tick=False):
        inquiry = inquiry_open(
            channel="email",
            subject="Site down",
            customer=Customer(email="taro@acme.co.jp"),
            body="Nothing loads.",
            priority="urgent",
            team=team,
        )
    return supervisor, inquiry


@pytest.fixture
def desk(db):
    return _desk()


def test_it_sets_due_times_from_the_policy(desk):
    _supervisor, inquiry = desk

    assert (inquiry.first_response_due_at, inquiry.resolution_due_at) == (
        OPENED + timedelta(minutes=30),
        OPENED + timedelta(minutes=240),
    )


def test_it_records_nothing_before_the_due_time(desk):
    counts = check_breaches(now=OPENED + timedelta(minutes=30))

    assert counts == {
        "first_response": 0,
        "resolution": 0,
        "escalated": 0,
        "waiting_for_supervisor": 0,
    }
    assert SlaBreach.objects.count() == 0


def test_it_escalates_a_missed_first_response_to_the_supervisor(desk):
    supervisor, inquiry = desk

    counts = check_breaches(now=OPENED + timedelta(minutes=31))

    assert counts == {
        "first_response": 1,
        "resolution": 0,
        "escalated": 1,
        "waiting_for_supervisor": 0,
    }
    breach = SlaBreach.objects.get()
    assert (breach.inquiry, breach.kind, breach.due_at, breach.notified) == (
        inquiry,
        "first_response",
        OPENED + timedelta(minutes=30),
        supervisor,
    )
    escalation = Escalation.objects.get()
    assert (escalation.kind, escalation.owner, escalation.requested_by) == (
        "instructions",
        supervisor,
        None,
    )
    inquiry.refresh_from_db()
    assert inquiry.status == "escalated"
    assert list(Notification.objects.values_list("recipient__username", "kind")) == [
        ("supervisor", "sla_breach")
    ]


def test_it_escalates_each_breach_only_once(desk):
    check_breaches(now=OPENED + timedelta(minutes=31))

    counts = check_breaches(now=OPENED + timedelta(minutes=36))

    assert counts == {
        "first_response": 0,
        "resolution": 0,
        "escalated": 0,
        "waiting_for_supervisor": 0,
    }
    assert (SlaBreach.objects.count(), Escalation.objects.count()) == (1, 1)
    assert Notification.objects.count() == 1


def test_it_emails_the_supervisor_once(desk, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        check_breaches(now=OPENED + timedelta(minutes=31))
    with django_capture_on_commit_callbacks(execute=True):
        check_breaches(now=OPENED + timedelta(minutes=36))

    assert [message.to for message in mail.outbox] == [["supervisor@frontoffice.test"]]
    assert "SLA first response missed" in mail.outbox[0].subject


def test_it_records_no_first_response_breach_once_answered(desk):
    _supervisor, inquiry = desk
    agent = user_with_role(roles.SUPPORT_AGENT, username="agent1")
    with time_machine.travel(OPENED + timedelta(minutes=10), tick=False):
        inquiry_reply(inquiry=inquiry, body="Looking into it.", author=agent)

    counts = check_breaches(now=OPENED + timedelta(minutes=31))

    assert counts["first_response"] == 0
    assert SlaBreach.objects.count() == 0


def test_it_records_a_missed_resolution(desk):
    _supervisor, inquiry = desk
    agent = user_with_role(roles.SUPPORT_AGENT, username="agent1")
    with time_machine.travel(OPENED + timedelta(minutes=10), tick=False):
        inquiry_reply(inquiry=inquiry, body="Looking into it.", author=agent)

    counts = check_breaches(now=OPENED + timedelta(minutes=241))

    assert (counts["first_response"], counts["resolution"]) == (0, 1)
    assert list(SlaBreach.objects.values_list("kind", "due_at")) == [
        ("resolution", OPENED + timedelta(minutes=240))
    ]


def test_it_keeps_a_breach_without_a_supervisor_for_a_later_run(db):
    SlaPolicy.objects.create(
        name="Urgent", priority="urgent", first_response_minutes=30, resolution_minutes=240
    )
    with time_machine.travel(OPENED, tick=False):
        inquiry_open(
            channel="chat", subject="Help", customer=Customer(email="a@b.co.jp"), priority="urgent"
        )

    counts = check_breaches(now=OPENED + timedelta(minutes=31))

    assert (counts["first_response"], counts["escalated"], counts["waiting_for_supervisor"]) == (
        1,
        0,
        1,
    )
    assert SlaBreach.objects.get().notified is None
    assert Escalation.objects.count() == 0


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL=postgres://…): SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_it_escalates_once_when_two_beat_processes_run_at_once(role_groups):
    _supervisor, inquiry = _desk()
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait(timeout=30)
            return check_breaches(now=OPENED + timedelta(minutes=31))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [future.result(timeout=60) for future in [pool.submit(run) for _ in range(2)]]

    assert sorted(result["escalated"] for result in results) == [0, 1]
    assert SlaBreach.objects.filter(inquiry=inquiry).count() == 1
    assert Escalation.objects.filter(inquiry=inquiry).count() == 1
    assert list(Notification.objects.values_list("recipient__username", "kind")) == [
        ("supervisor", "sla_breach")
    ]
