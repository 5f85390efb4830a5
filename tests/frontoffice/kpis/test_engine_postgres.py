"""The engine's transaction on PostgreSQL (JIT off for its queries) and the benchmark's refusal
of SQLite (bench/kpis.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from frontoffice.kpis import engine
from frontoffice.kpis.periods import Period, Scope

ROOT = Path(__file__).resolve().parents[3]


def _jit_setting(period: Period, scope: Scope) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return {"jit": cursor.fetchone()[0]}


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="JIT is PostgreSQL's")
@pytest.mark.django_db
def test_it_turns_jit_off_for_the_families_only(monkeypatch):
    monkeypatch.setattr(engine, "FAMILIES", {"probe": _jit_setting})
    with connection.cursor() as cursor:
        cursor.execute("SET jit = on")

    values = engine.compute_families(Period.month_of(date(2026, 10, 1)), Scope())

    assert values == {"probe": {"jit": "off"}}
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "on"


def test_it_refuses_to_benchmark_on_sqlite():
    environment = {**os.environ, "DATABASE_URL": "sqlite:////tmp/kpibench-refused.sqlite3"}

    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "kpis.py"), "--scale", "0.001"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert "bench/kpis.py runs on PostgreSQL only" in result.stderr
    assert not Path("/tmp/kpibench-refused.sqlite3").exists()  # noqa: S108 - the path it was given
