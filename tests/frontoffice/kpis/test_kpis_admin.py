"""The KPI admin: snapshots listed with their bottleneck, figures as tables, read-only, and the
recompute action for those who may compute."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from frontoffice.kpis import engine
from frontoffice.kpis.periods import Period
from frontoffice.models import KpiRun, KpiSnapshot
from tests.frontoffice.kpis.test_snapshots import INQUIRIES, JOURNEY, PIPELINE, known_families

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/frontoffice/kpisnapshot/"
RUNS = "/admin/frontoffice/kpirun/"
NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
BOTTLENECK = {
    "process": "journey",
    "transition": "lead → prospect",
    "metric": "conversion",
    "value": 0.12,
    "baseline": 0.2,
    "basis": "history",
    "periods": 6,
    "n": 25,
    "ratio": 0.6,
    "trend": [0.2, 0.12],
    "text": "Lead → prospect converts 12% this month against 20% over the previous 6 months.",
}


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def snapshot(label: str, scope_kind: str = "all", scope_key: str = "", **values) -> KpiSnapshot:
    period = Period.parse(label)
    return KpiSnapshot.objects.create(
        definition_version=engine.DEFINITION_VERSION,
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        scope_kind=scope_kind,
        scope_key=scope_key,
        values=values,
        duration_ms=340,
    )


def test_the_list_shows_period_scope_duration_and_bottleneck(sales_rep):
    snapshot("2026-11", journey=JOURNEY, bottleneck=BOTTLENECK)
    snapshot("2026-W47", "channel", "email", bottleneck=None)

    response = browser(sales_rep).get(CHANGELIST)

    assert response.status_code == 200
    rows = [
        (row.period_kind, str(row.period_start), row.bottleneck_text)
        for row in response.context["cl"].result_list
    ]
    assert rows == [
        ("week", "2026-11-16", None),
        ("month", "2026-11-01", BOTTLENECK["text"]),
    ]
    page = response.content.decode()
    assert BOTTLENECK["text"] in page
    assert "2026-W47" in page
    assert "channel email" in page
    assert "340" in page


def test_the_list_reads_a_fixed_number_of_queries(sales_rep):
    client = browser(sales_rep)
    snapshot("2026-10", bottleneck=BOTTLENECK)
    client.get(CHANGELIST)
    with CaptureQueriesContext(connection) as few:
        client.get(CHANGELIST)
    for month in range(1, 10):
        snapshot(f"2025-{month:02d}", bottleneck=BOTTLENECK)

    with CaptureQueriesContext(connection) as many:
        client.get(CHANGELIST)

    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_change_page_shows_the_figures_as_tables(sales_rep):
    record = snapshot(
        "2026-11", journey=JOURNEY, pipeline=PIPELINE, inquiries=INQUIRIES, bottleneck=BOTTLENECK
    )

    response = browser(sales_rep).get(f"{CHANGELIST}{record.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f"<p><strong>{BOTTLENECK['text']}</strong></p>" in page
    assert "<h3>journey</h3>" in page
    assert "<h4>conversions</h4>" in page
    assert "<tr><th>from</th><th>to</th><th>cohort</th><th>converted</th><th>rate</th></tr>" in page
    assert "<tr><td>lead</td><td>prospect</td><td>25</td><td>3</td><td>0.12</td></tr>" in page
    assert "<tr><th>win_rate</th><td>0.6</td></tr>" in page
    assert "<tr><th>won_amounts</th><td>USD: 12000.00</td></tr>" in page
    assert (
        "<tr><th>volume</th><td>by_category: , by_channel: email: 30, phone: 10, total: 40</td>"
        in page
    )
    assert "<h3>touchpoints</h3>" not in page  # not in this snapshot


def test_the_figures_are_escaped(sales_rep):
    record = snapshot("2026-11", pipeline={"reps": [{"name": "<script>alert(1)</script>"}]})

    page = browser(sales_rep).get(f"{CHANGELIST}{record.pk}/change/").content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_snapshots_cannot_be_added_or_changed_in_the_admin(admin_user):
    record = snapshot("2026-11")
    client = browser(admin_user)

    assert client.get(f"{CHANGELIST}add/").status_code == 403
    response = client.post(f"{CHANGELIST}{record.pk}/change/", {"duration_ms": 1})
    assert response.status_code == 403
    record.refresh_from_db()
    assert record.duration_ms == 340


def test_a_manager_recomputes_the_selected_snapshots(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    known_families(monkeypatch)
    october = snapshot("2026-10")
    november = snapshot("2026-11")

    with django_capture_on_commit_callbacks(execute=True):
        response = browser(manager).post(
            CHANGELIST,
            {"action": "recompute", "_selected_action": [october.pk, november.pk]},
            follow=True,
        )

    assert response.status_code == 200
    runs = KpiRun.objects.order_by("period_start")
    assert [(str(run.period_start), run.status, run.requested_by) for run in runs] == [
        ("2026-10-01", "done", manager),
        ("2026-11-01", "done", manager),
    ]
    assert KpiSnapshot.objects.get(pk=november.pk).values["pipeline"] == PIPELINE
    assert "Queued 2 KPI run(s)." in response.content.decode()


def test_a_sales_rep_is_not_offered_the_recompute_action(sales_rep):
    record = snapshot("2026-11")

    response = browser(sales_rep).post(
        CHANGELIST, {"action": "recompute", "_selected_action": [record.pk]}
    )

    assert response.context["action_form"] is None  # no action at all for a rep
    assert not KpiRun.objects.exists()


def test_the_runs_are_listed_and_can_be_recomputed(
    manager, monkeypatch, django_capture_on_commit_callbacks
):
    known_families(monkeypatch)
    failed = KpiRun.objects.create(
        period_kind="month",
        period_start=Period.parse("2026-11").start,
        period_end=Period.parse("2026-11").end,
        scope_kind="all",
        status="failed",
        error="ZeroDivisionError: division by zero",
    )
    client = browser(manager)

    listed = client.get(RUNS)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(RUNS, {"action": "recompute", "_selected_action": [failed.pk]})

    assert [run.pk for run in listed.context["cl"].result_list] == [failed.pk]
    assert "2026-11" in listed.content.decode()
    assert KpiRun.objects.exclude(pk=failed.pk).get().status == "done"
