"""/api/v1/kpis/: snapshots (latest, one family, history for trends), compute, runs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import roles
from frontoffice.kpis import engine, snapshots
from frontoffice.kpis.periods import Period
from frontoffice.models import KpiRun, KpiSnapshot, OutboxTask
from tests.broker import unreachable_broker
from tests.factories import TeamFactory, UserFactory, user_with_role
from tests.frontoffice.kpis.test_snapshots import JOURNEY, PEER_TEXT, PIPELINE, known_families

pytestmark = pytest.mark.django_db

URL = "/api/v1/kpis/"
COMPUTE = "/api/v1/kpis/compute/"
HISTORY = "/api/v1/kpis/history/"
RUNS = "/api/v1/kpis/runs/"
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def snapshot(label: str, scope_kind: str = "all", scope_key: str = "", **values) -> KpiSnapshot:
    period = Period.parse(label)
    return KpiSnapshot.objects.create(
        definition_version=engine.DEFINITION_VERSION,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        scope_kind=scope_kind,
        scope_key=scope_key,
        values=values or {"pipeline": {"won": 1}},
        computed_at=NOW,
        duration_ms=120,
    )


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


# --- POST /kpis/compute/ ------------------------------------------------------------------------


def test_it_queues_a_run_and_answers_202_with_its_id(
    marketer_client, marketer, monkeypatch, django_capture_on_commit_callbacks
):
    known_families(monkeypatch)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = marketer_client.post(COMPUTE, {"period": "2026-11"}, format="json")

    assert response.status_code == 202, response.json()
    run = KpiRun.objects.get()
    assert response.json() == {
        "run": run.pk,
        "status": "queued",
        "message": f"Queued: follow it at /api/v1/kpis/runs/{run.pk}/.",
    }
    assert (run.period_kind, run.period_start, run.period_end) == (
        "month",
        date(2026, 11, 1),
        date(2026, 12, 1),
    )
    assert (run.scope_kind, run.scope_key, run.requested_by) == ("all", "", marketer)
    assert len(callbacks) == 1
    callbacks[0]()
    run.refresh_from_db()
    assert run.status == "done"
    assert run.snapshot.values["bottleneck"]["text"] == PEER_TEXT


def test_a_manager_queues_a_team_run(manager_client, monkeypatch):
    known_families(monkeypatch)
    team = TeamFactory()

    response = manager_client.post(
        COMPUTE, {"period": "2026-W47", "scope": "team", "scope_key": str(team.pk)}, format="json"
    )

    assert response.status_code == 202, response.json()
    run = KpiRun.objects.get()
    assert (run.period_kind, run.period_start, run.scope_kind, run.scope_key) == (
        "week",
        date(2026, 11, 16),
        "team",
        str(team.pk),
    )


@pytest.mark.usefixtures("role_groups")
def test_without_a_broker_the_run_is_done_when_the_answer_comes(monkeypatch):
    known_families(monkeypatch)
    client = APIClient()
    client.force_authenticate(user_with_role(roles.MARKETER, username="marketer"))

    response = client.post(COMPUTE, {"period": "2026-11-22"}, format="json")

    assert response.status_code == 202, response.json()
    run = KpiRun.objects.get()
    snapshot = KpiSnapshot.objects.get()
    assert response.json() == {
        "run": run.pk,
        "status": "done",
        "message": f"Computed: snapshot {snapshot.pk}.",
    }
    assert (snapshot.period_kind, snapshot.period_start) == ("day", date(2026, 11, 22))


@pytest.mark.usefixtures("role_groups")
def test_with_the_broker_down_the_run_stays_queued_and_the_answer_says_so():
    client = APIClient()
    client.force_authenticate(user_with_role(roles.MANAGER, username="manager"))

    with unreachable_broker():
        response = client.post(COMPUTE, {"period": "2026-11"}, format="json")

    assert response.status_code == 202, response.json()
    run = KpiRun.objects.get()
    assert response.json() == {
        "run": run.pk,
        "status": "queued",
        "message": snapshots.BROKER_DOWN_MESSAGE,
    }
    assert run.status == "queued"
    assert not KpiSnapshot.objects.exists()
    assert OutboxTask.objects.get().kwargs["run_id"] == run.pk


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"period": "2026-13"},
            {
                "period": [
                    "'2026-13' is not a period: use 2026-11-22, 2026-W47, 2026-11 or "
                    "2026-01-01..2026-03-31 (month must be in 1..12)."
                ]
            },
        ),
        ({"period": "2026-12"}, {"period": ["2026-12 has not started yet: nothing to measure."]}),
        ({}, {"period": ["This field is required."]}),
        (
            {"period": "2026-11", "scope": "galaxy"},
            {"scope": ['"galaxy" is not a valid choice.']},
        ),
        (
            {"period": "2026-11", "scope": "team"},
            {
                "scope_key": [
                    "Give a key for a team, rep, campaign, channel or segment, none for all."
                ]
            },
        ),
        (
            {"period": "2026-11", "scope": "team", "scope_key": "sales"},
            {"scope_key": ["A team scope needs its id."]},
        ),
        (
            {"period": "2026-11", "scope": "team", "scope_key": "999"},
            {"scope_key": ["There is no team '999'."]},
        ),
        (
            {"period": "2026-11", "scope_key": "3"},
            {
                "scope_key": [
                    "Give a key for a team, rep, campaign, channel or segment, none for all."
                ]
            },
        ),
        ({"period": "2026-11", "when": "now"}, {"when": ["Unknown field."]}),
    ],
)
def test_it_refuses_a_bad_period_or_scope_with_field_messages_and_writes_nothing(
    manager_client, body, errors
):
    response = manager_client.post(COMPUTE, body, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == errors
    assert not KpiRun.objects.exists()


def test_a_sales_rep_may_read_the_figures_but_not_compute_them(rep_client):
    response = rep_client.post(COMPUTE, {"period": "2026-11"}, format="json")

    assert response.status_code == 403
    assert not KpiRun.objects.exists()


def test_it_needs_a_signed_in_user(api_client):
    assert api_client.post(COMPUTE, {"period": "2026-11"}, format="json").status_code == 401
    assert api_client.get(URL).status_code == 401


def test_a_user_without_a_role_cannot_read_the_figures():
    client = APIClient()
    client.force_authenticate(UserFactory())

    assert client.get(URL).status_code == 403
    assert client.get(HISTORY).status_code == 403


# --- GET /kpis/runs/{id}/ -----------------------------------------------------------------------


def test_it_shows_a_run(rep_client, manager):
    done = snapshot("2026-11")
    run = KpiRun.objects.create(
        period_kind="month",
        period_start=date(2026, 11, 1),
        period_end=date(2026, 12, 1),
        scope_kind="all",
        status="done",
        requested_by=manager,
        snapshot=done,
        started_at=NOW,
        finished_at=NOW,
    )

    response = rep_client.get(f"{RUNS}{run.pk}/")

    assert response.status_code == 200
    assert response.json() == {
        "id": run.pk,
        "period": "2026-11",
        "period_kind": "month",
        "period_start": "2026-11-01",
        "period_end": "2026-12-01",
        "scope": "all",
        "scope_key": "",
        "status": "done",
        "snapshot": done.pk,
        "error": "",
        "requested_by": manager.pk,
        "requested_by_name": manager.get_full_name(),
        "created_at": "2026-11-23T13:00:00+09:00",
        "started_at": "2026-11-23T13:00:00+09:00",
        "finished_at": "2026-11-23T13:00:00+09:00",
    }


def test_an_unknown_run_is_404(rep_client):
    assert rep_client.get(f"{RUNS}999/").status_code == 404
    assert rep_client.get(f"{URL}999/").status_code == 404


def test_it_lists_runs_by_status(rep_client):
    queued = snapshots.kpi_run_create(period=Period.parse("2026-11"), scope=snapshots.Scope())
    failed = snapshots.kpi_run_create(period=Period.parse("2026-10"), scope=snapshots.Scope())
    KpiRun.objects.filter(pk=failed.pk).update(status="failed")

    assert ids(rep_client.get(RUNS, {"status": "failed"})) == [failed.pk]
    assert ids(rep_client.get(RUNS, {"status": "queued"})) == [queued.pk]
    assert rep_client.get(RUNS, {"status": "lost"}).status_code == 400


# --- GET /kpis/ ---------------------------------------------------------------------------------


def test_it_lists_snapshots_newest_period_first(rep_client):
    october = snapshot("2026-10")
    november = snapshot("2026-11", pipeline=PIPELINE, journey=JOURNEY)

    response = rep_client.get(URL)

    assert ids(response) == [november.pk, october.pk]
    assert response.json()["results"][0] == {
        "id": november.pk,
        "period": "2026-11",
        "period_kind": "month",
        "period_start": "2026-11-01",
        "period_end": "2026-12-01",
        "scope": "all",
        "scope_key": "",
        "definition_version": engine.DEFINITION_VERSION,
        "computed_at": "2026-11-23T13:00:00+09:00",
        "duration_ms": 120,
        "values": {"pipeline": PIPELINE, "journey": JOURNEY},
    }


def test_it_returns_only_the_family_asked_for(rep_client):
    november = snapshot("2026-11", pipeline=PIPELINE, journey=JOURNEY)

    listed = rep_client.get(URL, {"family": "pipeline"})
    one = rep_client.get(f"{URL}{november.pk}/", {"family": "journey"})
    missing = rep_client.get(URL, {"family": "inquiries"})

    assert listed.json()["results"][0]["values"] == {"pipeline": PIPELINE}
    assert one.json()["values"] == {"journey": JOURNEY}
    assert missing.json()["results"][0]["values"] == {"inquiries": None}


def test_it_filters_snapshots(rep_client):
    team = TeamFactory()
    month_all = snapshot("2026-11")
    month_team = snapshot("2026-11", "team", str(team.pk))
    week_all = snapshot("2026-W47")
    older_month = snapshot("2026-09")

    def listed(**params) -> list[int]:
        return sorted(ids(rep_client.get(URL, params)))

    assert listed(period_kind="week") == [week_all.pk]
    assert listed(scope="team") == [month_team.pk]
    assert listed(scope="team", scope_key=str(team.pk)) == [month_team.pk]
    assert listed(scope_key="999") == []
    assert listed(period_start_after="2026-11-01", period_kind="month") == sorted(
        [month_all.pk, month_team.pk]
    )
    assert listed(period_start_before="2026-10-31") == [older_month.pk]
    assert listed(latest="true") == sorted([month_all.pk, month_team.pk, week_all.pk])
    assert listed(latest="false") == [older_month.pk]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"family": "weather"}, "family"),
        ({"period_kind": "year"}, "period_kind"),
        ({"scope": "galaxy"}, "scope"),
        ({"latest": "perhaps"}, "latest"),
        ({"period_start_after": "yesterday"}, "period_start"),
        ({"period_start_after": "0001-01-01"}, "period_start"),
    ],
)
def test_it_refuses_a_bad_filter_with_a_field_message(rep_client, params, field):
    response = rep_client.get(URL, params)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_it_lists_snapshots_in_a_number_of_queries_that_does_not_grow_with_the_page(
    rep_client, django_assert_max_num_queries
):
    for month in range(1, 12):
        snapshot(f"2026-{month:02d}")
        snapshot(f"2026-{month:02d}", "channel", "email")

    rep_client.get(URL)  # the user's permissions are loaded once per request user
    with CaptureQueriesContext(connection) as small:
        rep_client.get(URL, {"page_size": 2, "latest": "true"})
    with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as large:
        response = rep_client.get(URL, {"page_size": 20, "latest": "false"})

    assert len(response.json()["results"]) == 20
    assert len(large.captured_queries) == len(small.captured_queries)


def test_it_lists_runs_in_a_number_of_queries_that_does_not_grow_with_the_page(
    rep_client, manager, django_assert_max_num_queries
):
    for month in range(1, 12):
        run = snapshots.kpi_run_create(
            period=Period.parse(f"2026-{month:02d}"), scope=snapshots.Scope()
        )
        KpiRun.objects.filter(pk=run.pk).update(requested_by=manager)

    rep_client.get(RUNS)
    with CaptureQueriesContext(connection) as small:
        rep_client.get(RUNS, {"page_size": 2})
    with django_assert_max_num_queries(4), CaptureQueriesContext(connection) as large:
        response = rep_client.get(RUNS, {"page_size": 11})

    assert len(response.json()["results"]) == 11
    assert len(large.captured_queries) == len(small.captured_queries)


# --- GET /kpis/history/ -------------------------------------------------------------------------


def test_it_returns_a_figure_over_the_periods_oldest_first(rep_client):
    september = snapshot("2026-09", pipeline={"win_rate": 0.5, "sales_cycle_days": {"median": 30}})
    october = snapshot("2026-10", pipeline={"win_rate": 0.4})
    november = snapshot("2026-11", pipeline={"win_rate": 0.6, "sales_cycle_days": {"median": 21}})
    snapshot("2026-11", "channel", "email", pipeline={"win_rate": 0.9})
    snapshot("2026-W47", pipeline={"win_rate": 0.1})

    response = rep_client.get(HISTORY, {"family": "pipeline", "figure": "sales_cycle_days.median"})

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "scope": "all",
        "scope_key": "",
        "period_kind": "month",
        "family": "pipeline",
        "figure": "sales_cycle_days.median",
        "points": [
            {
                "period": label,
                "period_start": start,
                "period_end": end,
                "snapshot": record.pk,
                "computed_at": "2026-11-23T13:00:00+09:00",
                "value": value,
            }
            for label, start, end, record, value in [
                ("2026-09", "2026-09-01", "2026-10-01", september, 30),
                ("2026-10", "2026-10-01", "2026-11-01", october, None),
                ("2026-11", "2026-11-01", "2026-12-01", november, 21),
            ]
        ],
    }


def test_the_history_of_a_scope_gives_the_family_and_keeps_the_last_periods(rep_client):
    snapshot("2026-W45", "channel", "email", inquiries={"volume": {"total": 4}})
    snapshot("2026-W46", "channel", "email", inquiries={"volume": {"total": 5}})
    snapshot("2026-W47", "channel", "email", inquiries={"volume": {"total": 6}})

    response = rep_client.get(
        HISTORY,
        {
            "scope": "channel",
            "scope_key": "email",
            "period_kind": "week",
            "family": "inquiries",
            "limit": 2,
        },
    )

    assert [(point["period"], point["value"]) for point in response.json()["points"]] == [
        ("2026-W46", {"inquiries": {"volume": {"total": 5}}}),
        ("2026-W47", {"inquiries": {"volume": {"total": 6}}}),
    ]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"figure": "win_rate"}, {"figure": ["Give the family of the figure."]}),
        ({"family": "pipeline", "figure": "win rate; drop"}, "figure"),
        ({"scope": "team"}, "scope_key"),
        ({"period_kind": "year"}, "period_kind"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
    ],
)
def test_it_refuses_a_bad_history_query_with_a_field_message(rep_client, params, errors):
    response = rep_client.get(HISTORY, params)

    assert response.status_code == 400
    if isinstance(errors, dict):
        assert response.json()["errors"] == errors
    else:
        assert errors in response.json()["errors"]


def test_the_history_is_one_query_whatever_its_length(rep_client, django_assert_max_num_queries):
    for month in range(1, 12):
        snapshot(f"2026-{month:02d}")

    rep_client.get(HISTORY)
    with CaptureQueriesContext(connection) as small:
        rep_client.get(HISTORY, {"limit": 2})
    with django_assert_max_num_queries(3), CaptureQueriesContext(connection) as large:
        response = rep_client.get(HISTORY, {"limit": 11})

    assert len(response.json()["points"]) == 11
    assert len(large.captured_queries) == len(small.captured_queries)
