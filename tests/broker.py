"""Point this process's Celery app at a real broker for a block: a Redis a worker listens to, or
one that is down for real (a local port nobody listens on, held by a bound, never-listening
socket so no other process can take it: publishing fails exactly as when Redis is stopped)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

from frontoffice.celery import app


def _forget_connections() -> None:
    # The app keeps the connection and producer pools of the broker URL it first used; kombu
    # keeps every URL's pools in its own registry (not closed here: they are shared).
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker_at(url: str) -> Iterator[str]:
    """Run the block with tasks sent to `url` (not run eagerly); yields the URL."""
    # Celery reads CELERY_BROKER_URL from the environment before its configuration (CI sets
    # it), so the block sets the write and read URLs, which come first.
    names = ("broker_url", "broker_write_url", "broker_read_url", "task_always_eager")
    saved = {name: app.conf.get(name) for name in names}
    _forget_connections()
    app.conf.update(broker_url=url, broker_write_url=url, broker_read_url=url)
    app.conf.task_always_eager = False
    try:
        yield url
    finally:
        app.conf.update(saved)
        _forget_connections()


@contextmanager
def unreachable_broker() -> Iterator[str]:
    """Run the block with tasks sent to a Redis URL whose port refuses connections."""
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))
    try:
        with broker_at(f"redis://127.0.0.1:{closed.getsockname()[1]}/0") as url:
            yield url
    finally:
        closed.close()
