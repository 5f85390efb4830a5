"""/api/v1/daily-reports/: a rep writes the day's report in one request; managers review it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import Notification, Touchpoint
from pipeline.models import Activity, DailyReport, Deal
from tests.api_helpers import result_ids
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
NOW = dt.datetime(2026, 3, 4, 17, 30, tzinfo=TOKYO)  # a Wednesday
URL = "/api/v1/daily-reports/"
TODAY = f"{URL}today/"
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


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _at(hour: int, minute: int = 0, day: int = 4) -> str:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=TOKYO).isoformat()


def _activity(**overrides) -> dict:
    return {"kind": "call", "occurred_at": _at(10), "minutes": 30, "outcome": "", **overrides}


def _nothing_written() -> tuple[int, int, int]:
    return (DailyReport.objects.count(), Activity.objects.count(), Touchpoint.objects.count())


# --- The round trip -----------------------------------------------------------------------------


def test_it_round_trips_a_report_from_writing_to_approval(
    rep_client, manager_client, sales_rep, manager, team, deal
):
    other = ContactFactory(name="Ken Beta", account=AccountFactory(name="Beta"))

    # The rep writes today's report in one request.
    written = rep_client.put(
        TODAY,
        {
            "notes": "Good day at Acme.",
            "tomorrow_plan": "Send the proposal.",
            "activities": [
                _activity(
                    kind="visit",
                    occurred_at=_at(10),
                    minutes=90,
                    outcome="Met the CIO",
                    deal=deal.pk,
                ),
                _activity(kind="call", occurred_at=_at(14), minutes=15, contact=other.pk),
            ],
        },
        format="json",
    )

    assert written.status_code == 201, written.json()
    report_id = written.json()["id"]

    # It reads back as written.
    body = rep_client.get(f"{URL}{report_id}/").json()
    assert (body["day"], body["status"], body["notes"], body["tomorrow_plan"]) == (
        "2026-03-04",
        "draft",
        "Good day at Acme.",
        "Send the proposal.",
    )
    assert (body["activity_count"], body["total_minutes"]) == (2, 105)
    assert [
        (a["kind"], a["minutes"], a["outcome"], a["deal_name"], a["contact_name"])
        for a in body["activities"]
    ] == [
        ("visit", 90, "Met the CIO", "Acme ERP", None),
        ("call", 15, "", None, "Ken Beta"),
    ]

    # Each activity is on the customer's timeline, by the rep, and marks the deal active.
    visit_id, call_id = (a["id"] for a in body["activities"])
    assert list(
        Touchpoint.objects.filter(actor=sales_rep)
        .order_by("occurred_at")
        .values_list("kind", "channel", "contact__name", "account__name", "source_id")
    ) == [
        ("visit", "in_person", "Hanako Acme", "Acme", visit_id),
        ("call", "phone", "Ken Beta", "Beta", call_id),
    ]
    assert Deal.objects.get(pk=deal.pk).last_activity_at == dt.datetime(
        2026, 3, 4, 10, tzinfo=TOKYO
    )

    # Writing it again replaces the activities and their touchpoints.
    rewritten = rep_client.put(
        TODAY,
        {
            "notes": "Good day at Acme.",
            "activities": [
                _activity(
                    id=visit_id,
                    kind="visit",
                    occurred_at=_at(10),
                    minutes=120,
                    outcome="Met the CIO",
                    deal=deal.pk,
                ),
                _activity(kind="email", occurred_at=_at(16), minutes=10, deal=deal.pk),
            ],
        },
        format="json",
    )

    assert rewritten.status_code == 200, rewritten.json()
    assert [(a["kind"], a["minutes"]) for a in rewritten.json()["activities"]] == [
        ("visit", 120),
        ("email", 10),
    ]
    assert rewritten.json()["activities"][0]["id"] == visit_id
    assert not Activity.objects.filter(pk=call_id).exists()
    assert list(
        Touchpoint.objects.filter(actor=sales_rep)
        .order_by("occurred_at")
        .values_list("kind", "channel", "contact__name")
    ) == [("visit", "in_person", "Hanako Acme"), ("email", "email", "Hanako Acme")]
    assert set(Activity.objects.values_list("touchpoint_id", flat=True)) == set(
        Touchpoint.objects.filter(actor=sales_rep).values_list("pk", flat=True)
    )

    # The rep submits; the rep cannot approve their own report; their manager can.
    assert rep_client.post(f"{URL}{report_id}/submit/").json()["status"] == "submitted"
    assert rep_client.post(f"{URL}{report_id}/approve/", {}, format="json").status_code == 403
    approved = manager_client.post(
        f"{URL}{report_id}/approve/", {"comment": "Nice work."}, format="json"
    )
    assert approved.status_code == 200, approved.json()
    assert (
        approved.json()["status"],
        approved.json()["manager_comment"],
        approved.json()["reviewed_by"],
    ) == ("approved", "Nice work.", manager.pk)

    # Another team's manager does not see it at all.
    stranger = user_with_role(roles.MANAGER, username="other-manager")
    TeamFactory(name="Osaka sales", supervisor=stranger)
    assert _client(stranger).get(f"{URL}{report_id}/").status_code == 404
    assert _client(stranger).post(f"{URL}{report_id}/approve/", {}).status_code == 404
    assert result_ids(_client(stranger).get(URL)) == []


def test_it_maps_every_activity_kind_to_its_touchpoint_kind_and_channel(
    rep_client, sales_rep, deal
):
    kinds = ["visit", "call", "email", "meeting", "demo", "proposal"]
    activities = [
        _activity(kind=kind, occurred_at=_at(9 + i), deal=deal.pk) for i, kind in enumerate(kinds)
    ]

    response = rep_client.put(TODAY, {"activities": activities}, format="json")

    assert response.status_code == 201, response.json()
    assert list(
        Touchpoint.objects.filter(actor=sales_rep)
        .order_by("occurred_at")
        .values_list("kind", "channel")
    ) == [
        ("visit", "in_person"),
        ("call", "phone"),
        ("email", "email"),
        ("meeting", "in_person"),
        ("demo", "in_person"),
        ("proposal", "sales_rep"),
    ]


def test_it_gives_back_todays_report(rep_client, sales_rep):
    DailyReportFactory(rep=sales_rep, day=dt.date(2026, 3, 4), notes="Today")
    DailyReportFactory(rep=sales_rep, day=dt.date(2026, 3, 3), notes="Yesterday")

    response = rep_client.get(TODAY)

    assert (response.status_code, response.json()["notes"]) == (200, "Today")


def test_it_answers_404_for_today_before_the_rep_wrote_it(rep_client):
    assert rep_client.get(TODAY).status_code == 404


def test_it_writes_and_submits_a_recent_past_day_in_one_request(rep_client, sales_rep, deal):
    response = rep_client.put(
        f"{URL}day/2026-03-02/",
        {"activities": [_activity(occurred_at=_at(11, day=2), deal=deal.pk)], "submit": True},
        format="json",
    )

    assert response.status_code == 201, response.json()
    report = DailyReport.objects.get()
    assert (report.day, report.status, report.submitted_at) == (
        dt.date(2026, 3, 2),
        "submitted",
        NOW,
    )


def test_it_takes_the_local_day_not_the_utc_day(rep_client, deal):
    # 00:30 in Tokyo is still the previous day in UTC; 23:30 UTC is already the next day here.
    activities = [
        _activity(occurred_at="2026-03-04T00:30:00+09:00", deal=deal.pk),
        _activity(occurred_at="2026-03-03T23:30:00Z", deal=deal.pk),
    ]

    response = rep_client.put(TODAY, {"activities": activities}, format="json")

    assert response.status_code == 201, response.json()
    assert Activity.objects.count() == 2


# --- Bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("activity", "field"),
    [
        ({"kind": "lunch"}, "kind"),
        ({"minutes": 1441}, "minutes"),
        ({"minutes": -5}, "minutes"),
        ({"minutes": "long"}, "minutes"),
        ({"occurred_at": _at(10, day=3)}, "occurred_at"),
        ({"occurred_at": _at(18)}, "occurred_at"),  # later than now
        ({"colour": "red"}, "colour"),
        ({"deal": None}, "deal"),  # neither deal nor contact
        ({"deal": 10**30}, "deal"),
        ({"id": 999}, "id"),  # not an activity of this report
    ],
)
def test_it_refuses_a_bad_activity_with_its_index_and_writes_nothing(
    rep_client, deal, activity, field
):
    good = _activity(deal=deal.pk)
    bad = {**_activity(deal=deal.pk), **activity}

    response = rep_client.put(TODAY, {"notes": "x", "activities": [good, bad]}, format="json")

    assert response.status_code == 400, response.json()
    assert list(response.json()["errors"]["activities"]) == ["1"]
    assert field in response.json()["errors"]["activities"]["1"]
    assert _nothing_written() == (0, 0, 0)


def test_it_refuses_an_activity_on_another_reps_deal(rep_client):
    someone_elses = DealFactory(
        owner=user_with_role(roles.SALES_REP, username="rep2"), last_activity_at=LAST_WEEK
    )

    response = rep_client.put(
        TODAY, {"activities": [_activity(deal=someone_elses.pk)]}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "activities": {"0": {"deal": ["You can log activities only on deals you can edit."]}}
    }
    assert _nothing_written() == (0, 0, 0)
    assert Deal.objects.get(pk=someone_elses.pk).last_activity_at == LAST_WEEK


def test_it_refuses_a_contact_who_is_not_the_deals_customers(rep_client, deal):
    outsider = ContactFactory(account=AccountFactory())

    response = rep_client.put(
        TODAY, {"activities": [_activity(deal=deal.pk, contact=outsider.pk)]}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]["activities"]["0"]) == ["contact"]
    assert _nothing_written() == (0, 0, 0)


def test_it_refuses_a_future_day(rep_client, deal):
    response = rep_client.put(
        f"{URL}day/2026-03-05/",
        {"activities": [_activity(occurred_at=_at(10, day=5), deal=deal.pk)]},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["day"]
    assert _nothing_written() == (0, 0, 0)


def test_it_refuses_a_day_too_far_back(rep_client):
    response = rep_client.put(f"{URL}day/2026-02-20/", {"notes": "late"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["day"]
    assert _nothing_written() == (0, 0, 0)


def test_it_refuses_a_day_that_is_not_a_date(rep_client):
    response = rep_client.put(f"{URL}day/2026-02-30/", {}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["day"]


def test_it_refuses_an_unknown_field_of_the_report(rep_client):
    response = rep_client.put(TODAY, {"notes": "x", "mood": "great"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"mood": ["Unknown field."]}
    assert _nothing_written() == (0, 0, 0)


def test_it_refuses_activities_that_are_not_a_list(rep_client):
    response = rep_client.put(TODAY, {"activities": {"kind": "call"}}, format="json")

    assert response.status_code == 400
    assert "activities" in response.json()["errors"]


def test_it_keeps_the_stored_report_when_a_rewrite_is_refused(rep_client, sales_rep, deal):
    first = rep_client.put(
        TODAY, {"notes": "v1", "activities": [_activity(deal=deal.pk)]}, format="json"
    )
    assert first.status_code == 201

    refused = rep_client.put(
        TODAY,
        {"notes": "v2", "activities": [_activity(deal=deal.pk, minutes=5000)]},
        format="json",
    )

    assert refused.status_code == 400
    report = DailyReport.objects.get()
    assert (report.notes, list(report.activities.values_list("minutes", flat=True))) == ("v1", [30])
    assert Touchpoint.objects.filter(actor=sales_rep).count() == 1


# --- Status changes -----------------------------------------------------------------------------


def test_it_refuses_to_edit_a_submitted_report(rep_client, deal):
    rep_client.put(TODAY, {"notes": "v1", "submit": True}, format="json")

    response = rep_client.put(
        TODAY, {"notes": "v2", "activities": [_activity(deal=deal.pk)]}, format="json"
    )

    assert response.status_code == 409
    assert (DailyReport.objects.get().notes, Activity.objects.count()) == ("v1", 0)


def test_it_lets_the_rep_fix_a_returned_report_and_submit_it_again(
    rep_client, manager_client, sales_rep, team
):
    report_id = rep_client.put(TODAY, {"notes": "v1", "submit": True}, format="json").json()["id"]

    returned = manager_client.post(
        f"{URL}{report_id}/return/", {"comment": "Add the Acme visit."}, format="json"
    )
    assert (returned.status_code, returned.json()["status"]) == (200, "returned")
    assert (
        Notification.objects.filter(recipient=sales_rep, kind="daily_report_returned").count() == 1
    )

    edited = rep_client.put(TODAY, {"notes": "v2", "submit": True}, format="json")

    assert edited.status_code == 200, edited.json()
    assert (edited.json()["status"], edited.json()["notes"]) == ("submitted", "v2")


def test_it_needs_a_comment_to_return_a_report(rep_client, manager_client, team):
    report_id = rep_client.put(TODAY, {"submit": True}, format="json").json()["id"]

    response = manager_client.post(f"{URL}{report_id}/return/", {}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["comment"]
    assert DailyReport.objects.get().status == "submitted"


def test_it_refuses_to_approve_a_draft(rep_client, manager_client, team):
    report_id = rep_client.put(TODAY, {"notes": "draft"}, format="json").json()["id"]

    response = manager_client.post(f"{URL}{report_id}/approve/", {}, format="json")

    assert response.status_code == 409
    assert DailyReport.objects.get().status == "draft"


def test_it_records_a_managers_comment_without_changing_the_status(
    rep_client, manager_client, manager, sales_rep, team
):
    report_id = rep_client.put(TODAY, {"submit": True}, format="json").json()["id"]

    response = manager_client.post(
        f"{URL}{report_id}/comment/", {"comment": "Call Acme first."}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["manager_comment"]) == (
        "submitted",
        "Call Acme first.",
    )
    assert (
        Notification.objects.filter(recipient=sales_rep, kind="daily_report_comment").count() == 1
    )


def test_it_lets_only_the_rep_submit_their_report(sales_rep, manager, team):
    report = DailyReportFactory(rep=sales_rep, day=dt.date(2026, 3, 4))

    response = _client(manager).post(f"{URL}{report.pk}/submit/")

    assert response.status_code == 403
    assert DailyReport.objects.get(pk=report.pk).status == "draft"


def test_it_refuses_the_report_endpoints_to_a_support_agent(agent_client):
    assert agent_client.get(URL).status_code == 403
    assert agent_client.put(TODAY, {"notes": "x"}, format="json").status_code == 403
    assert DailyReport.objects.count() == 0


# --- Listing ------------------------------------------------------------------------------------


def _team_reports(team, count: int) -> list[DailyReport]:
    made = []
    for i in range(count):
        rep = user_with_role(roles.SALES_REP, username=f"member{i}")
        team.members.add(rep)
        report = DailyReportFactory(rep=rep, day=dt.date(2026, 3, 4))
        deal = DealFactory(owner=rep)
        for hour in (9, 10):
            Activity.objects.create(
                report=report,
                kind="call",
                occurred_at=dt.datetime(2026, 3, 4, hour, tzinfo=TOKYO),
                minutes=10,
                deal=deal,
                contact=deal.contact,
            )
        made.append(report)
    return made


def test_it_lists_reports_in_the_same_number_of_queries_whatever_the_page_size(
    manager_client, team, django_assert_max_num_queries
):
    _team_reports(team, 12)

    with CaptureQueriesContext(connection) as small:
        small_page = manager_client.get(URL, {"page_size": 2})
    with django_assert_max_num_queries(len(small.captured_queries)):
        large_page = manager_client.get(URL, {"page_size": 12})

    assert (small_page.status_code, large_page.status_code) == (200, 200)
    assert (len(small_page.json()["results"]), len(large_page.json()["results"])) == (2, 12)
    assert {row["activity_count"] for row in large_page.json()["results"]} == {2}
    assert len(small.captured_queries) <= 6


def test_it_lists_a_reps_own_reports_only(rep_client, sales_rep, team):
    mine = DailyReportFactory(rep=sales_rep, day=dt.date(2026, 3, 4))
    _team_reports(team, 2)

    assert result_ids(rep_client.get(URL)) == [mine.pk]


def test_it_filters_reports_by_rep_team_day_and_status(manager_client, manager, team, sales_rep):
    other_team = TeamFactory(name="Nagoya sales", supervisor=manager)
    other_rep = user_with_role(roles.SALES_REP, username="nagoya")
    other_team.members.add(other_rep)
    monday = DailyReportFactory(rep=sales_rep, day=dt.date(2026, 3, 2))
    tuesday = DailyReportFactory(rep=sales_rep, day=dt.date(2026, 3, 3))
    DailyReport.objects.filter(pk=tuesday.pk).update(status="submitted", submitted_at=NOW)
    nagoya = DailyReportFactory(rep=other_rep, day=dt.date(2026, 3, 3))

    assert result_ids(manager_client.get(URL, {"rep": sales_rep.pk})) == [tuesday.pk, monday.pk]
    assert result_ids(manager_client.get(URL, {"team": other_team.pk})) == [nagoya.pk]
    assert result_ids(manager_client.get(URL, {"day_after": "2026-03-03"})) == sorted(
        [tuesday.pk, nagoya.pk], key=lambda pk: DailyReport.objects.get(pk=pk).rep_id
    )
    assert result_ids(manager_client.get(URL, {"status": "submitted"})) == [tuesday.pk]
    assert result_ids(manager_client.get(URL, {"ordering": "day", "rep": sales_rep.pk})) == [
        monday.pk,
        tuesday.pk,
    ]


@pytest.mark.parametrize(
    "query",
    [{"rep": "abc"}, {"team": "10" * 20}, {"day_after": "yesterday"}, {"status": "lost"}],
)
def test_it_refuses_a_bad_filter(manager_client, team, query):
    response = manager_client.get(URL, query)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [next(iter(query)).replace("_after", "")]
