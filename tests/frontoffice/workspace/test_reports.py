"""The daily report pages: today's report (activities, notes, plan, submit) and past reports with
the manager's comments, through pipeline.reports."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts import roles
from pipeline import reports
from pipeline.models import Activity, DailyReport, DailyReportStatusChange
from tests.factories import ContactFactory, DealFactory, TeamFactory, user_with_role

pytestmark = pytest.mark.django_db

TODAY = "/app/reports/today/"


def _now_text() -> str:
    return timezone.localtime().strftime("%Y-%m-%dT%H:%M")


def _activity(**overrides) -> reports.ActivityInput:
    values = {"kind": "call", "occurred_at": timezone.now(), "minutes": 15}
    return reports.ActivityInput(**{**values, **overrides})


@pytest.fixture
def deal(sales_rep):
    return DealFactory(owner=sales_rep, name="Press line", stage="proposal")


def test_it_shows_an_empty_report_for_today(browser, sales_rep):
    html = browser(sales_rep).get(TODAY).content.decode()

    assert "Today&#x27;s report" in html
    assert 'data-status=""' in html
    assert "No activities logged for this day yet." in html
    assert 'id="report-submit"' in html


def test_it_adds_an_activity_against_a_deal(browser, sales_rep, deal):
    response = browser(sales_rep).post(
        TODAY,
        {
            "action": "add-activity",
            "kind": "meeting",
            "occurred_at": _now_text(),
            "minutes": "60",
            "outcome": "Demo booked",
            "deal": deal.pk,
        },
    )

    assert response.status_code == 302
    activity = Activity.objects.get()
    assert (activity.deal_id, activity.contact_id, activity.kind) == (deal.pk, None, "meeting")
    assert activity.touchpoint.contact_id == deal.contact_id


def test_it_adds_an_activity_with_a_contact_only(browser, sales_rep):
    contact = ContactFactory(owner=sales_rep)

    response = browser(sales_rep).post(
        TODAY,
        {
            "action": "add-activity",
            "kind": "email",
            "occurred_at": _now_text(),
            "minutes": "5",
            "contact": contact.pk,
        },
    )

    assert response.status_code == 302
    assert list(Activity.objects.values_list("contact_id", "deal_id")) == [(contact.pk, None)]


def test_it_asks_for_a_deal_or_a_contact_inline(browser, sales_rep):
    response = browser(sales_rep).post(
        TODAY,
        {"action": "add-activity", "kind": "call", "occurred_at": _now_text(), "minutes": "5"},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert html.count("An activity needs a deal or a contact (or both).") == 2
    assert not DailyReport.objects.exists()


def test_it_removes_an_activity_and_keeps_the_others(browser, sales_rep, deal):
    report, _ = reports.daily_report_save(
        rep=sales_rep,
        day=reports.local_today(),
        activities=[_activity(deal_id=deal.pk, minutes=10), _activity(deal_id=deal.pk, minutes=20)],
    )
    first = report.activities.get(minutes=10)

    response = browser(sales_rep).post(TODAY, {"action": "remove-activity", "activity": first.pk})

    assert response.status_code == 302
    assert list(report.activities.values_list("minutes", flat=True)) == [20]


def test_it_saves_notes_and_the_plan_and_submits(browser, sales_rep, deal):
    reports.daily_report_save(
        rep=sales_rep, day=reports.local_today(), activities=[_activity(deal_id=deal.pk)]
    )

    response = browser(sales_rep).post(
        TODAY,
        {"action": "save", "notes": "Good day", "tomorrow_plan": "Call Osaka", "submit": "1"},
    )

    assert response.status_code == 302
    report = DailyReport.objects.get(rep=sales_rep)
    assert (report.status, report.notes, report.tomorrow_plan) == (
        "submitted",
        "Good day",
        "Call Osaka",
    )
    assert report.activities.count() == 1
    assert list(
        DailyReportStatusChange.objects.filter(report=report).values_list(
            "from_status", "to_status"
        )
    ) == [("draft", "submitted"), ("", "draft")]


def test_it_shows_a_submitted_report_read_only(browser, sales_rep):
    reports.daily_report_save(rep=sales_rep, day=reports.local_today(), notes="Done", submit=True)

    html = browser(sales_rep).get(TODAY).content.decode()

    assert 'data-status="submitted"' in html
    assert 'id="report-submit"' not in html
    assert 'id="add-activity"' not in html
    assert "Submitted reports can no longer be changed" in html


def test_it_lists_past_reports_with_the_managers_comment(browser, sales_rep, manager, deal):
    TeamFactory(supervisor=manager).members.add(sales_rep)
    day = reports.local_today() - dt.timedelta(days=1)
    report, _ = reports.daily_report_save(
        rep=sales_rep,
        day=day,
        activities=[
            _activity(
                deal_id=deal.pk, occurred_at=timezone.now() - dt.timedelta(days=1), minutes=40
            )
        ],
        submit=True,
    )
    reports.daily_report_return(report=report, actor=manager, comment="Add the visit times")

    html = browser(sales_rep).get("/app/reports/").content.decode()

    row = html[html.index(f'data-report="{report.pk}"') :]
    assert "Returned for changes" in row
    assert "Add the visit times" in row
    assert '<td class="num">40</td>' in row


def test_it_reads_the_report_list_in_a_fixed_number_of_queries(
    browser, sales_rep, deal, django_assert_max_num_queries
):
    today = reports.local_today()
    for back in range(7):
        day = today - dt.timedelta(days=back)
        at = timezone.now() - dt.timedelta(days=back)
        reports.daily_report_save(
            rep=sales_rep, day=day, activities=[_activity(deal_id=deal.pk, occurred_at=at)] * 2
        )
    client = browser(sales_rep)
    client.get("/app/reports/")

    with django_assert_max_num_queries(5):
        response = client.get("/app/reports/")

    assert response.content.decode().count("data-report=") == 7


def test_it_shows_a_returned_report_to_its_rep_for_editing(browser, sales_rep, manager, deal):
    TeamFactory(supervisor=manager).members.add(sales_rep)
    day = reports.local_today() - dt.timedelta(days=2)
    report, _ = reports.daily_report_save(rep=sales_rep, day=day, submit=True)
    reports.daily_report_return(report=report, actor=manager, comment="Add the visits")
    client = browser(sales_rep)

    detail = client.get(f"/app/reports/{report.pk}/").content.decode()
    edit = client.post(
        f"/app/reports/day/{day.isoformat()}/",
        {"action": "save", "notes": "Visits added", "tomorrow_plan": "", "submit": "1"},
    )

    assert f'href="/app/reports/day/{day.isoformat()}/"' in detail
    assert "Add the visits" in detail
    assert edit.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.notes) == ("submitted", "Visits added")


def test_it_shows_a_reps_report_to_their_manager_but_not_to_another_rep(
    browser, sales_rep, manager
):
    TeamFactory(supervisor=manager).members.add(sales_rep)
    report, _ = reports.daily_report_save(rep=sales_rep, day=reports.local_today(), notes="Hi")
    other = user_with_role(roles.SALES_REP, username="other")

    assert browser(manager).get(f"/app/reports/{report.pk}/").status_code == 200
    assert browser(other).get(f"/app/reports/{report.pk}/").status_code == 404


def test_it_has_no_report_page_for_a_future_day(browser, sales_rep):
    tomorrow = reports.local_today() + dt.timedelta(days=1)

    response = browser(sales_rep).get(f"/app/reports/day/{tomorrow.isoformat()}/")

    assert response.status_code == 404
