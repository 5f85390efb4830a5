"""Snapshots, runs and the compute_kpis / compute_nightly_kpis tasks (families replaced by known
values where a test needs specific figures)."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, date, datetime

import pytest
import time_machine
from celery.exceptions import Retry
from celery.schedules import crontab
from django.conf import settings
from django.db import InterfaceError, OperationalError

from accounts.models import Team
from frontoffice import tasks
from frontoffice.errors import ApplicationError
from frontoffice.kpis import engine, snapshots
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import KpiRun, KpiSnapshot, OutboxTask
from pipeline.models import Campaign
from tests.broker import unreachable_broker
from tests.factories import CampaignFactory, TeamFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
NOVEMBER = Period.parse("2026-11")
OCTOBER = Period.parse("2026-10")

JOURNEY = {
    "stages": [
        {"stage": "awareness", "contacts": 300, "entered": 100},
        {"stage": "lead", "contacts": 40, "entered": 25},
        {"stage": "prospect", "contacts": 10, "entered": 3},
    ],
    "conversions": [
        {"from": "awareness", "to": "lead", "cohort": 100, "converted": 30, "rate": 0.3},
        {"from": "lead", "to": "prospect", "cohort": 25, "converted": 3, "rate": 0.12},
        {"from": "prospect", "to": "customer", "cohort": 5, "converted": 2, "rate": 0.4},
    ],
    "times": [],
    "campaigns": [],
}
TOUCHPOINTS = {"won_customers": 5, "others": 30, "before_order": [], "amount_correlation": {}}
PIPELINE = {
    "stages": [],
    "transitions": [],
    "won": 6,
    "lost": 4,
    "win_rate": 0.6,
    "won_amounts": {"USD": "12000.00"},
    "stalled": 2,
    "days_in_stage": [],
}
INQUIRIES = {
    "volume": {"total": 40, "by_channel": {"email": 30, "phone": 10}, "by_category": {}},
    "first_response_minutes": {"n": 38, "median": 35.5, "p90": 120.0},
    "resolution_minutes": {"n": 30, "median": 300.0, "p90": 900.0},
    "sla": {"first_response": {"measured": 38, "met": 36, "rate": 0.9474}},
}
KNOWN = {
    "journey": JOURNEY,
    "touchpoints": TOUCHPOINTS,
    "pipeline": PIPELINE,
    "inquiries": INQUIRIES,
}
PEER_TEXT = (
    "Lead → prospect converts 12% this month against 35% on average for the other journey "
    "transitions."
)


def known_families(monkeypatch, **overrides) -> list[str]:
    """Replace the families by ones returning KNOWN (or `overrides`: a dict, or an exception to
    raise); returns the names in the order they were called."""
    calls: list[str] = []

    def family(name: str):
        def compute(period: Period, scope: Scope) -> dict:
            calls.append(name)
            outcome = overrides.get(name, KNOWN[name])
            if isinstance(outcome, BaseException):
                raise outcome
            return copy.deepcopy(outcome)

        return compute

    for name in KNOWN:
        monkeypatch.setitem(engine.FAMILIES, name, family(name))
    return calls


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    # Each reading of the computation's stopwatch is 250 ms after the previous one.
    ticks = itertools.count(step=0.25)
    monkeypatch.setattr(snapshots, "perf_counter", lambda: next(ticks))
    with time_machine.travel(NOW, tick=False):
        yield


# --- snapshot_compute ---------------------------------------------------------------------------


def test_it_stores_every_family_and_the_bottleneck_in_one_snapshot(monkeypatch):
    known_families(monkeypatch)

    snapshot = snapshots.snapshot_compute(period=NOVEMBER, scope=Scope())

    stored = KpiSnapshot.objects.get()
    assert stored.pk == snapshot.pk
    assert (stored.period_kind, stored.period_start, stored.period_end) == (
        "month",
        date(2026, 11, 1),
        date(2026, 12, 1),
    )
    assert (stored.scope_kind, stored.scope_key) == ("all", "")
    assert stored.definition_version == engine.DEFINITION_VERSION
    assert stored.computed_at == NOW
    assert stored.duration_ms == 250
    assert set(stored.values) == {"journey", "touchpoints", "pipeline", "inquiries", "bottleneck"}
    assert stored.values["pipeline"] == PIPELINE
    assert stored.values["bottleneck"]["text"] == PEER_TEXT


def test_computing_again_replaces_the_values_of_the_one_snapshot(monkeypatch):
    known_families(monkeypatch)
    first = snapshots.snapshot_compute(period=NOVEMBER, scope=Scope())
    known_families(monkeypatch, pipeline={**PIPELINE, "won": 7})

    with time_machine.travel(datetime(2026, 11, 23, 5, 0, tzinfo=UTC), tick=False):
        second = snapshots.snapshot_compute(period=NOVEMBER, scope=Scope())

    stored = KpiSnapshot.objects.get()
    assert second.pk == first.pk == stored.pk
    assert stored.values["pipeline"]["won"] == 7
    assert stored.computed_at == datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def test_a_family_failing_half_way_leaves_no_snapshot(monkeypatch):
    calls = known_families(monkeypatch, pipeline=ZeroDivisionError("bug"))

    with pytest.raises(ZeroDivisionError):
        snapshots.snapshot_compute(period=NOVEMBER, scope=Scope())

    assert calls == ["journey", "touchpoints", "pipeline"]
    assert not KpiSnapshot.objects.exists()


def test_a_family_failing_half_way_keeps_the_previous_snapshot_whole(monkeypatch):
    known_families(monkeypatch)
    snapshots.snapshot_compute(period=NOVEMBER, scope=Scope())
    known_families(monkeypatch, journey={"stages": []}, pipeline=ZeroDivisionError("bug"))

    with pytest.raises(ZeroDivisionError):
        snapshots.snapshot_compute(period=NOVEMBER, scope=Scope())

    assert KpiSnapshot.objects.get().values["journey"] == JOURNEY


def test_the_bottleneck_uses_the_earlier_snapshots_of_the_same_scope_and_period_kind(
    monkeypatch,
):
    known_families(monkeypatch)
    for month, rate in (("2026-08", 0.18), ("2026-09", 0.2), ("2026-10", 0.22)):
        period = Period.parse(month)
        journey = {"conversions": [{"from": "lead", "to": "prospect", "cohort": 20, "rate": rate}]}
        KpiSnapshot.objects.create(
            definition_version=engine.DEFINITION_VERSION,
            period_kind=period.kind,
            period_start=period.start,
            period_end=period.end,
            scope_kind="all",
            values={"journey": journey},
        )
    # Ignored: another scope, another period kind, an older definition.
    other = {"conversions": [{"from": "lead", "to": "prospect", "cohort": 9, "rate": 0.9}]}
    TeamFactory(pk=3)
    KpiSnapshot.objects.create(
        definition_version=engine.DEFINITION_VERSION,
        period_kind="month",
        period_start=OCTOBER.start,
        period_end=OCTOBER.end,
        scope_kind="team",
        scope_key="3",
        values={"journey": other},
    )
    week = Period.parse("2026-W44")
    KpiSnapshot.objects.create(
        definition_version=engine.DEFINITION_VERSION,
        period_kind=week.kind,
        period_start=week.start,
        period_end=week.end,
        scope_kind="all",
        values={"journey": other},
    )
    july = Period.parse("2026-07")
    KpiSnapshot.objects.create(
        definition_version=engine.DEFINITION_VERSION + 1,
        period_kind="month",
        period_start=july.start,
        period_end=july.end,
        scope_kind="all",
        values={"journey": other},
    )

    snapshot = snapshots.snapshot_compute(period=NOVEMBER, scope=Scope())

    found = snapshot.values["bottleneck"]
    assert (found["basis"], found["baseline"], found["periods"], found["trend"]) == (
        "history",
        0.2,
        3,
        [0.18, 0.2, 0.22, 0.12],
    )
    assert found["text"] == (
        "Lead → prospect converts 12% this month against 20% over the previous 3 months."
    )


def test_it_runs_end_to_end_with_the_real_families():
    snapshot = snapshots.snapshot_compute(period=NOVEMBER, scope=Scope())

    stored = KpiSnapshot.objects.get(pk=snapshot.pk)
    assert set(stored.values) == {"journey", "touchpoints", "pipeline", "inquiries", "bottleneck"}
    assert stored.values["bottleneck"] is None  # nothing measured in an empty database


# --- Runs and the compute_kpis task ------------------------------------------------------------


def test_the_task_marks_its_run_done_with_the_snapshot(monkeypatch):
    known_families(monkeypatch)
    run = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope())

    result = tasks.compute_kpis.delay("2026-11", run_id=run.pk).get()

    run.refresh_from_db()
    snapshot = KpiSnapshot.objects.get()
    assert result == {"run": run.pk, "snapshot": snapshot.pk, "duration_ms": 250}
    assert (run.status, run.snapshot, run.error) == ("done", snapshot, "")
    assert run.started_at == run.finished_at == NOW


def test_the_task_marks_its_run_failed_and_writes_no_snapshot(monkeypatch):
    known_families(monkeypatch, inquiries=ValueError("no such stage"))
    run = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope())

    with pytest.raises(ValueError, match="no such stage"):
        tasks.compute_kpis.delay("2026-11", run_id=run.pk)

    run.refresh_from_db()
    assert (run.status, run.error, run.snapshot) == ("failed", "ValueError: no such stage", None)
    assert run.finished_at == NOW
    assert not KpiSnapshot.objects.exists()


def test_the_task_retries_only_transient_database_errors():
    task = tasks.compute_kpis

    assert (task.acks_late, task.max_retries) == (True, 3)
    assert task.autoretry_for == (OperationalError, InterfaceError)


def test_a_transient_error_leaves_the_run_running_for_the_retry(monkeypatch):
    known_families(monkeypatch, pipeline=OperationalError("database is locked"))
    run = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope())

    with pytest.raises(Retry):
        tasks.compute_kpis.apply(kwargs={"period": "2026-11", "run_id": run.pk}, retries=0)

    run.refresh_from_db()
    assert (run.status, run.error) == (
        "running",
        "Retrying after OperationalError: database is locked",
    )
    assert not KpiSnapshot.objects.exists()


def test_the_retry_completes_the_run(monkeypatch):
    known_families(monkeypatch, pipeline=OperationalError("database is locked"))
    run = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope())
    with pytest.raises(Retry):
        tasks.compute_kpis.apply(kwargs={"period": "2026-11", "run_id": run.pk}, retries=0)
    known_families(monkeypatch)

    tasks.compute_kpis.apply(kwargs={"period": "2026-11", "run_id": run.pk}, retries=1)

    run.refresh_from_db()
    assert (run.status, run.error) == ("done", "")
    assert KpiSnapshot.objects.get().values["pipeline"] == PIPELINE


def test_the_last_retry_marks_the_run_failed(monkeypatch):
    known_families(monkeypatch, journey=OperationalError("database is locked"))
    run = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope())

    with pytest.raises(OperationalError):
        tasks.compute_kpis.apply(
            kwargs={"period": "2026-11", "run_id": run.pk}, retries=tasks.MAX_RETRIES
        )

    run.refresh_from_db()
    assert (run.status, run.error) == ("failed", "OperationalError: database is locked")


def test_the_task_does_not_retry_a_bug(monkeypatch):
    calls = known_families(monkeypatch, journey=KeyError("rate"))
    run = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope())

    with pytest.raises(KeyError):
        tasks.compute_kpis.delay("2026-11", run_id=run.pk)

    assert calls == ["journey"]


def test_a_redelivered_task_of_a_done_run_changes_nothing(monkeypatch):
    calls = known_families(monkeypatch)
    run = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope())
    tasks.compute_kpis.delay("2026-11", run_id=run.pk)
    calls.clear()

    result = tasks.compute_kpis.delay("2026-11", run_id=run.pk).get()

    assert result == {"run": run.pk, "snapshot": None, "skipped": "already done"}
    assert calls == []
    assert KpiSnapshot.objects.count() == 1


def test_a_run_left_running_by_a_dead_worker_is_computed_again(monkeypatch):
    known_families(monkeypatch)
    run = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope())
    KpiRun.objects.filter(pk=run.pk).update(status="running")

    tasks.compute_kpis.delay("2026-11", run_id=run.pk)

    run.refresh_from_db()
    assert run.status == "done"
    assert KpiSnapshot.objects.count() == 1


def test_the_task_without_a_run_computes_the_snapshot_of_its_arguments(monkeypatch):
    known_families(monkeypatch)
    team = TeamFactory()

    result = tasks.compute_kpis.delay("2026-W47", "team", str(team.pk)).get()

    snapshot = KpiSnapshot.objects.get()
    assert result == {"run": None, "snapshot": snapshot.pk, "duration_ms": 250}
    assert (snapshot.period_kind, snapshot.period_start, snapshot.scope_kind) == (
        "week",
        date(2026, 11, 16),
        "team",
    )
    assert snapshot.scope_key == str(team.pk)
    assert not KpiRun.objects.exists()


def test_the_task_refuses_a_bad_period():
    with pytest.raises(ApplicationError) as refused:
        tasks.compute_kpis.delay("2026-13")

    assert refused.value.errors["period"][0].startswith("'2026-13' is not a period")


# --- Queueing runs ------------------------------------------------------------------------------


def test_queueing_sends_the_task_only_after_commit(
    monkeypatch, manager, django_capture_on_commit_callbacks
):
    known_families(monkeypatch)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = snapshots.kpi_run_queue(period=NOVEMBER, scope=Scope(), actor=manager)

    assert (run.status, run.requested_by) == ("queued", manager)
    assert len(callbacks) == 1
    assert not KpiSnapshot.objects.exists()
    callbacks[0]()
    run.refresh_from_db()
    assert run.status == "done"
    assert run.snapshot == KpiSnapshot.objects.get()


def test_a_run_stays_queued_with_the_reason_when_the_broker_is_down(
    django_capture_on_commit_callbacks,
):
    with unreachable_broker(), django_capture_on_commit_callbacks(execute=True):
        run = snapshots.kpi_run_queue(period=NOVEMBER, scope=Scope(), actor=None)

    run.refresh_from_db()
    assert (run.status, run.error) == ("queued", snapshots.BROKER_DOWN_MESSAGE)
    kept = OutboxTask.objects.get()
    assert (kept.task, kept.args, kept.kwargs) == (
        "frontoffice.tasks.compute_kpis",
        [],
        {"period": "2026-11", "scope_kind": "all", "scope_key": "", "run_id": run.pk},
    )


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        (Scope("team", "999"), "There is no team '999'."),
        (Scope("rep", "999"), "There is no rep '999'."),
        (Scope("campaign", "999"), "There is no campaign '999'."),
        (Scope("channel", "carrier_pigeon"), "There is no channel 'carrier_pigeon'."),
        (Scope("segment", "lukewarm"), "There is no segment 'lukewarm'."),
    ],
)
def test_it_refuses_a_scope_that_does_not_exist_and_writes_nothing(scope, message):
    with pytest.raises(ApplicationError) as refused:
        snapshots.kpi_run_queue(period=NOVEMBER, scope=scope, actor=None)

    assert refused.value.errors == {"scope_key": [message]}
    assert not KpiRun.objects.exists()


def test_it_refuses_a_period_that_has_not_started():
    with pytest.raises(ApplicationError) as refused:
        snapshots.kpi_run_queue(period=Period.parse("2026-12"), scope=Scope(), actor=None)

    assert refused.value.errors == {"period": ["2026-12 has not started yet: nothing to measure."]}
    assert not KpiRun.objects.exists()


def test_it_accepts_known_channels_and_segments():
    email = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope("channel", "email"))
    web_form = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope("channel", "web_form"))
    hot = snapshots.kpi_run_create(period=NOVEMBER, scope=Scope("segment", "hot"))

    assert [run.scope_key for run in (email, web_form, hot)] == ["email", "web_form", "hot"]


# --- Nightly ------------------------------------------------------------------------------------


def test_beat_computes_the_nightly_kpis_at_four():
    entry = settings.CELERY_BEAT_SCHEDULE["frontoffice-compute-nightly-kpis"]

    assert entry == {
        "task": "frontoffice.tasks.compute_nightly_kpis",
        "schedule": crontab(hour=4, minute=0),
    }


def test_the_nightly_periods_are_yesterday_and_its_week_and_month():
    assert [period.label for period in tasks.nightly_periods(date(2026, 11, 19))] == [
        "2026-11-18",
        "2026-W47",
        "2026-11",
    ]


def test_the_night_after_a_week_and_a_month_end_completes_them_and_starts_the_new_ones():
    assert [period.label for period in tasks.nightly_periods(date(2026, 6, 1))] == [
        "2026-05-31",
        "2026-W22",
        "2026-W23",
        "2026-05",
        "2026-06",
    ]


def test_the_nightly_task_queues_a_run_per_period_and_scope(
    monkeypatch, django_capture_on_commit_callbacks
):
    known_families(monkeypatch)
    sales, support = TeamFactory(kind=Team.Kind.SALES), TeamFactory(kind=Team.Kind.SUPPORT)
    TeamFactory(kind=Team.Kind.MARKETING)
    active = CampaignFactory(status=Campaign.Status.ACTIVE)
    CampaignFactory(status=Campaign.Status.PLANNED)

    with django_capture_on_commit_callbacks(execute=True):
        result = tasks.compute_nightly_kpis.delay("2026-11-23").get()

    periods = ["2026-11-22", "2026-W47", "2026-W48", "2026-11"]
    scopes = [("all", ""), ("team", str(sales.pk)), ("team", str(support.pk))]
    scopes.append(("campaign", str(active.pk)))
    assert result == {"queued": 16}
    runs = KpiRun.objects.order_by("pk")
    assert [
        (snapshots.period_of(run).label, run.scope_kind, run.scope_key, run.status) for run in runs
    ] == [(period, kind, key, "done") for period in periods for kind, key in scopes]
    assert KpiSnapshot.objects.count() == 16
