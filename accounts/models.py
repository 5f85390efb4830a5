"""Who is who: customers (Account, Contact), their journey and timeline, and staff teams.

Writes go through ``accounts.services``; reads through ``accounts.selectors``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


# --- Staff --------------------------------------------------------------------------------------


class Team(TimeStamped):
    class Kind(models.TextChoices):
        SALES = "sales", _("Sales")
        SUPPORT = "support", _("Support")
        SPECIALIST = "specialist", _("Specialist department")
        MARKETING = "marketing", _("Marketing")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("supervisor"),
        on_delete=models.PROTECT,
        related_name="supervised_teams",
        null=True,
        blank=True,
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="teams", blank=True
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [
            models.UniqueConstraint(Lower("name"), name="team_name_unique_ci"),
            models.CheckConstraint(
                condition=Q(kind__in=["sales", "support", "specialist", "marketing"]),
                name="team_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


# --- Customers ----------------------------------------------------------------------------------


class Account(TimeStamped):
    """An organisation we sell to or support."""

    class Size(models.TextChoices):
        MICRO = "1-9", _("1-9 employees")
        SMALL = "10-49", _("10-49 employees")
        MEDIUM = "50-249", _("50-249 employees")
        LARGE = "250-999", _("250-999 employees")
        ENTERPRISE = "1000+", _("1000+ employees")

    name = models.CharField(_("name"), max_length=200)
    # Lower-case host name without "www." (normalised by the service), unique when present.
    domain = models.CharField(_("domain"), max_length=253, blank=True, default="")
    industry = models.CharField(_("industry"), max_length=100, blank=True, default="")
    size = models.CharField(_("size"), max_length=10, choices=Size.choices, blank=True, default="")
    region = models.CharField(_("region"), max_length=100, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
        null=True,
        blank=True,
    )
    # Set once, by the first won deal (accounts.services.account_become_customer).
    customer_since = models.DateTimeField(
        _("customer since"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.UniqueConstraint(
                fields=["domain"], condition=~Q(domain=""), name="account_domain_unique"
            ),
            models.CheckConstraint(
                condition=Q(size__in=["", "1-9", "10-49", "50-249", "250-999", "1000+"]),
                name="account_size_valid",
            ),
        ]
        indexes = [
            models.Index(Lower("name"), name="account_name_lower_idx"),
            models.Index(fields=["name", "id"], name="account_name_id_idx"),
        ]
        permissions = [("merge_account", "Can merge duplicate accounts")]

    def __str__(self) -> str:
        return self.name


class JourneyStage(models.TextChoices):
    AWARENESS = "awareness", _("Awareness")
    LEAD = "lead", _("Lead")
    PROSPECT = "prospect", _("Prospect")
    CUSTOMER = "customer", _("Customer")
    PROMOTER = "promoter", _("Promoter")
    DORMANT = "dormant", _("Dormant")
    # A lost customer, not a lost deal (pipeline's "Lost"): translated apart.
    LOST = "lost", pgettext_lazy("journey stage", "Lost")


JOURNEY_STAGE_VALUES = [value for value, _label in JourneyStage.choices]


class Contact(TimeStamped):
    """A person: a lead, a deal's contact and an inquiry's sender are one Contact."""

    name = models.CharField(_("name"), max_length=200, blank=True, default="")
    # Lower-cased and stripped by the service; unique when present.
    email = models.EmailField(_("email"), max_length=254, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=40, blank=True, default="")
    # Digits in E.164 form ("+81312345678"), the key identity resolution matches on.
    phone_normalized = models.CharField(
        _("normalised phone"), max_length=20, blank=True, default="", editable=False
    )
    title = models.CharField(_("title"), max_length=120, blank=True, default="")
    department = models.CharField(_("department"), max_length=120, blank=True, default="")
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="contacts",
        null=True,
        blank=True,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
        null=True,
        blank=True,
    )
    stage = models.CharField(
        _("journey stage"),
        max_length=20,
        choices=JourneyStage.choices,
        default=JourneyStage.AWARENESS,
        editable=False,
    )
    stage_changed_at = models.DateTimeField(_("stage changed at"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        permissions = [
            ("move_journey_contact", "Can move a contact's journey stage"),
            ("merge_contact", "Can merge duplicate contacts"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="contact_email_unique"
            ),
            models.CheckConstraint(
                condition=Q(stage__in=JOURNEY_STAGE_VALUES), name="contact_stage_valid"
            ),
            models.CheckConstraint(
                condition=~Q(name="", email="", phone=""), name="contact_has_identity"
            ),
        ]
        indexes = [
            models.Index(fields=["phone_normalized"], name="contact_phone_idx"),
            models.Index(fields=["stage", "stage_changed_at"], name="contact_stage_idx"),
            models.Index(Lower("name"), name="contact_name_lower_idx"),
            # The default list order.
            models.Index(fields=["name", "id"], name="contact_name_id_idx"),
            # "Contacts a user owns" as a subquery of the deal and inquiry scopes, read from the
            # index alone (the owner's 16,000 rows of a million were 16,000 random heap reads).
            models.Index(fields=["owner", "id"], name="contact_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone


class JourneyTransition(models.Model):
    """One move of a contact's journey stage: written with the move, in the same transaction."""

    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="journey_transitions",
    )
    from_stage = models.CharField(
        _("from stage"), max_length=20, choices=JourneyStage.choices, blank=True
    )
    to_stage = models.CharField(_("to stage"), max_length=20, choices=JourneyStage.choices)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    cause = models.CharField(_("cause"), max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("journey transition")
        verbose_name_plural = _("journey transitions")
        constraints = [
            models.CheckConstraint(
                condition=Q(from_stage__in=["", *JOURNEY_STAGE_VALUES]),
                name="journey_from_stage_valid",
            ),
            models.CheckConstraint(
                condition=Q(to_stage__in=JOURNEY_STAGE_VALUES), name="journey_to_stage_valid"
            ),
            models.CheckConstraint(
                condition=~Q(from_stage=models.F("to_stage")), name="journey_stage_changes"
            ),
        ]
        indexes = [
            models.Index(fields=["to_stage", "created_at"], name="journey_to_stage_idx"),
            models.Index(fields=["contact", "created_at"], name="journey_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.from_stage or '∅'} → {self.to_stage}"


class TouchpointKind(models.TextChoices):
    EVENT_VISIT = "event_visit", _("Event or exhibition visit")
    WEB_VISIT = "web_visit", _("Web visit")
    CONTENT_DOWNLOAD = "content_download", _("Content download")
    EMAIL = "email", _("Email")
    CALL = "call", _("Call")
    VISIT = "visit", _("Visit")
    MEETING = "meeting", _("Meeting")
    CHAT = "chat", _("Chat")
    INQUIRY_MESSAGE = "inquiry_message", _("Inquiry message")
    DEMO = "demo", _("Demo")
    PROPOSAL = "proposal", _("Proposal")
    DEAL_UPDATE = "deal_update", _("Deal update")
    QUOTE = "quote", _("Quote")
    ORDER = "order", _("Order")
    SURVEY = "survey", _("Survey")
    FORM = "form", _("Web form")
    NOTE = "note", _("Note")


class TouchpointChannel(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    WEB = "web", _("Web")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    SOCIAL = "social", _("Social")
    MAIL = "mail", _("Post")
    SALES_REP = "sales_rep", _("Through a sales rep")
    OTHER = "other", _("Other")


class Touchpoint(models.Model):
    """One interaction with a customer: the customer's timeline (contact history)."""

    kind = models.CharField(_("kind"), max_length=30, choices=TouchpointKind.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=TouchpointChannel.choices)
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        on_delete=models.CASCADE,
        related_name="touchpoints",
        null=True,
        blank=True,
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="touchpoints",
        null=True,
        blank=True,
    )
    # Lazy reference: accounts never imports pipeline code (docs/ARCHITECTURE.md).
    campaign = models.ForeignKey(
        "pipeline.Campaign",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="touchpoints",
        null=True,
        blank=True,
    )
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    summary = models.CharField(_("summary"), max_length=300, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handled by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    # The object that produced this touchpoint (a deal, a quote, an inquiry message, ...).
    source_type = models.ForeignKey(
        ContentType,
        verbose_name=_("source type"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source_id = models.PositiveBigIntegerField(_("source id"), null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(account__isnull=False),
                name="touchpoint_has_customer",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[value for value, _label in TouchpointKind.choices]),
                name="touchpoint_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=[value for value, _label in TouchpointChannel.choices]),
                name="touchpoint_channel_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["contact", "-occurred_at", "-id"], name="touchpoint_contact_time_idx"
            ),
            models.Index(
                fields=["account", "-occurred_at", "-id"], name="touchpoint_account_time_idx"
            ),
            models.Index(fields=["-occurred_at", "-id"], name="touchpoint_time_idx"),
            models.Index(fields=["kind", "occurred_at"], name="touchpoint_kind_time_idx"),
            models.Index(fields=["source_type", "source_id"], name="touchpoint_source_idx"),
            # Each contact's first / latest campaign touch (KPI attribution, frontoffice.kpis).
            models.Index(
                fields=["contact", "occurred_at", "id"],
                condition=Q(campaign__isnull=False) & ~Q(kind="order"),
                name="touchpoint_campaign_touch_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class CustomerMerge(models.Model):
    """Audit row of a merge: which duplicate went into which survivor, and what moved."""

    class Kind(models.TextChoices):
        CONTACT = "contact", _("Contact")
        ACCOUNT = "account", _("Account")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    survivor_contact = models.ForeignKey(
        Contact,
        verbose_name=_("surviving contact"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="merges_absorbed",
    )
    survivor_account = models.ForeignKey(
        Account,
        verbose_name=_("surviving account"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="merges_absorbed",
    )
    duplicate_id = models.PositiveBigIntegerField(_("duplicate id"))
    # The duplicate's email/phone keep resolving to the survivor after the merge.
    duplicate_email = models.CharField(
        _("duplicate's email"), max_length=254, blank=True, default="", db_index=True
    )
    duplicate_phone_normalized = models.CharField(
        _("duplicate's phone"),
        max_length=20,
        blank=True,
        default="",
        db_index=True,
    )
    duplicate_snapshot = models.JSONField(
        _("duplicate as it was"), default=dict, encoder=DjangoJSONEncoder
    )
    moved = models.JSONField(
        _("rows moved"), default=dict, help_text=_("Rows moved per related table.")
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="contact", survivor_contact__isnull=False, survivor_account__isnull=True)
                    | Q(
                        kind="account",
                        survivor_account__isnull=False,
                        survivor_contact__isnull=True,
                    )
                ),
                name="merge_survivor_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        survivor = self.survivor_contact_id or self.survivor_account_id
        return f"{self.kind} {self.duplicate_id} → {survivor}"


class Notification(models.Model):
    """A message to a staff member (in the app, and by email when they have an address).

    `key` makes a notification idempotent: the same (recipient, key) is stored and sent once, so
    a beat task that runs twice never notifies twice.
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=50)
    key = models.CharField(_("key"), max_length=200)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"), blank=True, default="")
    link = models.CharField(_("link"), max_length=500, blank=True, default="")
    source_type = models.ForeignKey(
        ContentType,
        verbose_name=_("source type"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source_id = models.PositiveBigIntegerField(_("source id"), null=True, blank=True)
    source = GenericForeignKey("source_type", "source_id")
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    emailed_at = models.DateTimeField(_("emailed at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_key")
        ]
        indexes = [
            models.Index(
                fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"
            ),
            models.Index(fields=["kind", "created_at"], name="notification_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}: {self.subject}"


class StaffPreference(models.Model):
    """A staff member's own settings for the workspace. An empty language follows the browser
    (Accept-Language); a chosen one wins over it on every device they sign in from."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="staff_preference",
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("Empty: the browser's language."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("staff preference")
        verbose_name_plural = _("staff preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language or 'browser'}"
