"""Inquiries and their messages: the customer experience's front line."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InquiryChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    CHAT = "chat", _("Chat")
    WEB_FORM = "web_form", _("Web form")
    SALES_REP = "sales_rep", _("Through a sales rep")
    SOCIAL = "social", _("Social media")


class InquiryStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending (waiting for the customer)")
    ESCALATED = "escalated", _("Escalated")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class InquiryPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


CHANNEL_VALUES = [value for value, _label in InquiryChannel.choices]
STATUS_VALUES = [value for value, _label in InquiryStatus.choices]
PRIORITY_VALUES = [value for value, _label in InquiryPriority.choices]


class Inquiry(models.Model):
    """One customer question or problem, whichever channel it came by. Its status changes only
    through ``inquiries.services`` (a history row per change)."""

    contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="inquiries",
    )
    account = models.ForeignKey(
        "accounts.Account",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="inquiries",
        null=True,
        blank=True,
    )
    channel = models.CharField(_("channel"), max_length=20, choices=InquiryChannel.choices)
    subject = models.CharField(_("subject"), max_length=300)
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    priority = models.CharField(
        _("priority"),
        max_length=10,
        choices=InquiryPriority.choices,
        default=InquiryPriority.NORMAL,
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=InquiryStatus.choices,
        default=InquiryStatus.NEW,
        editable=False,
    )
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        on_delete=models.PROTECT,
        related_name="inquiries",
        null=True,
        blank=True,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        related_name="assigned_inquiries",
        null=True,
        blank=True,
        editable=False,
    )
    # The sales rep who logged it for the customer (channel sales_rep); kept informed.
    source_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by sales rep"),
        on_delete=models.SET_NULL,
        related_name="logged_inquiries",
        null=True,
        blank=True,
    )
    deal = models.ForeignKey(
        "pipeline.Deal",
        verbose_name=_("related deal"),
        on_delete=models.SET_NULL,
        related_name="inquiries",
        null=True,
        blank=True,
    )
    # Chat: the provider's conversation id (one conversation is one inquiry).
    inbound_channel = models.ForeignKey(
        "inquiries.InboundChannel",
        verbose_name=_("inbound channel"),
        on_delete=models.SET_NULL,
        related_name="inquiries",
        null=True,
        blank=True,
    )
    conversation_id = models.CharField(_("conversation id"), max_length=200, blank=True, default="")
    sla_policy = models.ForeignKey(
        "inquiries.SlaPolicy",
        verbose_name=_("SLA policy"),
        on_delete=models.SET_NULL,
        related_name="inquiries",
        null=True,
        blank=True,
    )
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first responded at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    last_message_at = models.DateTimeField(_("last message at"), default=timezone.now)
    # An id in the system the inquiry was imported from (e.g. a ticket id).
    external_id = models.CharField(_("external id"), max_length=64, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")
        permissions = [
            ("assign_inquiry", "Can assign and reassign inquiries"),
            ("answer_inquiry", "Can answer inquiries and change their status"),
            ("escalate_inquiry", "Can escalate inquiries"),
            ("view_all_inquiries", "Can see every inquiry"),
            ("view_team_inquiries", "Can see the inquiries of one's teams"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=CHANNEL_VALUES), name="inquiry_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=STATUS_VALUES), name="inquiry_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(priority__in=PRIORITY_VALUES), name="inquiry_priority_valid"
            ),
            # One inquiry per conversation at a time: after it is closed, the customer writing
            # again in the same conversation opens a new one.
            models.UniqueConstraint(
                fields=["inbound_channel", "conversation_id"],
                condition=~Q(conversation_id="") & ~Q(status="closed"),
                name="inquiry_one_open_per_conversation",
            ),
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~Q(external_id=""),
                name="inquiry_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="inquiry_list_idx"),
            models.Index(fields=["team", "status"], name="inquiry_team_status_idx"),
            models.Index(fields=["assignee", "status"], name="inquiry_assignee_status_idx"),
            models.Index(fields=["contact", "-created_at"], name="inquiry_contact_idx"),
            models.Index(fields=["status", "first_response_due_at"], name="inquiry_frt_due_idx"),
            models.Index(fields=["status", "resolution_due_at"], name="inquiry_res_due_idx"),
            models.Index(fields=["channel", "created_at"], name="inquiry_channel_idx"),
            # Response and resolution times of a period (frontoffice.kpis.inquiries).
            models.Index(fields=["first_responded_at"], name="inquiry_first_responded_idx"),
            models.Index(fields=["resolved_at"], name="inquiry_resolved_idx"),
        ]

    def __str__(self) -> str:
        return f"[#{self.pk}] {self.subject}"


class InquiryStatusChange(models.Model):
    inquiry = models.ForeignKey(
        Inquiry, verbose_name=_("inquiry"), on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(
        _("from status"), max_length=20, choices=InquiryStatus.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=20, choices=InquiryStatus.choices)
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    note = models.CharField(_("note"), max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("inquiry status change")
        verbose_name_plural = _("inquiry status changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(from_status__in=["", *STATUS_VALUES]),
                name="inquiry_change_from_valid",
            ),
            models.CheckConstraint(
                condition=Q(to_status__in=STATUS_VALUES), name="inquiry_change_to_valid"
            ),
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")),
                name="inquiry_change_status_changes",
            ),
        ]
        indexes = [
            models.Index(fields=["to_status", "created_at"], name="inquiry_change_to_idx"),
            models.Index(fields=["inquiry", "created_at"], name="inquiry_change_inquiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.inquiry_id}: {self.from_status or '∅'} → {self.to_status}"


class InquiryAssignment(models.Model):
    """One (re)assignment: who had it, who has it now, by whom or by which rule."""

    inquiry = models.ForeignKey(
        Inquiry, verbose_name=_("inquiry"), on_delete=models.CASCADE, related_name="assignments"
    )
    from_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("from assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    to_assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("to assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    team = models.ForeignKey(
        "accounts.Team",
        verbose_name=_("team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    rule = models.ForeignKey(
        "inquiries.AssignmentRule",
        verbose_name=_("rule"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assignments",
    )
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("inquiry assignment")
        verbose_name_plural = _("inquiry assignments")
        indexes = [models.Index(fields=["inquiry", "created_at"], name="inquiry_assign_idx")]

    def __str__(self) -> str:
        return f"{self.inquiry_id}: {self.from_assignee_id} → {self.to_assignee_id}"


class MessageDirection(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("To the customer")
    NOTE = "note", _("Internal note")


class Message(models.Model):
    """One exchange in an inquiry. Inbound and outbound messages are customer-visible and land
    on the customer's timeline; internal notes do not."""

    class Delivery(models.TextChoices):
        NOT_APPLICABLE = "", _("Not applicable")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    inquiry = models.ForeignKey(
        Inquiry, verbose_name=_("inquiry"), on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(_("direction"), max_length=10, choices=MessageDirection.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=InquiryChannel.choices)
    author_contact = models.ForeignKey(
        "accounts.Contact",
        verbose_name=_("from contact"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("from staff"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    subject = models.CharField(_("subject"), max_length=300, blank=True, default="")
    body = models.TextField(_("body"), blank=True, default="")
    created_at = models.DateTimeField(_("at"), default=timezone.now)
    # [{"filename": ..., "content_type": ..., "size": bytes}]
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    # Email threading: our or the sender's Message-ID, and what it answered.
    email_message_id = models.CharField(_("Message-ID"), max_length=500, blank=True, default="")
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=500, blank=True, default="")
    references = models.TextField(_("References"), blank=True, default="")
    is_auto_reply = models.BooleanField(_("automatic reply"), default=False)
    delivery = models.CharField(
        _("delivery"), max_length=10, choices=Delivery.choices, blank=True, default=""
    )
    touchpoint = models.OneToOneField(
        "accounts.Touchpoint",
        verbose_name=_("timeline entry"),
        on_delete=models.SET_NULL,
        related_name="inquiry_message",
        null=True,
        blank=True,
        editable=False,
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=["inbound", "outbound", "note"]),
                name="message_direction_valid",
            ),
            models.UniqueConstraint(
                fields=["email_message_id"],
                condition=~Q(email_message_id=""),
                name="message_email_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["inquiry", "created_at", "id"], name="message_thread_idx"),
            models.Index(fields=["direction", "created_at"], name="message_direction_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.created_at:%Y-%m-%d %H:%M}"


class PhoneCall(models.Model):
    """The call details of a phone message an agent logged."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Incoming")
        OUTBOUND = "outbound", _("Outgoing")

    class Outcome(models.TextChoices):
        ANSWERED = "answered", _("Answered")
        NO_ANSWER = "no_answer", _("No answer")
        VOICEMAIL = "voicemail", _("Voicemail")
        CALLBACK = "callback", _("Callback requested")

    message = models.OneToOneField(
        Message, verbose_name=_("message"), on_delete=models.CASCADE, related_name="phone_call"
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    duration_seconds = models.PositiveIntegerField(
        _("duration (seconds)"), validators=[MaxValueValidator(24 * 3600)]
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)

    class Meta:
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")

    def __str__(self) -> str:
        return f"{self.get_direction_display()} call, {self.duration_seconds}s"
