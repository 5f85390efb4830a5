"""KPI computation in the background. Tasks take period labels and ids and are safe to run twice:
a rerun replaces the same snapshot (one per period and scope)."""

from __future__ import annotations

import os
import time
from datetime import date, timedelta

from django.db import InterfaceError, OperationalError
from django.utils import timezone

from frontoffice import background
from frontoffice.celery import app
from frontoffice.kpis import snapshots
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import ScopeKind

# Retried: a locked SQLite file, a dropped connection, a deadlock or a serialization failure.
# Anything else (a bug, bad data) would fail the same way again.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_RETRIES = 3

# Test hook, read only here: seconds to sleep after each family, so the real-worker test can
# kill a worker in the middle of a computation. Unset (0) everywhere else.
TEST_DELAY_VARIABLE = "FRONTOFFICE_KPI_TEST_DELAY"


def _test_delay(_family: str, _seconds: float) -> None:
    delay = float(os.environ.get(TEST_DELAY_VARIABLE) or 0)
    if delay > 0:
        time.sleep(delay)


# Bound to the project's app, not `shared_task`: a test that creates another Celery app (a
# sender) makes that one "current", and a shared task would then publish through it.
@app.task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=True,
    max_retries=MAX_RETRIES,
    time_limit=20 * 60,
    soft_time_limit=18 * 60,
)
def compute_kpis(
    self, period: str, scope_kind: str = "all", scope_key: str = "", run_id: int | None = None
) -> dict:
    """Compute and store the snapshot of `period` (``2026-11``, ``2026-W47``, ``2026-11-22``,
    ``a..b``) and the scope; with `run_id`, through that run (marked running, done or failed)."""
    if run_id is not None:
        snapshot = snapshots.kpi_run_execute(
            run_id=run_id,
            on_family=_test_delay,
            retried=TRANSIENT_ERRORS if self.request.retries < MAX_RETRIES else (),
        )
        if snapshot is None:
            return {"run": run_id, "snapshot": None, "skipped": "already done"}
    else:
        snapshot = snapshots.snapshot_compute(
            period=Period.parse(period), scope=Scope(scope_kind, scope_key), on_family=_test_delay
        )
    return {"run": run_id, "snapshot": snapshot.pk, "duration_ms": snapshot.duration_ms}


def nightly_periods(today: date) -> list[Period]:
    """Yesterday, and the week and the month of yesterday and of today: the night after a
    week or a month ends completes it, and the new one starts."""
    yesterday = today - timedelta(days=1)
    periods = [
        Period.day(yesterday),
        Period.week_of(yesterday),
        Period.week_of(today),
        Period.month_of(yesterday),
        Period.month_of(today),
    ]
    return list(dict.fromkeys(periods))


def nightly_scopes() -> list[Scope]:
    """Everything, each sales and support team, each active campaign."""
    from accounts.models import Team
    from pipeline.models import Campaign

    teams = Team.objects.filter(kind__in=[Team.Kind.SALES, Team.Kind.SUPPORT]).order_by("pk")
    campaigns = Campaign.objects.filter(status=Campaign.Status.ACTIVE).order_by("pk")
    return [
        Scope(),
        *(Scope(ScopeKind.TEAM, str(pk)) for pk in teams.values_list("pk", flat=True)),
        *(Scope(ScopeKind.CAMPAIGN, str(pk)) for pk in campaigns.values_list("pk", flat=True)),
    ]


@app.task(acks_late=True, time_limit=5 * 60, soft_time_limit=4 * 60)
def compute_nightly_kpis(today: str | None = None) -> dict[str, int]:
    """Queue one run per nightly period and scope (`today` ISO date; default: the local date)."""
    day = date.fromisoformat(today) if today else timezone.localdate()
    queued, scopes = 0, nightly_scopes()
    for period in nightly_periods(day):
        for scope in scopes:
            snapshots.kpi_run_queue(period=period, scope=scope, actor=None)
            queued += 1
    return {"queued": queued}


@app.task(acks_late=True, time_limit=5 * 60, soft_time_limit=4 * 60)
def send_kept_tasks(limit: int = 500) -> dict[str, int]:
    """Send the tasks kept in the outbox while the broker was unreachable (every minute)."""
    return background.send_kept_tasks(limit=limit)
