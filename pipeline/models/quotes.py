"""Quotes: a small product catalogue, quotes with line items, a yearly number sequence."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Product(models.Model):
    """What we sell: one catalogue line a quote can offer."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    series = models.CharField(_("series"), max_length=100, blank=True, default="")
    unit_price = models.DecimalField(
        _("list price"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    currency = models.CharField(_("currency"), max_length=3, default="JPY")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="product_price_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.name


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")


QUOTE_STATUS_VALUES = [value for value, _label in QuoteStatus.choices]


class QuoteNumberSequence(models.Model):
    """The last quote number issued in a year; the row is locked while the next is taken."""

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)

    class Meta:
        verbose_name = _("quote number sequence")
        verbose_name_plural = _("quote number sequences")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Quote(models.Model):
    """A priced offer on a deal. Totals are computed by the service from the lines."""

    deal = models.ForeignKey(
        "pipeline.Deal", verbose_name=_("deal"), on_delete=models.PROTECT, related_name="quotes"
    )
    year = models.PositiveSmallIntegerField(_("year"), editable=False)
    sequence = models.PositiveIntegerField(_("sequence"), editable=False)
    number = models.CharField(_("number"), max_length=30, unique=True, editable=False)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=QuoteStatus.choices,
        default=QuoteStatus.DRAFT,
        editable=False,
    )
    currency = models.CharField(_("currency"), max_length=3)
    tax_rate = models.DecimalField(
        _("tax rate"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("0.1000 = 10%"),
    )
    subtotal = models.DecimalField(
        _("subtotal"), max_digits=16, decimal_places=2, default=Decimal("0"), editable=False
    )
    discount_total = models.DecimalField(
        _("discount"), max_digits=16, decimal_places=2, default=Decimal("0"), editable=False
    )
    tax_total = models.DecimalField(
        _("tax"), max_digits=16, decimal_places=2, default=Decimal("0"), editable=False
    )
    total = models.DecimalField(
        _("total"), max_digits=16, decimal_places=2, default=Decimal("0"), editable=False
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        permissions = [
            ("send_quote", "Can send a quote"),
            ("decide_quote", "Can record a quote's acceptance or rejection"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="quote_number_per_year"),
            models.CheckConstraint(
                condition=Q(status__in=QUOTE_STATUS_VALUES), name="quote_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=1), name="quote_tax_rate_range"
            ),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="quote_list_idx"),
            models.Index(fields=["deal", "status"], name="quote_deal_status_idx"),
            models.Index(fields=["status", "valid_until"], name="quote_status_valid_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="lines"
    )
    position = models.PositiveSmallIntegerField(_("position"))
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="quote_lines"
    )
    description = models.CharField(_("description"), max_length=300, blank=True, default="")
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    discount_percent = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    # quantity x unit price - discount, rounded to the currency's minor unit by the service.
    line_total = models.DecimalField(
        _("line total"), max_digits=16, decimal_places=2, editable=False
    )

    class Meta:
        ordering = ["quote", "position"]
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        constraints = [
            models.UniqueConstraint(fields=["quote", "position"], name="quote_line_position"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quote_line_quantity_pos"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="quote_line_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0) & Q(discount_percent__lte=100),
                name="quote_line_discount_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quote_id} #{self.position}"


class QuoteStatusChange(models.Model):
    quote = models.ForeignKey(
        Quote, verbose_name=_("quote"), on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(
        _("from status"), max_length=10, choices=QuoteStatus.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=10, choices=QuoteStatus.choices)
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
        verbose_name = _("quote status change")
        verbose_name_plural = _("quote status changes")
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_status=models.F("to_status")), name="quote_change_status_changes"
            ),
        ]
        indexes = [
            models.Index(fields=["to_status", "created_at"], name="quote_change_to_idx"),
            models.Index(fields=["quote", "created_at"], name="quote_change_quote_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.quote_id}: {self.from_status or '∅'} → {self.to_status}"
