"""Reminders to reps whose daily report is not in, and managers' daily summaries: on working
days after the policy's times, each sent once."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection

from accounts import roles
from accounts.models import Notification, Team
from pipeline import reports, tasks
from pipeline.deals import deal_move
from pipeline.models import DailyReport, SalesPolicy
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DailyReportFactory,
    DealFactory,
    TeamFactory,
    UserFactory,
    user_with_role,
)

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = dt.date(2026, 3, 4)  # a Wednesday


def _tokyo(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOKYO)


def _report(rep, status: str) -> DailyReport:
    report = DailyReportFactory(rep=rep, day=DAY)
    if status != "draft":
        DailyReport.objects.filter(pk=report.pk).update(status=status, submitted_at=_tokyo(17))
    return report


# --- Reminders ----------------------------------------------------------------------------------


@pytest.fixture
def reps(db):
    """Who is expected to report, and what they have done today."""
    submitted = user_with_role(roles.SALES_REP, username="submitted")
    approved = user_with_role(roles.SALES_REP, username="approved")
    draft = user_with_role(roles.SALES_REP, username="draft")
    missing = user_with_role(roles.SALES_REP, username="missing")
    team_member = UserFactory(username="team-member")  # in a sales team, not in the group
    TeamFactory(kind=Team.Kind.SALES).members.add(team_member)
    support_member = UserFactory(username="support-member")
    TeamFactory(kind=Team.Kind.SUPPORT).members.add(support_member)
    user_with_role(roles.SALES_REP, username="gone", is_active=False)
    user_with_role(roles.MANAGER, username="boss")
    _report(submitted, "submitted")
    _report(approved, "approved")
    _report(draft, "draft")
    _report(missing, "returned")  # handed back: not in until submitted again
    DailyReportFactory(rep=team_member, day=DAY - dt.timedelta(days=1))
    DailyReport.objects.filter(rep=team_member).update(status="submitted", submitted_at=_tokyo(9))
    return {"draft", "missing", "team-member"}


def _reminded() -> list[tuple[str, str]]:
    return sorted(
        Notification.objects.filter(kind="daily_report_reminder").values_list(
            "recipient__username", "key"
        )
    )


@pytest.mark.django_db
def test_it_reminds_nobody_before_the_due_time(reps):
    assert reports.remind_unsubmitted_reports(now=_tokyo(17, 59)) == {"due": 0, "reminded": 0}
    assert _reminded() == []


@pytest.mark.django_db
def test_it_reminds_exactly_the_reps_without_a_submitted_report(reps):
    result = reports.remind_unsubmitted_reports(now=_tokyo(18, 0))

    assert result == {"due": 3, "reminded": 3}
    assert _reminded() == [(name, "daily-report-reminder:2026-03-04") for name in sorted(reps)]


@pytest.mark.django_db
def test_it_reminds_once_however_often_it_runs(reps):
    reports.remind_unsubmitted_reports(now=_tokyo(18, 0))

    assert reports.remind_unsubmitted_reports(now=_tokyo(18, 15)) == {"due": 3, "reminded": 0}
    assert len(_reminded()) == 3


@pytest.mark.django_db
def test_it_emails_each_reminder_once(reps, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reports.remind_unsubmitted_reports(now=_tokyo(18, 0))
    with django_capture_on_commit_callbacks(execute=True):
        reports.remind_unsubmitted_reports(now=_tokyo(18, 30))

    assert sorted(message.to[0] for message in mail.outbox) == [
        f"{name}@frontoffice.test" for name in sorted(reps)
    ]
    assert mail.outbox[0].subject == "Your daily report for 2026-03-04 is due"


@pytest.mark.django_db
def test_it_reminds_nobody_on_a_weekend(reps):
    saturday = DAY + dt.timedelta(days=3)

    assert reports.remind_unsubmitted_reports(now=_tokyo(20, day=saturday)) == {
        "due": 0,
        "reminded": 0,
    }
    assert _reminded() == []


@pytest.mark.django_db
def test_it_follows_the_policys_due_time_and_working_days(reps):
    SalesPolicy.objects.filter(pk=1).update(report_due_time=dt.time(20, 0), working_days=[6])
    saturday = DAY + dt.timedelta(days=3)

    assert reports.remind_unsubmitted_reports(now=_tokyo(19, 0, day=saturday))["due"] == 0
    assert reports.remind_unsubmitted_reports(now=_tokyo(19, 0, day=DAY))["due"] == 0
    assert reports.remind_unsubmitted_reports(now=_tokyo(20, 0, day=saturday))["reminded"] == 5


@pytest.mark.django_db
def test_it_reads_the_time_in_tokyo_not_utc(reps):
    # 09:00 UTC is 18:00 in Tokyo.
    result = reports.remind_unsubmitted_reports(now=dt.datetime(2026, 3, 4, 9, 0, tzinfo=dt.UTC))

    assert result["reminded"] == 3


@pytest.mark.django_db
def test_it_runs_as_the_celery_task_with_an_iso_time(reps):
    assert tasks.remind_daily_reports.delay("2026-03-04T18:05:00+09:00").get() == {
        "due": 3,
        "reminded": 3,
    }


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL=postgres://…): SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_it_reminds_once_when_two_workers_run_at_the_same_time(role_groups):
    names = [f"rep{i}" for i in range(5)]
    for name in names:
        user_with_role(roles.SALES_REP, username=name)
    workers = 4
    barrier = threading.Barrier(workers)

    def run() -> dict[str, int]:
        try:
            barrier.wait(timeout=30)
            return reports.remind_unsubmitted_reports(now=_tokyo(18, 0))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = [future.result(timeout=60) for future in [pool.submit(run) for _ in range(4)]]

    assert sum(result["reminded"] for result in results) == 5
    assert sorted(Notification.objects.values_list("recipient__username", flat=True)) == names
    assert sorted(message.to[0] for message in mail.outbox) == [
        f"{name}@frontoffice.test" for name in names
    ]


# --- Managers' summaries ------------------------------------------------------------------------


@pytest.fixture
def sales_team(db):
    """Tokyo sales: Aiko and Ben report to the manager; Chie has done nothing today."""
    manager = user_with_role(roles.MANAGER, username="manager", first_name="Mana", last_name="Ger")
    team = TeamFactory(name="Tokyo sales", supervisor=manager)
    aiko = user_with_role(roles.SALES_REP, username="aiko", first_name="Aiko", last_name="Abe")
    ben = user_with_role(roles.SALES_REP, username="ben", first_name="Ben", last_name="Baba")
    chie = user_with_role(roles.SALES_REP, username="chie", first_name="Chie", last_name="Chiba")
    team.members.add(aiko, ben, chie)
    # Teams that get no summary: no supervisor, or not sales.
    TeamFactory(name="Osaka sales").members.add(aiko)
    TeamFactory(name="Helpdesk", kind=Team.Kind.SUPPORT, supervisor=manager).members.add(ben)
    return {"team": team, "manager": manager, "aiko": aiko, "ben": ben, "chie": chie}


def _activity(kind: str, hour: int, minutes: int, contact) -> reports.ActivityInput:
    return reports.ActivityInput(
        kind=kind, occurred_at=_tokyo(hour), minutes=minutes, contact_id=contact.pk
    )


def _deal(owner, stage: str):
    account = AccountFactory()
    long_ago = _tokyo(8, day=DAY - dt.timedelta(days=2))
    return DealFactory(
        owner=owner,
        account=account,
        contact=ContactFactory(account=account, stage_changed_at=long_ago),
        stage=stage,
        stage_changed_at=long_ago,
    )


@pytest.fixture
def busy_day(sales_team):
    """Aiko: 2 calls (15 + 20 min) and a visit (90 min), submitted; moved one deal forward twice
    and won another; also moved a deal back (not an advance) and one yesterday (not today).
    Ben: an email (5 min) in a draft; lost a deal (not an advance). Chie: nothing."""
    aiko, ben = sales_team["aiko"], sales_team["ben"]
    contact = ContactFactory()
    with time_machine.travel(_tokyo(17), tick=False):
        reports.daily_report_save(
            rep=aiko,
            day=DAY,
            activities=[
                _activity("call", 9, 15, contact),
                _activity("call", 11, 20, contact),
                _activity("visit", 14, 90, contact),
            ],
            submit=True,
        )
        reports.daily_report_save(rep=ben, day=DAY, activities=[_activity("email", 10, 5, contact)])

    climbing = _deal(aiko, "list")
    deal_move(deal=climbing, to_stage="proposal", actor=aiko, at=_tokyo(10))
    deal_move(deal=climbing, to_stage="opportunity", actor=aiko, at=_tokyo(12))
    deal_move(deal=_deal(aiko, "quote"), to_stage="won", actor=aiko, at=_tokyo(15))
    deal_move(
        deal=_deal(aiko, "quote"), to_stage="proposal", actor=aiko, note="Re-scoping", at=_tokyo(16)
    )
    deal_move(
        deal=_deal(aiko, "list"),
        to_stage="proposal",
        actor=aiko,
        at=_tokyo(23, 59, day=DAY - dt.timedelta(days=1)),
    )
    deal_move(
        deal=_deal(ben, "opportunity"), to_stage="lost", actor=ben, note="Budget cut", at=_tokyo(13)
    )
    # Someone outside the team moving a deal today does not count for anyone.
    outsider = user_with_role(roles.SALES_REP, username="outsider")
    deal_move(deal=_deal(outsider, "list"), to_stage="quote", actor=outsider, at=_tokyo(11))
    return sales_team


def _figures(summary: reports.TeamDay) -> list[tuple]:
    return [
        (
            rep.name,
            rep.report_status,
            rep.submitted,
            {kind: (total.count, total.minutes) for kind, total in rep.by_kind.items()},
            rep.deals_advanced,
            rep.deals_won,
        )
        for rep in summary.reps
    ]


@pytest.mark.django_db
def test_it_sums_up_each_reps_day_exactly(busy_day):
    (summary,) = reports.team_daily_summaries(day=DAY)

    assert (summary.team_name, summary.supervisor_id) == ("Tokyo sales", busy_day["manager"].pk)
    assert _figures(summary) == [
        ("Aiko Abe", "submitted", True, {"call": (2, 35), "visit": (1, 90)}, 2, 1),
        ("Ben Baba", "draft", False, {"email": (1, 5)}, 0, 0),
        ("Chie Chiba", None, False, {}, 0, 0),
    ]


@pytest.mark.django_db
def test_it_sums_up_in_the_same_number_of_queries_for_any_number_of_reps(
    busy_day, django_assert_num_queries
):
    with django_assert_num_queries(5):
        reports.team_daily_summaries(day=DAY)
    for i in range(10):
        rep = user_with_role(roles.SALES_REP, username=f"extra{i}")
        busy_day["team"].members.add(rep)
        DailyReportFactory(rep=rep, day=DAY)

    with django_assert_num_queries(5):
        (summary,) = reports.team_daily_summaries(day=DAY)

    assert len(summary.reps) == 13


@pytest.mark.django_db
def test_it_sends_the_manager_the_summary_once(busy_day, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = reports.send_daily_summaries(now=_tokyo(19, 0))
    with django_capture_on_commit_callbacks(execute=True):
        second = reports.send_daily_summaries(now=_tokyo(19, 15))

    assert (first, second) == ({"teams": 1, "sent": 1}, {"teams": 1, "sent": 0})
    notification = Notification.objects.get(kind="daily_report_summary")
    assert (notification.recipient, notification.key, notification.subject) == (
        busy_day["manager"],
        f"daily-report-summary:{busy_day['team'].pk}:2026-03-04",
        "Daily summary: Tokyo sales, 2026-03-04",
    )
    assert notification.body.splitlines() == [
        "Daily summary of Tokyo sales for 2026-03-04",
        "",
        "- Aiko Abe: report submitted; 3 activities, 125 min (call 2 (35 min), visit 1 (90 min)); "
        "deals advanced 2, won 1",
        "- Ben Baba: report draft; 1 activities, 5 min (email 1 (5 min)); deals advanced 0, won 0",
        "- Chie Chiba: report no report; 0 activities, 0 min; deals advanced 0, won 0",
        "",
        "Reports submitted: 1 of 3. Activities: 4, 130 min. Deals advanced: 2, won: 1.",
    ]
    assert [message.to for message in mail.outbox] == [["manager@frontoffice.test"]]


@pytest.mark.django_db
def test_it_sends_no_summary_before_the_summary_time(busy_day):
    assert reports.send_daily_summaries(now=_tokyo(18, 59)) == {"teams": 0, "sent": 0}
    assert not Notification.objects.filter(kind="daily_report_summary").exists()


@pytest.mark.django_db
def test_it_sends_no_summary_on_a_weekend(busy_day):
    sunday = DAY + dt.timedelta(days=4)

    assert reports.send_daily_summaries(now=_tokyo(21, 0, day=sunday)) == {"teams": 0, "sent": 0}
    assert not Notification.objects.filter(kind="daily_report_summary").exists()


@pytest.mark.django_db
def test_it_runs_the_summaries_as_the_celery_task(busy_day):
    assert tasks.send_daily_summaries.delay("2026-03-04T19:00:00+09:00").get() == {
        "teams": 1,
        "sent": 1,
    }
