"""Background work on customers. Tasks take plain values and are safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import journey, services
from accounts.models import Contact, JourneyStage, Touchpoint
from frontoffice.errors import ConflictError


@shared_task(acks_late=True, time_limit=30 * 60, soft_time_limit=25 * 60)
def mark_dormant_contacts(days: int | None = None) -> dict[str, int]:
    """Move contacts with no touchpoint and no stage change for `days` days to `dormant`.

    Idempotent: a second run finds nothing left to move. Each move goes through
    ``journey_move`` so it writes its history row; a contact that changes meanwhile is skipped.
    """
    days = settings.FRONTOFFICE_DORMANT_AFTER_DAYS if days is None else days
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    cutoff = timezone.now() - timedelta(days=days)
    recent_touch = Touchpoint.objects.filter(contact=OuterRef("pk"), occurred_at__gte=cutoff)
    candidates = (
        Contact.objects.filter(stage__in=journey.FUNNEL, stage_changed_at__lt=cutoff)
        .exclude(Exists(recent_touch))
        .only("pk", "stage", "stage_changed_at")
        .order_by("pk")
    )
    moved = skipped = 0
    for contact in candidates.iterator(chunk_size=500):
        try:
            services.journey_move(
                contact=contact,
                to_stage=JourneyStage.DORMANT,
                cause=f"no activity for {days} days",
            )
            moved += 1
        except ConflictError:
            skipped += 1
    return {"moved": moved, "skipped": skipped}
