"""The active SLA policies and assignment rules, read once and kept in the cache.

Every new inquiry needs both, and they change a few times a year, so reading them on each
inquiry was two queries for nothing. Saving or deleting one drops the cached copy (receivers
connected in apps.py; again after commit, so a reader during the admin's transaction cannot
keep the old rules), and the copy expires after ``TTL`` seconds anyway: with a cache local to
each process (the embedded default) another process's drop is not seen, so production sets
``CACHE_URL`` to the shared Redis. Where a row is locked and updated (the round-robin cursor)
it is read afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from inquiries.models import AssignmentRule, SlaPolicy

KEY = "inquiries:rulebook:1"
TTL = 60


@dataclass(frozen=True)
class Rulebook:
    policies: tuple[SlaPolicy, ...]
    # In the order they are tried: by position, then id.
    rules: tuple[AssignmentRule, ...]


def rulebook() -> Rulebook:
    """The active policies and rules (from the cache when it has them)."""
    book = cache.get(KEY)
    if book is None:
        book = Rulebook(
            policies=tuple(SlaPolicy.objects.filter(is_active=True).order_by("id")),
            rules=tuple(
                AssignmentRule.objects.filter(is_active=True)
                .select_related("team")
                .order_by("position", "id")
            ),
        )
        cache.set(KEY, book, TTL)
    return book


def rulebook_forget(**_signal) -> None:
    """Drop the cached rules now and once more when the current transaction commits."""
    cache.delete(KEY)
    transaction.on_commit(lambda: cache.delete(KEY))
