"""The manager's review of the team's daily reports: who may open the pages, the list (waiting
for review first), one report with its activities, and approve / return / comment through the
report services, with refusals inline; the management menu."""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts import roles
from accounts.models import Notification, StaffPreference
from pipeline import reports
from pipeline.models import DailyReport, DailyReportStatusChange
from tests.factories import AccountFactory, DealFactory, TeamFactory, user_with_role
from tests.frontoffice.workspace.support_desk import client_for

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday 18:00 in Tokyo
TODAY = dt.date(2026, 3, 2)
LIST = "/app/team/reports/"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def team(sales_rep, manager):
    team = TeamFactory(name="Tokyo sales", supervisor=manager)
    team.members.add(sales_rep)
    return team


def _report(rep, day=TODAY, *, submit=True, minutes=45) -> DailyReport:
    deal = DealFactory(owner=rep, account=AccountFactory(), name=f"Deal of {rep.username}")
    activity = reports.ActivityInput(
        kind="visit",
        occurred_at=datetime.combine(day, dt.time(14, 0), tzinfo=ZoneInfo("Asia/Tokyo")),
        minutes=minutes,
        outcome="Showed the demo",
        deal_id=deal.pk,
    )
    report, _created = reports.daily_report_save(
        rep=rep,
        day=day,
        notes="Good day.",
        tomorrow_plan="Call Acme.",
        activities=[activity],
        submit=submit,
    )
    return report


def _listed(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-report="(\d+)"', response.content.decode())]


def _history(report) -> list[tuple[str, str, str | None, str]]:
    return list(
        DailyReportStatusChange.objects.filter(report=report)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status", "actor__username", "comment")
    )


def test_it_lists_the_teams_reports_waiting_for_review(team, sales_rep, manager):
    waiting = _report(sales_rep)
    _report(sales_rep, TODAY - dt.timedelta(days=1), submit=False)  # a draft: not yet
    outsider = user_with_role(roles.SALES_REP, username="outsider")
    _report(outsider)

    response = client_for(manager).get(LIST)

    assert response.status_code == 200
    assert _listed(response) == [waiting.pk]
    html = response.content.decode()
    assert '<td class="num">45</td>' in html
    assert 'data-nav="team-reports" aria-current="page"' in html


def test_it_lists_every_status_on_request(team, sales_rep, manager):
    waiting = _report(sales_rep)
    draft = _report(sales_rep, TODAY - dt.timedelta(days=1), submit=False)

    response = client_for(manager).get(LIST, {"status": "all"})

    assert _listed(response) == [waiting.pk, draft.pk]


@pytest.mark.parametrize("role", [roles.SALES_REP, roles.SUPPORT_AGENT, roles.MARKETER])
def test_it_refuses_the_review_pages_to_other_roles(team, sales_rep, role):
    report = _report(sales_rep)
    user = sales_rep if role == roles.SALES_REP else user_with_role(role, username="other")
    client = client_for(user)

    assert client.get(LIST).status_code == 403
    assert client.get(f"{LIST}{report.pk}/").status_code == 403
    response = client.post(f"{LIST}{report.pk}/review/", {"decision": "approve"})
    assert response.status_code == 403
    report.refresh_from_db()
    assert report.status == "submitted"


def test_it_hides_another_teams_report(team, manager):
    outsider = user_with_role(roles.SALES_REP, username="outsider")
    report = _report(outsider)
    client = client_for(manager)

    assert client.get(f"{LIST}{report.pk}/").status_code == 404
    assert client.post(f"{LIST}{report.pk}/review/", {"decision": "approve"}).status_code == 404
    report.refresh_from_db()
    assert report.status == "submitted"


def test_it_says_when_no_report_waits(team, manager):
    response = client_for(manager).get(LIST)

    assert "No report is waiting for your review." in response.content.decode()


def test_it_shows_a_report_with_its_activities_and_the_decisions(team, sales_rep, manager):
    report = _report(sales_rep)

    html = client_for(manager).get(f"{LIST}{report.pk}/").content.decode()

    assert "Showed the demo" in html
    assert f"Deal of {sales_rep.username}" in html
    assert "Call Acme." in html
    for button in ('id="approve"', 'id="return"', 'id="comment"'):
        assert button in html


def test_it_approves_a_report(team, sales_rep, manager):
    report = _report(sales_rep)

    response = client_for(manager).post(
        f"{LIST}{report.pk}/review/", {"decision": "approve", "comment": "Well done."}, follow=True
    )

    report.refresh_from_db()
    assert (report.status, report.manager_comment, report.reviewed_by) == (
        "approved",
        "Well done.",
        manager,
    )
    assert _history(report)[-1] == ("submitted", "approved", "manager", "Well done.")
    assert "Report approved." in response.content.decode()


def test_it_returns_a_report_with_a_comment_and_tells_the_rep(team, sales_rep, manager):
    report = _report(sales_rep)

    client_for(manager).post(
        f"{LIST}{report.pk}/review/", {"decision": "return", "comment": "Add the minutes."}
    )

    report.refresh_from_db()
    assert report.status == "returned"
    assert _history(report)[-1] == ("submitted", "returned", "manager", "Add the minutes.")
    notification = Notification.objects.get(recipient=sales_rep, kind="daily_report_returned")
    assert notification.body == "Add the minutes."


def test_it_asks_for_a_comment_to_return_inline(team, sales_rep, manager):
    report = _report(sales_rep)

    response = client_for(manager).post(
        f"{LIST}{report.pk}/review/", {"decision": "return", "comment": ""}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert "Say what the rep should change or know." in html
    assert 'id="id_comment_error"' in html
    report.refresh_from_db()
    assert report.status == "submitted"
    assert len(_history(report)) == 2


def test_it_comments_on_an_approved_report(team, sales_rep, manager):
    report = _report(sales_rep)
    reports.daily_report_approve(report=report, actor=manager)

    client_for(manager).post(
        f"{LIST}{report.pk}/review/", {"decision": "comment", "comment": "See me tomorrow."}
    )

    report.refresh_from_db()
    assert (report.status, report.manager_comment) == ("approved", "See me tomorrow.")
    assert Notification.objects.filter(recipient=sales_rep, kind="daily_report_comment").count()


def test_it_refuses_to_return_an_approved_report(team, sales_rep, manager):
    report = _report(sales_rep)
    reports.daily_report_approve(report=report, actor=manager)

    response = client_for(manager).post(
        f"{LIST}{report.pk}/review/", {"decision": "return", "comment": "Oops"}
    )

    assert response.status_code == 409
    assert "The report is approved." in response.content.decode()
    report.refresh_from_db()
    assert report.status == "approved"


def test_it_offers_no_review_of_a_draft(team, sales_rep, manager):
    report = _report(sales_rep, submit=False)

    html = client_for(manager).get(f"{LIST}{report.pk}/").content.decode()

    assert "The rep has not handed this report in yet." in html
    assert 'id="approve"' not in html


def test_it_lists_with_a_query_count_independent_of_the_rows(
    team, sales_rep, manager, django_assert_max_num_queries
):
    client = client_for(manager)
    _report(sales_rep)
    with django_assert_max_num_queries(20) as one:
        client.get(LIST, {"status": "all"})
    for days in range(1, 7):
        _report(sales_rep, TODAY - dt.timedelta(days=days))
    for number in range(3):
        rep = user_with_role(roles.SALES_REP, username=f"rep-{number}")
        team.members.add(rep)
        _report(rep)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(LIST, {"status": "all"})

    assert len(_listed(response)) == 10


def test_it_shows_the_management_menu_to_a_manager_only(team, sales_rep, manager):
    support_agent = user_with_role(roles.SUPPORT_AGENT, username="agent")

    managers = client_for(manager).get(LIST).content.decode()
    agents = client_for(support_agent).get("/app/support/").content.decode()
    reps = client_for(sales_rep).get("/app/search/").content.decode()

    for key in ("escalations", "team-reports", "team-board", "dashboard", "inbox", "team-queue"):
        assert f'data-nav="{key}"' in managers
    assert 'data-nav="inbox"' in agents
    assert 'data-nav="team-queue"' in agents
    assert 'data-nav="team-reports"' not in agents
    assert 'data-nav="escalations"' not in agents
    for key in ("inbox", "team-queue", "escalations", "team-reports"):
        assert f'data-nav="{key}"' not in reps


def test_it_renders_the_review_in_japanese(team, sales_rep, manager):
    report = _report(sales_rep)
    StaffPreference.objects.create(user=manager, language="ja")

    html = client_for(manager).get(f"{LIST}{report.pk}/").content.decode()

    assert "差し戻す" in html
    assert "コメントのみ" in html
    assert "チームの日報" in html
