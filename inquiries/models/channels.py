"""Inbound channels: keys for chat providers and web forms, the IMAP cursor, and the quarantine
where an email that could not be read waits for a human."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_channel_key() -> str:
    return secrets.token_urlsafe(32)


class InboundChannel(models.Model):
    """A chat widget/provider or a public web form; its key authenticates it (not a user)."""

    class Kind(models.TextChoices):
        CHAT = "chat", _("Chat")
        WEB_FORM = "web_form", _("Web form")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    key = models.CharField(_("key"), max_length=64, unique=True, default=new_channel_key)
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("default team"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    category = models.CharField(_("default category"), max_length=100, blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("inbound channel")
        verbose_name_plural = _("inbound channels")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["chat", "web_form"]), name="inbound_channel_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class QuarantinedEmail(models.Model):
    """An inbound email that could not be turned into a message, kept raw (never lost)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        REPROCESSED = "reprocessed", _("Reprocessed")
        DISCARDED = "discarded", _("Discarded")

    class Source(models.TextChoices):
        WEBHOOK = "webhook", _("Inbound webhook")
        IMAP = "imap", _("IMAP mailbox")

    raw = models.BinaryField(_("raw message"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    error = models.TextField(_("error"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    reprocessed_at = models.DateTimeField(_("reprocessed at"), null=True, blank=True)
    reprocessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reprocessed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.ForeignKey(
        "inquiries.Message",
        verbose_name=_("resulting message"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("quarantined email")
        verbose_name_plural = _("quarantined emails")
        permissions = [("reprocess_quarantinedemail", "Can reprocess quarantined email")]
        indexes = [models.Index(fields=["status", "received_at"], name="quarantine_status_idx")]

    def __str__(self) -> str:
        return f"Quarantined {self.received_at:%Y-%m-%d %H:%M}"


class MailboxCursor(models.Model):
    """How far the IMAP poller has read a mailbox (UIDVALIDITY and the last UID taken)."""

    mailbox = models.CharField(_("mailbox"), max_length=300, unique=True)
    uid_validity = models.BigIntegerField(_("UIDVALIDITY"), default=0)
    last_uid = models.BigIntegerField(_("last UID"), default=0)
    polled_at = models.DateTimeField(_("polled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailbox cursor")
        verbose_name_plural = _("mailbox cursors")

    def __str__(self) -> str:
        return f"{self.mailbox} @ {self.last_uid}"
