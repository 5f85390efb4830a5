"""``manage.py compute_kpis``: compute KPI snapshots in this process, with a progress bar.

Each computation is recorded as a KPI run (like those queued from the API) and prints its
headline figures.
"""

from __future__ import annotations

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from frontoffice.errors import ApplicationError
from frontoffice.kpis import engine, snapshots
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import KpiSnapshot, ScopeKind
from frontoffice.tasks import nightly_periods, nightly_scopes


def _error_text(exc: ApplicationError) -> str:
    details = [message for messages in exc.errors.values() for message in messages]
    return "\n".join([exc.message, *details])


def _percent(rate) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def _minutes(figures: dict | None) -> str:
    median = (figures or {}).get("median")
    return "n/a" if median is None else f"{median} min"


def headline(snapshot: KpiSnapshot) -> list[str]:
    """A few lines of the snapshot's main figures (n/a where not measured)."""
    values = snapshot.values
    journey = values.get("journey") or {}
    pipeline = values.get("pipeline") or {}
    inquiries = values.get("inquiries") or {}
    touchpoints = values.get("touchpoints") or {}
    entered = ", ".join(
        f"{stage.get('stage')} {stage.get('entered')}" for stage in journey.get("stages") or []
    )
    won_amounts = ", ".join(
        f"{amount} {currency}" for currency, amount in (pipeline.get("won_amounts") or {}).items()
    )
    sla = ((inquiries.get("sla") or {}).get("first_response") or {}).get("rate")
    found = values.get("bottleneck")
    return [
        f"  journey      entered: {entered or 'n/a'}",
        f"  pipeline     won {pipeline.get('won', 'n/a')}, lost {pipeline.get('lost', 'n/a')}, "
        f"win rate {_percent(pipeline.get('win_rate'))}, won {won_amounts or 'n/a'}, "
        f"stalled {pipeline.get('stalled', 'n/a')}",
        f"  inquiries    {(inquiries.get('volume') or {}).get('total', 'n/a')} inquiries, "
        f"first response {_minutes(inquiries.get('first_response_minutes'))}, "
        f"resolution {_minutes(inquiries.get('resolution_minutes'))}, "
        f"SLA first response {_percent(sla)}",
        f"  touchpoints  won customers {touchpoints.get('won_customers', 'n/a')}, "
        f"others {touchpoints.get('others', 'n/a')}",
        f"  bottleneck   {found['text'] if found else 'none'}",
    ]


class Command(BaseCommand):
    help = (
        "Compute KPI snapshots now, in this process (no broker needed), replacing those of the "
        "same period and scope. --period takes 2026-11 (month), 2026-W47 (ISO week), "
        "2026-11-22 (day) or 2026-01-01..2026-03-31; the scope is everything unless --scope and "
        "--scope-key name a team, rep or campaign id, a channel or a segment. --all-scopes "
        "computes everything, each sales and support team and each active campaign; --nightly "
        "the nightly set (yesterday, this week, this month for all those scopes). Exits non-zero "
        "when an argument is wrong or a computation fails (the others still run)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", help="2026-11, 2026-W47, 2026-11-22 or a..b")
        parser.add_argument(
            "--scope", default=ScopeKind.ALL, help=f"one of {', '.join(ScopeKind.values)}"
        )
        parser.add_argument("--scope-key", default="", help="the id, channel or segment")
        parser.add_argument(
            "--all-scopes", action="store_true", help="all, each team, each active campaign"
        )
        parser.add_argument("--nightly", action="store_true", help="the nightly periods and scopes")
        parser.add_argument("--today", help="the day --nightly runs for (default: today)")
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar (off when not a TTY)"
        )

    def handle(self, *args, **options) -> None:
        try:
            work = self._work(options)
        except ApplicationError as exc:
            raise CommandError(_error_text(exc)) from exc
        hide_progress = options["no_progress"] or not sys.stderr.isatty()
        failures: list[str] = []
        with tqdm(
            total=len(work) * len(engine.FAMILIES),
            desc="computing",
            unit="family",
            file=sys.stderr,
            disable=hide_progress,
        ) as bar:
            for period, scope in work:
                name = f"{period.label} {scope.kind}{f' {scope.key}' if scope.key else ''}"

                def advance(family: str, _seconds: float, name=name) -> None:
                    bar.set_description(f"{name}: {family}")
                    bar.update(1)

                try:
                    run = snapshots.kpi_run_create(period=period, scope=scope)
                    snapshot = snapshots.kpi_run_execute(run_id=run.pk, on_family=advance)
                # A failed computation is reported (and recorded on its run); the others go on.
                except Exception as exc:
                    message = (
                        _error_text(exc).replace("\n", " ")
                        if isinstance(exc, ApplicationError)
                        else str(exc)
                    )
                    failures.append(f"{name}: {type(exc).__name__}: {message}")
                    self.stderr.write(self.style.ERROR(f"{name}: failed: {message}"))
                    continue
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{name}: snapshot {snapshot.pk} in {snapshot.duration_ms} ms "
                        f"(definition {snapshot.definition_version})"
                    )
                )
                self.stdout.write("\n".join(headline(snapshot)))
        if failures:
            raise CommandError(
                f"{len(failures)} of {len(work)} computations failed:\n" + "\n".join(failures)
            )

    def _work(self, options) -> list[tuple[Period, Scope]]:
        if options["nightly"]:
            if options["period"]:
                raise CommandError("--nightly chooses its own periods: leave out --period.")
            try:
                today = date.fromisoformat(options["today"]) if options["today"] else None
            except ValueError as exc:
                raise CommandError(f"--today: {options['today']!r} is not a date.") from exc
            periods, scopes = nightly_periods(today or timezone.localdate()), nightly_scopes()
            return [(period, scope) for period in periods for scope in scopes]
        if not options["period"]:
            raise CommandError("Give --period (e.g. 2026-11) or --nightly.")
        period = Period.parse(options["period"])
        if options["all_scopes"]:
            if options["scope"] != ScopeKind.ALL or options["scope_key"]:
                raise CommandError("--all-scopes computes every scope: leave out --scope.")
            return [(period, scope) for scope in nightly_scopes()]
        return [(period, Scope(options["scope"], options["scope_key"]))]
