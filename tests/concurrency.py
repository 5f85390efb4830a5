"""Races on PostgreSQL: real threads, each with its own connection, released together.

SQLite serialises writers, so there is no race to show there; tests that use this skip on it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from celery._state import _set_task_join_will_block
from django.db import connection

from frontoffice.errors import ConflictError

POSTGRES_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL=postgres://…): SQLite serialises writers",
)


def all_at_once(
    act: Callable[[int, Any], Any],
    *,
    threads: int,
    prepare: Callable[[int], Any] | None = None,
    timeout: float = 60,
) -> list[Any]:
    """Run `act(i, prepare(i))` in `threads` threads, released together once all have prepared.
    Returns each thread's result or the ConflictError it raised; any other error fails the test.
    """
    barrier = threading.Barrier(threads)

    def run(index: int) -> Any:
        try:
            prepared = prepare(index) if prepare is not None else None
            barrier.wait(timeout=30)
            try:
                return act(index, prepared)
            except ConflictError as exc:
                return exc
        finally:
            connection.close()  # each thread opened its own connection

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(run, index) for index in range(threads)]
            return [future.result(timeout=timeout) for future in futures]
    finally:
        # Tasks run eagerly set Celery's process-wide "inside a task" flag and put back what they
        # found: interleaved in threads, the last one can leave it set, and every later
        # `result.get()` in this process would then refuse to run.
        _set_task_join_will_block(False)
