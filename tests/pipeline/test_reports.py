"""Daily reports through the services (pipeline.reports) and the admin: activities on the
timeline, the status rules, who may do what."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from accounts import roles
from accounts.models import Touchpoint
from frontoffice.errors import ApplicationError, ConflictError, PermissionDeniedError
from pipeline import reports
from pipeline.models import Activity, DailyReport, DailyReportStatusChange, Deal
from tests.factories import (
    AccountFactory,
    ContactFactory,
    DailyReportFactory,
    DealFactory,
    TeamFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 3, 4, 17, 30, tzinfo=TOKYO)
TODAY = dt.date(2026, 3, 4)
LAST_WEEK = dt.datetime(2026, 2, 25, 9, tzinfo=TOKYO)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def team(sales_rep, manager):
    team = TeamFactory(name="Tokyo sales", supervisor=manager)
    team.members.add(sales_rep)
    return team


@pytest.fixture
def deal(sales_rep):
    account = AccountFactory(name="Acme")
    return DealFactory(
        name="Acme ERP",
        owner=sales_rep,
        account=account,
        contact=ContactFactory(name="Hanako Acme", account=account),
        stage_changed_at=LAST_WEEK,
        last_activity_at=LAST_WEEK,
    )


def _at(hour: int) -> dt.datetime:
    return dt.datetime(2026, 3, 4, hour, tzinfo=TOKYO)


def _activity(**overrides) -> reports.ActivityInput:
    values = {"kind": "call", "occurred_at": _at(10), "minutes": 30, **overrides}
    return reports.ActivityInput(**values)


def _save(rep, *activities, **kwargs) -> DailyReport:
    report, _created = reports.daily_report_save(
        rep=rep, day=TODAY, activities=list(activities), **kwargs
    )
    return report


def _submitted(rep) -> DailyReport:
    return _save(rep, submit=True)


# --- Activities on the timeline -----------------------------------------------------------------


def test_it_puts_a_deal_only_activity_on_the_deals_contact_and_account(sales_rep, deal):
    report = _save(sales_rep, _activity(kind="demo", outcome="Showed v2", deal_id=deal.pk))

    activity = report.activities.get()
    touchpoint = Touchpoint.objects.get()
    assert activity.touchpoint == touchpoint
    assert (
        touchpoint.kind,
        touchpoint.channel,
        touchpoint.contact,
        touchpoint.account,
        touchpoint.actor,
        touchpoint.occurred_at,
        touchpoint.source,
        touchpoint.summary,
    ) == (
        "demo",
        "in_person",
        deal.contact,
        deal.account,
        sales_rep,
        _at(10),
        activity,
        "Demo (Acme ERP): Showed v2",
    )


def test_it_puts_an_activity_on_another_person_of_the_deals_account(sales_rep, deal):
    colleague = ContactFactory(name="Jiro Acme", account=deal.account)

    _save(sales_rep, _activity(deal_id=deal.pk, contact_id=colleague.pk))

    assert list(Touchpoint.objects.values_list("contact", "account")) == [
        (colleague.pk, deal.account_id)
    ]


def test_it_puts_a_contact_only_activity_on_that_contact(sales_rep):
    contact = ContactFactory(account=AccountFactory(name="Beta"))

    _save(sales_rep, _activity(kind="email", contact_id=contact.pk))

    assert list(Touchpoint.objects.values_list("kind", "channel", "contact", "account")) == [
        ("email", "email", contact.pk, contact.account_id)
    ]


def test_it_marks_the_deal_active_at_the_activitys_time(sales_rep, deal):
    _save(sales_rep, _activity(deal_id=deal.pk, occurred_at=_at(11)))

    assert Deal.objects.get(pk=deal.pk).last_activity_at == _at(11)


def test_it_asks_for_a_contact_when_the_deal_has_no_customer(sales_rep):
    bare = DealFactory(owner=sales_rep, account=None, contact=None)

    with pytest.raises(ApplicationError) as refused:
        _save(sales_rep, _activity(deal_id=bare.pk))

    assert refused.value.errors == {
        "activities": {"0": {"contact": ["The deal has no customer yet: name the contact."]}}
    }
    assert DailyReport.objects.count() == 0


def test_it_lets_a_manager_log_on_a_team_deal(manager, team, deal):
    report = _save(manager, _activity(deal_id=deal.pk))

    assert report.activities.get().deal == deal


def test_it_keeps_an_unchanged_activity_and_its_touchpoint(sales_rep, deal):
    report = _save(sales_rep, _activity(deal_id=deal.pk))
    activity = report.activities.get()

    _save(sales_rep, _activity(id=activity.pk, deal_id=deal.pk), notes="later")

    assert list(Activity.objects.values_list("pk", "touchpoint")) == [
        (activity.pk, activity.touchpoint_id)
    ]
    assert Touchpoint.objects.count() == 1


def test_it_rewrites_the_touchpoint_of_a_changed_activity(sales_rep, deal):
    report = _save(sales_rep, _activity(kind="call", deal_id=deal.pk))
    activity = report.activities.get()
    old_touchpoint = activity.touchpoint_id

    _save(sales_rep, _activity(id=activity.pk, kind="visit", occurred_at=_at(9), deal_id=deal.pk))

    activity.refresh_from_db()
    assert not Touchpoint.objects.filter(pk=old_touchpoint).exists()
    assert list(Touchpoint.objects.values_list("pk", "kind", "channel", "occurred_at")) == [
        (activity.touchpoint_id, "visit", "in_person", _at(9))
    ]


def test_it_takes_a_removed_activity_off_the_timeline(sales_rep, deal):
    report = _save(sales_rep, _activity(deal_id=deal.pk), _activity(kind="email", deal_id=deal.pk))
    kept = report.activities.get(kind="email")

    _save(sales_rep, _activity(id=kept.pk, kind="email", deal_id=deal.pk))

    assert list(Activity.objects.values_list("kind", flat=True)) == ["email"]
    assert list(Touchpoint.objects.values_list("pk", flat=True)) == [kept.touchpoint_id]


def test_it_keeps_an_activity_on_a_deal_reassigned_since(sales_rep, deal):
    report = _save(sales_rep, _activity(deal_id=deal.pk))
    activity = report.activities.get()
    Deal.objects.filter(pk=deal.pk).update(owner=user_with_role(roles.SALES_REP, username="rep2"))

    _save(sales_rep, _activity(id=activity.pk, deal_id=deal.pk), notes="still mine")

    assert DailyReport.objects.get().notes == "still mine"


def test_it_refuses_an_activity_id_of_another_report(sales_rep, deal):
    yesterday, _ = reports.daily_report_save(
        rep=sales_rep,
        day=dt.date(2026, 3, 3),
        activities=[
            _activity(deal_id=deal.pk, occurred_at=dt.datetime(2026, 3, 3, 10, tzinfo=TOKYO))
        ],
    )
    foreign = yesterday.activities.get()

    with pytest.raises(ApplicationError) as refused:
        _save(sales_rep, _activity(id=foreign.pk, deal_id=deal.pk))

    assert list(refused.value.errors["activities"]["0"]) == ["id"]
    assert Activity.objects.get().report == yesterday


def test_it_collects_the_errors_of_every_bad_activity(sales_rep, deal):
    with pytest.raises(ApplicationError) as refused:
        _save(
            sales_rep,
            _activity(deal_id=deal.pk),
            _activity(kind="lunch", deal_id=deal.pk),
            _activity(minutes=2000, deal_id=deal.pk),
        )

    errors = refused.value.errors["activities"]
    assert {index: sorted(fields) for index, fields in errors.items()} == {
        "1": ["kind"],
        "2": ["minutes"],
    }


# --- Status rules -------------------------------------------------------------------------------


def test_it_submits_a_draft_once(sales_rep):
    report = _save(sales_rep)

    reports.daily_report_submit(report=report, actor=sales_rep)

    stored = DailyReport.objects.get()
    assert (stored.status, stored.submitted_at) == ("submitted", NOW)
    with pytest.raises(ConflictError):
        reports.daily_report_submit(report=stored, actor=sales_rep)


def test_it_writes_a_history_row_for_every_status_change(sales_rep, manager, team):
    report = _save(sales_rep)
    reports.daily_report_submit(report=report, actor=sales_rep)
    reports.daily_report_return(report=report, actor=manager, comment="Add the visit")
    reports.daily_report_comment(report=report, actor=manager, comment="Thanks")
    _save(sales_rep, submit=True)
    reports.daily_report_approve(report=report, actor=manager, comment="Good")

    rows = DailyReportStatusChange.objects.order_by("id").values_list(
        "from_status", "to_status", "actor__username", "comment", "created_at"
    )
    assert list(rows) == [
        ("", "draft", "rep", "", NOW),
        ("draft", "submitted", "rep", "", NOW),
        ("submitted", "returned", "manager", "Add the visit", NOW),
        ("returned", "submitted", "rep", "", NOW),
        ("submitted", "approved", "manager", "Good", NOW),
    ]


def test_it_writes_no_history_row_for_a_refused_change(sales_rep, manager, team):
    report = _submitted(sales_rep)
    before = DailyReportStatusChange.objects.count()

    with pytest.raises(ConflictError):
        reports.daily_report_submit(report=report, actor=sales_rep)
    with pytest.raises(PermissionDeniedError):
        reports.daily_report_approve(report=report, actor=sales_rep)

    assert DailyReportStatusChange.objects.count() == before


def test_it_lets_only_a_reviewer_approve(sales_rep, manager, team):
    report = _submitted(sales_rep)
    outsider = user_with_role(roles.MANAGER, username="osaka-manager")
    TeamFactory(name="Osaka sales", supervisor=outsider)

    for actor in (sales_rep, outsider):
        with pytest.raises(PermissionDeniedError):
            reports.daily_report_approve(report=report, actor=actor)

    reports.daily_report_approve(report=report, actor=manager)
    stored = DailyReport.objects.get()
    assert (stored.status, stored.reviewed_by, stored.reviewed_at) == ("approved", manager, NOW)


def test_it_never_lets_a_manager_review_their_own_report(manager, team):
    team.members.add(manager)
    report = _submitted(manager)

    with pytest.raises(PermissionDeniedError):
        reports.daily_report_approve(report=report, actor=manager)


def test_it_refuses_to_return_an_approved_report(sales_rep, manager, team):
    report = _submitted(sales_rep)
    reports.daily_report_approve(report=report, actor=manager)

    with pytest.raises(ConflictError):
        reports.daily_report_return(report=report, actor=manager, comment="More detail")

    assert DailyReport.objects.get().status == "approved"


def test_it_refuses_to_edit_an_approved_report(sales_rep, manager, team, deal):
    report = _submitted(sales_rep)
    reports.daily_report_approve(report=report, actor=manager)

    with pytest.raises(ConflictError):
        _save(sales_rep, _activity(deal_id=deal.pk))

    assert Activity.objects.count() == 0


def test_it_refuses_a_comment_on_a_draft(sales_rep, manager, team):
    report = _save(sales_rep)

    with pytest.raises(ConflictError):
        reports.daily_report_comment(report=report, actor=manager, comment="Hello")

    assert DailyReport.objects.get().manager_comment == ""


# --- Admin --------------------------------------------------------------------------------------


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


ADMIN_URL = "/admin/pipeline/dailyreport/"


def test_it_shows_a_manager_only_their_teams_reports_in_the_admin(
    manager, sales_rep, team, django_assert_max_num_queries
):
    mine = [DailyReportFactory(rep=sales_rep, day=TODAY - dt.timedelta(days=i)) for i in range(5)]
    DailyReportFactory(rep=user_with_role(roles.SALES_REP, username="outsider"), day=TODAY)
    browser = _browser(manager)

    with django_assert_max_num_queries(15):
        response = browser.get(ADMIN_URL)

    assert response.status_code == 200
    assert sorted(r.pk for r in response.context["cl"].result_list) == sorted(r.pk for r in mine)


def test_it_shows_a_report_with_its_activities_in_the_admin(manager, sales_rep, team, deal):
    report = _save(sales_rep, _activity(deal_id=deal.pk, outcome="Agreed on a demo"))

    response = _browser(manager).get(f"{ADMIN_URL}{report.pk}/change/")

    assert response.status_code == 200
    assert "Agreed on a demo" in response.content.decode()


def test_it_lists_activities_in_the_admin_scoped_to_visible_reports(sales_rep, manager, deal):
    _save(sales_rep, _activity(deal_id=deal.pk))

    response = _browser(manager).get("/admin/pipeline/activity/")

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


def test_it_approves_selected_reports_from_the_admin(manager, sales_rep, team):
    report = _submitted(sales_rep)

    response = _browser(manager).post(
        ADMIN_URL,
        {"action": "approve_selected", "_selected_action": [report.pk], "apply": "1"},
    )

    assert response.status_code == 302
    assert DailyReport.objects.get().status == "approved"


def test_it_asks_for_a_comment_before_returning_a_report_in_the_admin(manager, sales_rep, team):
    report = _submitted(sales_rep)
    browser = _browser(manager)

    asked = browser.post(ADMIN_URL, {"action": "return_selected", "_selected_action": [report.pk]})
    assert asked.status_code == 200
    assert "What should the rep change?" in asked.content.decode()
    assert DailyReport.objects.get().status == "submitted"

    done = browser.post(
        ADMIN_URL,
        {
            "action": "return_selected",
            "_selected_action": [report.pk],
            "apply": "1",
            "comment": "Add tomorrow's plan.",
        },
    )

    assert done.status_code == 302
    stored = DailyReport.objects.get()
    assert (stored.status, stored.manager_comment) == ("returned", "Add tomorrow's plan.")


def test_it_offers_no_review_actions_to_a_rep_in_the_admin(sales_rep):
    _submitted(sales_rep)

    response = _browser(sales_rep).get(ADMIN_URL)

    assert response.status_code == 200
    assert "approve_selected" not in response.content.decode()


# --- Races --------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL=postgres://…): SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_report_and_one_consistent_timeline_when_two_saves_race(role_groups):
    rep = user_with_role(roles.SALES_REP, username="racer")
    contact = ContactFactory()
    threads = 6
    barrier = threading.Barrier(threads)

    def save(index: int) -> int:
        try:
            barrier.wait(timeout=30)
            report, _ = reports.daily_report_save(
                rep=rep,
                day=TODAY,
                notes=f"writer {index}",
                activities=[_activity(contact_id=contact.pk, minutes=index)] * (index % 3 + 1),
            )
            return report.pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        report_ids = {
            future.result(timeout=60) for future in [pool.submit(save, i) for i in range(threads)]
        }

    report = DailyReport.objects.get()
    assert report_ids == {report.pk}
    writer = int(report.notes.removeprefix("writer "))
    activities = list(report.activities.all())
    assert [a.minutes for a in activities] == [writer] * (writer % 3 + 1)
    assert sorted(Touchpoint.objects.values_list("pk", flat=True)) == sorted(
        a.touchpoint_id for a in activities
    )
