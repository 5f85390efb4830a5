"""What pipeline does when accounts announces something (connected in PipelineConfig.ready)."""

from __future__ import annotations

from django.dispatch import receiver

from accounts.signals import touchpoints_recorded
from frontoffice import background
from pipeline.tasks import rescore_contacts


@receiver(touchpoints_recorded, dispatch_uid="pipeline.rescore_on_touchpoints")
def rescore_on_touchpoints(sender, contact_ids: list[int], **kwargs) -> None:
    # Sent after the touchpoints committed, so the worker sees them; with the broker down the
    # rescoring waits in the outbox and the request that recorded them still succeeds.
    background.schedule(rescore_contacts, [list(contact_ids)])
