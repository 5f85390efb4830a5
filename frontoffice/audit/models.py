"""One row per change of a customer, deal or inquiry (imported in ``frontoffice.models``)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    CREATE = "create", _("Create")
    UPDATE = "update", _("Update")
    DELETE = "delete", _("Delete")
    STATE_CHANGE = "state_change", _("State change")
    MERGE = "merge", _("Merge")
    ASSIGN = "assign", _("Assign")
    ESCALATE = "escalate", _("Escalate")
    IMPORT = "import", _("Import (one entry per batch)")


class AuditEntry(models.Model):
    """Who (`actor`, or a label such as "system") did what (`action`) to which record (`target_*`)
    and how its fields changed (`changes`: ``{field: [old, new]}``). Written by services only."""

    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The user name at the time ("rep1", "rep1 (api token)"), or "system" / "anonymous request":
    # kept when the user is deleted.
    actor_label = models.CharField(_("by"), max_length=200)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    # Null only for a batch that is not one record (an import run without a run row).
    target_type = models.ForeignKey(
        ContentType,
        verbose_name=_("model"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    target_id = models.PositiveBigIntegerField(_("record id"), null=True, blank=True)
    target_repr = models.CharField(_("record"), max_length=200)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, default="")
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [
            models.Index(fields=["target_type", "target_id", "at"], name="audit_target_at_idx"),
            models.Index(fields=["actor", "at"], name="audit_actor_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values), name="audit_action_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.target_repr}"
