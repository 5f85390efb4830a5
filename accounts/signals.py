"""What accounts announces to the apps built on it (they subscribe; accounts imports none of them).

``touchpoints_recorded`` is sent after the transaction that wrote touchpoints commits, with the
ids of the contacts whose timeline changed, so e.g. lead scoring can recompute them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

touchpoints_recorded = Signal()  # kwargs: contact_ids: list[int]


def announce_touchpoints(contact_ids: Iterable[int | None]) -> None:
    ids = sorted({pk for pk in contact_ids if pk is not None})
    if ids:
        transaction.on_commit(lambda: touchpoints_recorded.send(sender="accounts", contact_ids=ids))
