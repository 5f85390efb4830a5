"""KPI family: pipeline (being written; see engine.py for its shape)."""

from __future__ import annotations

from frontoffice.kpis.periods import Period, Scope


def compute(period: Period, scope: Scope) -> dict:
    return {}
