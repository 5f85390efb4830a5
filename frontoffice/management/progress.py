"""What the import and compute commands share: a progress bar fed by phases, and turning a
service's refusal into the command's error (its message and every field message, exit 1)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError
from tqdm import tqdm

from frontoffice.errors import ApplicationError

Progress = Callable[[str, int, int], None]


@contextmanager
def phase_progress(
    *, unit: str, hidden: bool, total: int | None = None, first_phase: str = "importing"
) -> Iterator[Progress]:
    """A tqdm bar on stderr (never when `hidden` or stderr is not a terminal), and the
    `progress(phase, done, total)` callback the services call."""
    with tqdm(
        total=total,
        desc=first_phase,
        unit=unit,
        file=sys.stderr,
        disable=hidden or not sys.stderr.isatty(),
    ) as bar:

        def progress(phase: str, done: int, total: int) -> None:
            bar.set_description(phase)
            bar.total = total
            bar.n = done
            bar.refresh()

        yield progress


def refusal(exc: ApplicationError) -> CommandError:
    """The command's error for a refused input: the message, then each field message a line."""
    details = [str(message) for messages in exc.errors.values() for message in messages]
    return CommandError("\n".join([exc.message, *details]))
