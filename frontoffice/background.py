"""What every app's Celery tasks share: the retry policy for transient database errors, the
`now` argument (an ISO 8601 moment with its offset) that lets a rerun compute a past moment, and
the one way to schedule a task so that a broker outage neither fails the request nor loses the
work (the outbox)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from celery import Task
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from frontoffice.celery import app
from frontoffice.models import OutboxTask

logger = logging.getLogger(__name__)

# Retried: a locked SQLite file, a dropped connection or a deadlock. Anything else
# (a bug, bad data) would fail the same way again.
TASK_OPTIONS = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 3,
}

# What a response says when the work it scheduled waits in the outbox.
KEPT_DETAIL = "The task queue is unreachable: the work is kept and will be sent when it is back."


def task_moment(now: str | None) -> datetime:
    """The moment a task computes for: `now` (ISO 8601 with an offset) or the current time."""
    at = datetime.fromisoformat(now) if now else timezone.now()
    if timezone.is_naive(at):
        raise ValueError(f"`now` needs a time zone offset, got {now!r}")
    return at


# --- Scheduling that survives a broker outage ---------------------------------------------------

# The names of the tasks kept in the outbox while `tasks_kept()` watches (one list per request).
_kept_here: ContextVar[list[str] | None] = ContextVar("frontoffice_tasks_kept", default=None)


def schedule(
    task: Task,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    robust: bool = False,
) -> None:
    """Send `task` to the workers once the current transaction commits (at once outside one),
    so a worker never looks for rows not yet committed. When the broker is unreachable the task
    is kept in the outbox and sent by ``send_kept_tasks`` once it is back; the request goes on.
    `robust`: an error of the task itself (it runs in-process when no broker is configured) is
    logged instead of raised."""
    args, kwargs = list(args), dict(kwargs or {})
    transaction.on_commit(lambda: publish(task, args, kwargs), robust=robust)


def publish(task: Task, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None) -> bool:
    """Send `task` now: True when the broker took it (or, with no broker, it ran in-process),
    False when the broker is unreachable and the task was kept in the outbox."""
    try:
        _send(task.name, args, kwargs)
    except BrokerError as exc:
        logger.warning("task broker unreachable: %s kept in the outbox (%s)", task.name, exc)
        OutboxTask.objects.create(
            task=task.name, args=list(args), kwargs=dict(kwargs or {}), last_error=str(exc)[:2000]
        )
        kept = _kept_here.get()
        if kept is not None:
            kept.append(task.name)
        return False
    return True


def _send(name: str, args: Sequence[Any], kwargs: dict[str, Any] | None) -> None:
    task = app.tasks.get(name)
    # ignore_result: nobody waits for these results. With the Redis result backend, a call that
    # may be waited for subscribes to its result first, and with Redis down that retries for
    # about 20 s and raises RuntimeError instead of failing fast with a broker error.
    if task is None:
        app.send_task(name, list(args), dict(kwargs or {}), ignore_result=True)
    else:
        task.apply_async(list(args), dict(kwargs or {}), ignore_result=True)


@contextmanager
def tasks_kept() -> Iterator[list[str]]:
    """Collect the names of the tasks kept in the outbox while the block runs (its commits
    included), so a view can tell the user the work waits for the task queue."""
    kept: list[str] = []
    token = _kept_here.set(kept)
    try:
        yield kept
    finally:
        _kept_here.reset(token)


def send_kept_tasks(*, limit: int = 500) -> dict[str, int]:
    """Send the tasks kept in the outbox, oldest first, and forget those the broker took. Stops
    at the first broker error (still down) and counts the attempt on the rest.

    The rows are locked (skipping rows another sender holds), so two runs never send the same
    row; publishing happens while they are locked, so a crash before the delete sends them again
    next time: at least once, which the tasks allow (they are idempotent)."""
    sent: list[int] = []
    with transaction.atomic():
        rows = list(OutboxTask.objects.select_for_update(skip_locked=True).order_by("id")[:limit])
        for row in rows:
            try:
                _send(row.task, row.args, row.kwargs)
            except BrokerError as exc:
                unsent = [other.pk for other in rows[len(sent) :]]
                OutboxTask.objects.filter(pk__in=unsent).update(
                    attempts=F("attempts") + 1, last_error=str(exc)[:2000]
                )
                break
            sent.append(row.pk)
        OutboxTask.objects.filter(pk__in=sent).delete()
    return {"sent": len(sent), "kept": OutboxTask.objects.count()}
