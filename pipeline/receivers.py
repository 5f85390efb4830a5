"""What pipeline does when accounts announces something (connected in PipelineConfig.ready)."""

from __future__ import annotations

import logging

from django.dispatch import receiver
from kombu.exceptions import OperationalError as BrokerUnavailable

from accounts.signals import touchpoints_recorded
from pipeline.tasks import rescore_contacts

logger = logging.getLogger(__name__)


@receiver(touchpoints_recorded, dispatch_uid="pipeline.rescore_on_touchpoints")
def rescore_on_touchpoints(sender, contact_ids: list[int], **kwargs) -> None:
    # Sent after the touchpoints committed, so the worker sees them.
    try:
        rescore_contacts.delay(list(contact_ids))
    except BrokerUnavailable:  # the touchpoints are stored; the nightly rescore catches up
        logger.warning("broker unavailable: %d contacts rescored tonight", len(contact_ids))
