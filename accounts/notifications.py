"""Notifying staff: an inbox row per recipient, and an email after commit when they have an
address. Idempotent by key, so a task that runs twice (or two beat processes) notifies once."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from accounts.models import Notification

logger = logging.getLogger(__name__)


def notification_send(
    *,
    recipient,
    kind: str,
    key: str,
    subject: str,
    body: str = "",
    link: str = "",
    source: models.Model | None = None,
) -> Notification | None:
    """Store the notification and email it after commit; None when (recipient, key) was already
    notified."""
    notification = Notification(
        recipient=recipient,
        kind=kind,
        key=key[:200],
        subject=subject[:200],
        body=body,
        link=link[:500],
    )
    if source is not None:
        notification.source_type = ContentType.objects.get_for_model(source)
        notification.source_id = source.pk
    try:
        with transaction.atomic():
            notification.save()
    except IntegrityError:
        return None  # already notified under this key
    if getattr(recipient, "email", ""):
        transaction.on_commit(lambda: _email(notification.pk))
    return notification


def notifications_send(
    *, recipients: Iterable, kind: str, key: str, subject: str, body: str = "", **extra
) -> list[Notification]:
    """The same notification to several people (each once); returns the ones newly sent."""
    sent = []
    seen: set[int] = set()
    for recipient in recipients:
        if recipient is None or recipient.pk in seen:
            continue
        seen.add(recipient.pk)
        notification = notification_send(
            recipient=recipient, kind=kind, key=key, subject=subject, body=body, **extra
        )
        if notification is not None:
            sent.append(notification)
    return sent


def _email(notification_id: int) -> None:
    notification = (
        Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    )
    if notification is None or notification.emailed_at is not None:
        return
    # Claim the row first: a second sender (a retried task) finds it taken and sends nothing.
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return
    try:
        send_mail(
            notification.subject,
            notification.body or notification.subject,
            settings.DEFAULT_FROM_EMAIL,
            [notification.recipient.email],
        )
    except OSError:  # SMTP down: the inbox row stays; the email is not retried
        logger.warning("could not email notification %s", notification_id, exc_info=True)
        Notification.objects.filter(pk=notification_id).update(emailed_at=None)


def notification_mark_read(*, recipient, ids: Iterable[int] | None = None) -> int:
    """Mark the recipient's notifications read (all unread ones when `ids` is None)."""
    queryset = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if ids is not None:
        queryset = queryset.filter(pk__in=list(ids))
    return queryset.update(read_at=timezone.now())
