"""``manage.py compute_kpis``: output, runs recorded, scopes, and clear errors with exit codes."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Team
from frontoffice.kpis import snapshots
from frontoffice.management.commands.compute_kpis import Command
from frontoffice.models import KpiRun, KpiSnapshot
from pipeline.models import Campaign
from tests.factories import CampaignFactory, TeamFactory
from tests.frontoffice.kpis.test_snapshots import PEER_TEXT, known_families

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
HEADLINE = [
    "  journey      entered: awareness 100, lead 25, prospect 3",
    "  pipeline     won 6, lost 4, win rate 60.0%, won 12000.00 USD, stalled 2",
    "  inquiries    40 inquiries, first response 35.5 min, resolution 300.0 min, "
    "SLA first response 94.7%",
    "  touchpoints  won customers 5, others 30",
    f"  bottleneck   {PEER_TEXT}",
]


@pytest.fixture(autouse=True)
def _now(monkeypatch):
    ticks = itertools.count(step=0.25)
    monkeypatch.setattr(snapshots, "perf_counter", lambda: next(ticks))
    with time_machine.travel(NOW, tick=False):
        yield


def run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("compute_kpis", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_computes_a_period_and_prints_the_headline_figures(monkeypatch):
    known_families(monkeypatch)

    out, err = run_command("--period", "2026-11")

    snapshot = KpiSnapshot.objects.get()
    assert out.splitlines() == [
        f"2026-11 all: snapshot {snapshot.pk} in 250 ms (definition 1)",
        *HEADLINE,
    ]
    assert err == ""
    run = KpiRun.objects.get()
    assert (run.status, run.snapshot, run.requested_by) == ("done", snapshot, None)


def test_it_prints_not_available_for_figures_nothing_measured(monkeypatch):
    known_families(monkeypatch, journey={}, touchpoints={}, pipeline={}, inquiries={})

    out, _err = run_command("--period", "2026-11-22")

    assert out.splitlines()[1:] == [
        "  journey      entered: n/a",
        "  pipeline     won n/a, lost n/a, win rate n/a, won n/a, stalled n/a",
        "  inquiries    n/a inquiries, first response n/a, resolution n/a, SLA first response n/a",
        "  touchpoints  won customers n/a, others n/a",
        "  bottleneck   none",
    ]


def test_it_computes_one_team(monkeypatch):
    known_families(monkeypatch)
    team = TeamFactory()

    out, _err = run_command("--period", "2026-W47", "--scope", "team", "--scope-key", str(team.pk))

    snapshot = KpiSnapshot.objects.get()
    assert (snapshot.period_start, snapshot.scope_kind, snapshot.scope_key) == (
        date(2026, 11, 16),
        "team",
        str(team.pk),
    )
    assert out.splitlines()[0] == (
        f"2026-W47 team {team.pk}: snapshot {snapshot.pk} in 250 ms (definition 1)"
    )


def test_it_computes_every_scope(monkeypatch):
    calls = known_families(monkeypatch)
    sales = TeamFactory(kind=Team.Kind.SALES)
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)

    out, _err = run_command("--period", "2026-11", "--all-scopes")

    assert sorted(KpiSnapshot.objects.values_list("scope_kind", "scope_key")) == [
        ("all", ""),
        ("campaign", str(campaign.pk)),
        ("team", str(sales.pk)),
    ]
    assert len(calls) == 3 * 4
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == [
        "2026-11 all",
        f"2026-11 team {sales.pk}",
        f"2026-11 campaign {campaign.pk}",
    ]


def test_it_computes_the_nightly_set_in_this_process(monkeypatch):
    known_families(monkeypatch)

    run_command("--nightly", "--today", "2026-11-19")

    assert sorted(
        snapshots.period_of(snapshot).label for snapshot in KpiSnapshot.objects.all()
    ) == ["2026-11", "2026-11-18", "2026-W47"]
    assert set(KpiRun.objects.values_list("status", flat=True)) == {"done"}


def test_running_it_twice_keeps_one_snapshot(monkeypatch):
    known_families(monkeypatch)

    run_command("--period", "2026-11")
    run_command("--period", "2026-11")

    assert KpiSnapshot.objects.count() == 1
    assert KpiRun.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--period", "2026-13"],
            "Invalid period.\n'2026-13' is not a period: use 2026-11-22, 2026-W47, 2026-11 or "
            "2026-01-01..2026-03-31 (month must be in 1..12).",
        ),
        ([], "Give --period (e.g. 2026-11) or --nightly."),
        (
            ["--period", "2026-11", "--scope", "galaxy"],
            "Invalid scope.\n'galaxy' is not one of all, team, rep, campaign, channel, segment.",
        ),
        (
            ["--period", "2026-11", "--scope", "team"],
            "Invalid scope.\nGive a key for a team, rep, campaign, channel or segment, none for "
            "all.",
        ),
        (
            ["--nightly", "--period", "2026-11"],
            "--nightly chooses its own periods: leave out --period.",
        ),
        (["--nightly", "--today", "someday"], "--today: 'someday' is not a date."),
        (
            ["--period", "2026-11", "--all-scopes", "--scope", "team", "--scope-key", "1"],
            "--all-scopes computes every scope: leave out --scope.",
        ),
    ],
)
def test_it_refuses_bad_arguments_with_a_clear_message(args, message):
    with pytest.raises(CommandError) as refused:
        run_command(*args)

    assert str(refused.value) == message
    assert refused.value.returncode == 1
    assert not KpiRun.objects.exists()


def test_a_bad_period_exits_non_zero_from_the_command_line(capsys):
    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "compute_kpis", "--period", "2026-13"])

    assert exited.value.code == 1
    assert capsys.readouterr().err.startswith("CommandError: Invalid period.\n'2026-13'")


def test_a_failing_family_fails_the_command_after_the_other_scopes(monkeypatch):
    known_families(monkeypatch)
    team = TeamFactory(kind=Team.Kind.SUPPORT)

    def broken_for_the_team(period, scope):
        if scope.kind == "team":
            raise ZeroDivisionError("division by zero")
        return {}

    monkeypatch.setitem(snapshots.engine.FAMILIES, "inquiries", broken_for_the_team)

    with pytest.raises(CommandError) as failed:
        run_command("--period", "2026-11", "--all-scopes")

    assert str(failed.value) == (
        f"1 of 2 computations failed:\n2026-11 team {team.pk}: ZeroDivisionError: division by zero"
    )
    assert list(KpiSnapshot.objects.values_list("scope_kind", flat=True)) == ["all"]
    assert sorted(KpiRun.objects.values_list("scope_kind", "status")) == [
        ("all", "done"),
        ("team", "failed"),
    ]


def test_an_unknown_team_fails_with_the_reason(monkeypatch):
    known_families(monkeypatch)

    with pytest.raises(CommandError) as failed:
        run_command("--period", "2026-11", "--scope", "team", "--scope-key", "999")

    assert str(failed.value) == (
        "1 of 1 computations failed:\n2026-11 team 999: ApplicationError: Invalid scope. "
        "There is no team '999'."
    )
    assert not KpiRun.objects.exists()
