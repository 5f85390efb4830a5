"""KPI snapshots and the runs that compute them.

A snapshot holds every family's figures and the bottleneck for one period and one scope; a run
is one request to compute one (from the API, the admin, the command or the nightly beat).
Computing reads only; the snapshot is written in one short transaction at the end, so a worker
killed half-way leaves the previous snapshot (or none) and never a partial one.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from frontoffice import background
from frontoffice.errors import ApplicationError
from frontoffice.kpis import bottleneck, engine
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import KpiRun, KpiSnapshot, ScopeKind

BROKER_DOWN_MESSAGE = (
    "The task queue is unreachable: the run stays queued and is sent to a worker when the "
    "queue is back."
)


def period_of(record: KpiSnapshot | KpiRun) -> Period:
    return Period(record.period_kind, record.period_start, record.period_end)


def scope_of(record: KpiSnapshot | KpiRun) -> Scope:
    return Scope(record.scope_kind, record.scope_key)


def snapshot_history(*, period: Period, scope: Scope, limit: int = bottleneck.HISTORY_PERIODS):
    """The scope's snapshots of the same period kind and definition before `period` (the last
    `limit`, oldest first): the bottleneck's baseline and the trends."""
    earlier = KpiSnapshot.objects.filter(
        period_kind=period.kind,
        scope_kind=scope.kind,
        scope_key=scope.key,
        period_end__lte=period.start,
        definition_version=engine.DEFINITION_VERSION,
    ).order_by("-period_start")[:limit]
    return list(reversed(earlier))


def snapshot_compute(
    *,
    period: Period,
    scope: Scope,
    run: KpiRun | None = None,
    on_family: Callable[[str, float], None] | None = None,
) -> KpiSnapshot:
    """Compute every family and the bottleneck for `period` and `scope` and store them as the
    one snapshot of that period and scope (replacing its values if it exists). `on_family` is
    called after each family with its name and seconds (progress bars). A family that raises
    leaves the stored snapshot as it was."""
    started = perf_counter()
    values = engine.compute_families(period, scope, on_family=on_family)
    history = [earlier.values for earlier in snapshot_history(period=period, scope=scope)]
    values["bottleneck"] = bottleneck.find(values, history, period_kind=period.kind)
    duration_ms = round((perf_counter() - started) * 1000)
    with transaction.atomic():
        snapshot, _created = KpiSnapshot.objects.update_or_create(
            period_start=period.start,
            period_end=period.end,
            scope_kind=scope.kind,
            scope_key=scope.key,
            defaults={
                "period_kind": period.kind,
                "definition_version": engine.DEFINITION_VERSION,
                "values": values,
                "computed_at": timezone.now(),
                "duration_ms": duration_ms,
            },
        )
        if run is not None:
            KpiRun.objects.filter(pk=run.pk).update(snapshot=snapshot)
            run.snapshot = snapshot
    return snapshot


def _check_scope_exists(scope: Scope) -> None:
    from accounts.models import TouchpointChannel
    from inquiries.models import InquiryChannel
    from pipeline.models import Campaign, LeadSegment

    known = {
        ScopeKind.TEAM: lambda: Team.objects.filter(pk=scope.id).exists(),
        ScopeKind.REP: lambda: get_user_model().objects.filter(pk=scope.id).exists(),
        ScopeKind.CAMPAIGN: lambda: Campaign.objects.filter(pk=scope.id).exists(),
        ScopeKind.CHANNEL: lambda: scope.key in {*TouchpointChannel.values, *InquiryChannel.values},
        ScopeKind.SEGMENT: lambda: scope.key in LeadSegment.values,
    }
    if scope.kind in known and not known[scope.kind]():
        message = f"There is no {scope.kind} {scope.key!r}."
        raise ApplicationError("Invalid scope.", errors={"scope_key": [message]})


def kpi_run_create(*, period: Period, scope: Scope, actor=None) -> KpiRun:
    """A queued run for `period` and `scope` (not sent to a worker: see ``kpi_run_queue``).
    Refuses a period that has not started and a team, rep or campaign that does not exist."""
    if period.start > timezone.localdate():
        message = f"{period.label} has not started yet: nothing to measure."
        raise ApplicationError("Invalid period.", errors={"period": [message]})
    _check_scope_exists(scope)
    return KpiRun.objects.create(
        period_kind=period.kind,
        period_start=period.start,
        period_end=period.end,
        scope_kind=scope.kind,
        scope_key=scope.key,
        requested_by=actor,
    )


def _send(run: KpiRun) -> None:
    from frontoffice.tasks import compute_kpis

    arguments = {
        "period": period_of(run).label,
        "scope_kind": run.scope_kind,
        "scope_key": run.scope_key,
        "run_id": run.pk,
    }
    # Kept in the outbox when the broker is down: the run says so until a worker takes it.
    if not background.publish(compute_kpis, kwargs=arguments):
        KpiRun.objects.filter(pk=run.pk, status=KpiRun.Status.QUEUED).update(
            error=BROKER_DOWN_MESSAGE
        )


def kpi_run_queue(*, period: Period, scope: Scope, actor=None) -> KpiRun:
    """Create a queued run and send ``compute_kpis`` for it once the transaction commits.
    If the broker is down the run stays queued, with the reason in its `error`, and the task
    waits in the outbox until the broker is back."""
    run = kpi_run_create(period=period, scope=scope, actor=actor)
    # robust: a failure to send (or, with no broker, of the eager run itself, which marks the
    # run failed) must not undo or fail the request that queued it.
    transaction.on_commit(lambda: _send(run), robust=True)
    return run


def _finish(run_id: int, *, status: str, error: str = "") -> None:
    KpiRun.objects.filter(pk=run_id).update(status=status, error=error, finished_at=timezone.now())


def kpi_run_execute(
    *,
    run_id: int,
    on_family: Callable[[str, float], None] | None = None,
    retried: tuple[type[Exception], ...] = (),
) -> KpiSnapshot | None:
    """Compute the snapshot of run `run_id`, marking it running, then done or failed.

    Safe to run twice: a run already done is left alone (returns None); a run left `running`
    by a worker that died is computed again. A failure is recorded and re-raised; an error of
    the `retried` types (transient, the caller tries again) leaves the run running.
    """
    run = KpiRun.objects.filter(pk=run_id).first()
    if run is None:
        raise ApplicationError(f"There is no KPI run {run_id}.", errors={"run": ["Not found."]})
    if run.status == KpiRun.Status.DONE:
        return None
    now = timezone.now()
    KpiRun.objects.filter(pk=run.pk).update(status=KpiRun.Status.RUNNING, started_at=now, error="")
    try:
        snapshot = snapshot_compute(
            period=period_of(run), scope=scope_of(run), run=run, on_family=on_family
        )
    # Any failure (a family's bug included) must show on the run; it is re-raised.
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, retried):
            KpiRun.objects.filter(pk=run.pk).update(error=f"Retrying after {error}")
        else:
            _finish(run.pk, status=KpiRun.Status.FAILED, error=error)
        raise
    _finish(run.pk, status=KpiRun.Status.DONE)
    return snapshot
