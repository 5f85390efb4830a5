"""Quotes: the product catalogue, priced offers on a deal, their numbers and their status.

Totals are computed here, never trusted from the caller: per line, the gross (quantity x unit
price) and the discount are each rounded half-up to the currency's minor unit (0 decimals for
JPY, 2 for USD and EUR...), so the figures on paper always add up; tax is charged on the
discounted subtotal at the quote's tax rate and rounded the same way. Every line's product must
be priced in the quote's currency, which is the deal's.

Numbers (``Q-2026-00042``) come from one ``QuoteNumberSequence`` row per year, locked with
``SELECT … FOR UPDATE`` in the transaction that inserts the quote. The increment therefore
commits or rolls back with the quote: a failed creation gives its number back and numbers are
gap-free, except that a deleted draft's number is never reused. The price is that quote
creation is serialised per year for the few milliseconds of that transaction. The unique
``(year, sequence)`` constraint backs the lock.

Status: draft → sent → accepted / rejected / expired, each change a compare-and-set on the status
the caller saw, with its ``QuoteStatusChange`` row in the same transaction. A refused change (the
quote is not in the right status, the deal is closed) is a 409; bad input (no reason, empty
quote) is a 400. Only drafts are edited, and their lines are replaced as a whole.

Several quotes may be sent on one deal (alternatives). Accepting one wins the deal; the others
stay ``sent`` (the customer did not reject them) until they expire or someone rejects them, and
accepting another one afterwards is refused because the deal is already closed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import TouchpointChannel, TouchpointKind
from frontoffice.errors import ApplicationError, ConflictError
from frontoffice.validation import full_clean_or_400
from pipeline import deals
from pipeline.models import (
    Deal,
    DealStage,
    Product,
    Quote,
    QuoteLine,
    QuoteNumberSequence,
    QuoteStatus,
    QuoteStatusChange,
)

PRODUCT_FIELDS = ("code", "name", "series", "unit_price", "currency", "is_active")
QUOTE_FIELDS = ("tax_rate", "valid_until", "notes", "lines")
LINE_FIELDS = ("product", "quantity", "unit_price", "discount_percent", "description")
REASON_MAX_LENGTH = 500
NUMBER_FORMAT = "Q-{year}-{sequence:05d}"

# ISO 4217 currencies without a minor unit. Every other currency is kept to 2 decimals, which is
# also all the amount columns can store (3-decimal currencies such as KWD are rounded to 2).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV"}
    | {"XAF", "XOF", "XPF"}
)

# Allowed status changes; accepted, rejected and expired are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    QuoteStatus.DRAFT: frozenset({QuoteStatus.SENT}),
    QuoteStatus.SENT: frozenset({QuoteStatus.ACCEPTED, QuoteStatus.REJECTED, QuoteStatus.EXPIRED}),
}
# Deal stages a sent quote moves forward to `quote`.
STAGES_BEFORE_QUOTE = (DealStage.LIST, DealStage.PROPOSAL, DealStage.OPPORTUNITY)


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


# --- Money --------------------------------------------------------------------------------------


def minor_unit_digits(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 2


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-minor_unit_digits(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str) -> str:
    """``JPY 1,234,000`` / ``USD 1,234.50``."""
    digits = minor_unit_digits(currency)
    return f"{currency.upper()} {round_money(amount, currency):,.{digits}f}"


@dataclass(frozen=True)
class LineTotals:
    gross: Decimal
    discount: Decimal
    total: Decimal


@dataclass(frozen=True)
class QuoteTotals:
    lines: list[LineTotals]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal


def compute_totals(
    *,
    lines: Sequence[tuple[Decimal, Decimal, Decimal]],
    tax_rate: Decimal,
    currency: str,
) -> QuoteTotals:
    """The figures of a quote from its lines as (quantity, unit price, discount %): subtotal
    before discounts, the discounts, tax on the discounted subtotal, and the total."""
    line_totals = []
    for quantity, unit_price, discount_percent in lines:
        gross = round_money(Decimal(quantity) * Decimal(unit_price), currency)
        discount = round_money(gross * Decimal(discount_percent) / 100, currency)
        line_totals.append(LineTotals(gross=gross, discount=discount, total=gross - discount))
    subtotal = sum((line.gross for line in line_totals), Decimal(0))
    discount_total = sum((line.discount for line in line_totals), Decimal(0))
    tax_total = round_money((subtotal - discount_total) * Decimal(tax_rate), currency)
    return QuoteTotals(
        lines=line_totals,
        subtotal=subtotal,
        discount_total=discount_total,
        tax_total=tax_total,
        total=subtotal - discount_total + tax_total,
    )


# --- Products -----------------------------------------------------------------------------------


def _check_fields(changes: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", errors={name: ["Unknown field."] for name in sorted(unknown)}
        )


def normalize_currency(currency: str, field: str = "currency") -> str:
    currency = (currency or "").strip().upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        message = "A currency is a 3-letter ISO 4217 code, e.g. JPY."
        raise ApplicationError(message, errors={field: [message]})
    return currency


def product_create(
    *,
    code: str,
    name: str,
    unit_price: Decimal,
    currency: str = "JPY",
    series: str = "",
    is_active: bool = True,
) -> Product:
    """Add a product to the catalogue."""
    product = Product(
        code=(code or "").strip(),
        name=(name or "").strip(),
        series=(series or "").strip(),
        unit_price=unit_price,
        currency=normalize_currency(currency),
        is_active=is_active,
    )
    full_clean_or_400(product, constraints=True)
    product.save()
    return product


def product_update(*, product: Product, **changes: Any) -> Product:
    """Change a catalogue entry. Quotes already written keep the prices they were given."""
    _check_fields(changes, PRODUCT_FIELDS)
    for field, value in changes.items():
        if field == "currency":
            value = normalize_currency(value)
        elif field in ("code", "name", "series"):
            value = (value or "").strip()
        setattr(product, field, value)
    full_clean_or_400(product, constraints=True)
    product.save()
    return product


# --- Lines --------------------------------------------------------------------------------------


def _prepare_lines(
    *, currency: str, lines: Sequence[Mapping[str, Any]]
) -> tuple[list[QuoteLine], QuoteTotals]:
    """Validate the lines and price them. Errors come per bad line by its index, in the shape
    the API uses for nested input: ``{"lines": {1: {"product": ["..."]}}}``."""
    prepared: list[QuoteLine] = []
    line_errors: dict[int, dict[str, list[str]]] = {}
    for index, data in enumerate(lines):
        errors: dict[str, list[str]] = {}
        unknown = set(data) - set(LINE_FIELDS)
        for name in sorted(unknown):
            errors[name] = ["Unknown field."]
        product = data.get("product")
        unit_price = data.get("unit_price")
        if not isinstance(product, Product):
            errors["product"] = ["Choose a product."]
        elif not product.is_active:
            errors["product"] = [f"{product.code} is no longer sold."]
        elif product.currency != currency:
            errors["product"] = [
                f"{product.code} is priced in {product.currency}; this quote is in {currency}."
            ]
        if unit_price is None and isinstance(product, Product):
            unit_price = product.unit_price
        line = QuoteLine(
            position=index + 1,
            product=product if isinstance(product, Product) else None,
            description=(data.get("description") or "").strip(),
            quantity=data.get("quantity"),
            unit_price=unit_price,
            discount_percent=(
                Decimal(0) if data.get("discount_percent") is None else data["discount_percent"]
            ),
            line_total=Decimal(0),
        )
        try:
            line.full_clean(exclude=["quote", "product", "line_total"], validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        if errors:
            line_errors[index] = errors
        prepared.append(line)
    if line_errors:
        raise ApplicationError("Some lines are invalid.", errors={"lines": line_errors})
    totals = compute_totals(
        lines=[(line.quantity, line.unit_price, line.discount_percent) for line in prepared],
        tax_rate=Decimal(0),
        currency=currency,
    )
    for line, line_totals in zip(prepared, totals.lines, strict=True):
        line.line_total = line_totals.total
    return prepared, totals


def quote_lines_validate(*, currency: str, lines: Sequence[Mapping[str, Any]]) -> None:
    """Raise the ApplicationError `quote_create`/`quote_update` would raise for these lines
    (for forms that want to show the errors before saving)."""
    _prepare_lines(currency=currency, lines=lines)


def _apply_totals(quote: Quote, lines: Sequence[QuoteLine]) -> None:
    totals = compute_totals(
        lines=[(line.quantity, line.unit_price, line.discount_percent) for line in lines],
        tax_rate=quote.tax_rate,
        currency=quote.currency,
    )
    quote.subtotal, quote.discount_total = totals.subtotal, totals.discount_total
    quote.tax_total, quote.total = totals.tax_total, totals.total


def _save_lines(quote: Quote, lines: Sequence[QuoteLine]) -> None:
    for line in lines:
        line.quote = quote
    QuoteLine.objects.bulk_create(lines)


# --- Numbers ------------------------------------------------------------------------------------


def _next_sequence(year: int) -> int:
    """Take the year's next number; call inside the transaction that stores the quote."""
    row = QuoteNumberSequence.objects.select_for_update().filter(year=year).first()
    if row is None:
        # Start after any quote of that year already stored (a sequence row deleted by hand).
        highest = Quote.objects.filter(year=year).aggregate(Max("sequence"))["sequence__max"]
        # ON CONFLICT DO NOTHING: of many first quotes of a year at once, one inserts the row
        # and the others wait for it, then lock it below.
        QuoteNumberSequence.objects.bulk_create(
            [QuoteNumberSequence(year=year, last_number=highest or 0)], ignore_conflicts=True
        )
        row = QuoteNumberSequence.objects.select_for_update().get(year=year)
    row.last_number += 1
    row.save(update_fields=["last_number"])
    return row.last_number


def quote_number(*, year: int, sequence: int) -> str:
    return NUMBER_FORMAT.format(year=year, sequence=sequence)


# --- Quotes -------------------------------------------------------------------------------------


def _check_deal_open(deal: Deal, *, action: str) -> None:
    if deal.is_closed:
        message = f"The deal is {deal.stage}; a quote on it cannot be {action}."
        raise ConflictError(message, errors={"deal": [message]})


def _check_tax_rate(tax_rate) -> Decimal:
    try:
        rate = Decimal(tax_rate)
    except (TypeError, ArithmeticError, ValueError):
        rate = None
    if rate is None or not rate.is_finite() or not Decimal(0) <= rate <= Decimal(1):
        message = "A tax rate between 0 and 1 (0.1 = 10%)."
        raise ApplicationError("Invalid tax rate.", errors={"tax_rate": [message]})
    return rate


def quote_create(
    *,
    deal: Deal,
    lines: Sequence[Mapping[str, Any]] = (),
    tax_rate: Decimal = Decimal(0),
    valid_until: date | None = None,
    notes: str = "",
    actor=None,
    at: datetime | None = None,
) -> Quote:
    """Write a draft quote on an open deal, in the deal's currency, with the next number of the
    year. Each line is {product, quantity, unit_price (default: the list price),
    discount_percent, description}; the lines' products must be sold in the deal's currency."""
    at = at or timezone.now()
    _check_deal_open(deal, action="written")
    quote = Quote(
        deal=deal,
        currency=deal.currency,
        tax_rate=_check_tax_rate(tax_rate),
        valid_until=valid_until,
        notes=(notes or "").strip(),
        created_by=actor,
        created_at=at,
        status=QuoteStatus.DRAFT,
    )
    prepared, _totals = _prepare_lines(currency=quote.currency, lines=lines)
    _apply_totals(quote, prepared)
    full_clean_or_400(quote, exclude=["year", "sequence", "number"])
    with transaction.atomic():
        quote.year = timezone.localtime(at).year
        quote.sequence = _next_sequence(quote.year)
        quote.number = quote_number(year=quote.year, sequence=quote.sequence)
        quote.save()
        _save_lines(quote, prepared)
        QuoteStatusChange.objects.create(
            quote=quote, from_status="", to_status=QuoteStatus.DRAFT, actor=actor, created_at=at
        )
        deals.deal_touch(deal=deal, at=at)
    return quote


def quote_update(*, quote: Quote, actor=None, **changes: Any) -> Quote:
    """Change a draft: tax_rate, valid_until, notes, and `lines`, which replace all its lines.
    Anything but a draft is refused (409)."""
    _check_fields(changes, QUOTE_FIELDS)
    with transaction.atomic():
        current = Quote.objects.select_for_update().get(pk=quote.pk)
        if current.status != QuoteStatus.DRAFT:
            message = f"The quote is {current.status}; only a draft can be changed."
            raise ConflictError(message, errors={"status": [message]})
        if "tax_rate" in changes:
            current.tax_rate = _check_tax_rate(changes["tax_rate"])
        if "valid_until" in changes:
            current.valid_until = changes["valid_until"]
        if "notes" in changes:
            current.notes = (changes["notes"] or "").strip()
        if "lines" in changes:
            prepared, _totals = _prepare_lines(currency=current.currency, lines=changes["lines"])
        else:
            prepared = list(current.lines.all())
        _apply_totals(current, prepared)
        full_clean_or_400(current)
        current.save()
        if "lines" in changes:
            current.lines.all().delete()
            _save_lines(current, prepared)
    return current


def _change_status(
    quote: Quote,
    *,
    to_status: str,
    actor,
    at: datetime,
    note: str = "",
    **fields: Any,
) -> QuoteStatusChange:
    """Compare-and-set the status from the one `quote` holds; writes the history row."""
    from_status = quote.status
    if not can_transition(from_status, to_status):
        message = f"A {from_status} quote cannot become {to_status}."
        raise ConflictError(message, errors={"status": [message]})
    changed = Quote.objects.filter(pk=quote.pk, status=from_status).update(
        status=to_status, updated_at=timezone.now(), **fields
    )
    if changed != 1:
        raise ConflictError(
            "The quote was changed by someone else; reload and try again.",
            errors={"status": ["The status changed meanwhile."]},
        )
    quote.status = to_status
    for name, value in fields.items():
        setattr(quote, name, value)
    return QuoteStatusChange.objects.create(
        quote=quote,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        note=note,
        created_at=at,
    )


def _locked_deal(quote: Quote) -> Deal:
    # Deal before quote, in every flow: two quotes of one deal decided at once queue here.
    deal = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("contact", "account", "campaign")
        .get(pk=quote.deal_id)
    )
    quote.deal = deal
    return deal


def quote_send(*, quote: Quote, actor=None, at: datetime | None = None) -> QuoteStatusChange:
    """Send a draft to the customer: it goes on the customer's timeline, the deal is touched and,
    when it is still before `quote`, moves to `quote`. Refused on a closed deal."""
    at = at or timezone.now()
    with transaction.atomic():
        deal = _locked_deal(quote)
        _check_deal_open(deal, action="sent")
        if quote.status == QuoteStatus.DRAFT:
            if not quote.lines.exists():
                message = "Add at least one line before sending the quote."
                raise ApplicationError(message, errors={"lines": [message]})
            if deal.contact_id is None and deal.account_id is None:
                message = "The deal needs a customer (account or contact) to send a quote to."
                raise ApplicationError(message, errors={"deal": [message]})
            if quote.valid_until is not None and quote.valid_until < timezone.localdate(at):
                message = "The validity date has passed; set a later one first."
                raise ApplicationError(message, errors={"valid_until": [message]})
        change = _change_status(quote, to_status=QuoteStatus.SENT, actor=actor, at=at, sent_at=at)
        accounts_services.touchpoint_record(
            kind=TouchpointKind.QUOTE,
            channel=TouchpointChannel.SALES_REP,
            contact=deal.contact,
            account=deal.account,
            occurred_at=at,
            amount=quote.total,
            currency=quote.currency,
            summary=f"Quote {quote.number} sent: {format_money(quote.total, quote.currency)}",
            actor=actor,
            source=quote,
            campaign=deal.campaign,
        )
        deals.deal_touch(deal=deal, at=at)
        if deal.stage in STAGES_BEFORE_QUOTE:
            deals.deal_move(
                deal=deal,
                to_stage=DealStage.QUOTE,
                actor=actor,
                note=f"Quote {quote.number} sent",
                at=max(at, deal.stage_changed_at),
            )
    return change


def quote_accept(*, quote: Quote, actor=None, at: datetime | None = None) -> QuoteStatusChange:
    """The customer accepted a sent quote: the deal's amount becomes the quote's total and the
    deal is won (an order on the timeline, the contact a customer), all in one transaction."""
    at = at or timezone.now()
    with transaction.atomic():
        deal = _locked_deal(quote)
        _check_deal_open(deal, action="accepted")
        change = _change_status(
            quote, to_status=QuoteStatus.ACCEPTED, actor=actor, at=at, decided_at=at
        )
        deals.deal_update(deal=deal, actor=actor, amount=quote.total)
        deals.deal_move(
            deal=deal,
            to_stage=DealStage.WON,
            actor=actor,
            note=f"Quote {quote.number} accepted",
            at=max(at, deal.stage_changed_at),
        )
    return change


def quote_reject(
    *, quote: Quote, reason: str, actor=None, at: datetime | None = None
) -> QuoteStatusChange:
    """The customer declined a sent quote; `reason` (needed) is kept on the history row. The
    deal stays where it is: a new quote or a lost move is the rep's next decision."""
    at = at or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        message = "Say why the customer declined."
        raise ApplicationError("A rejection needs a reason.", errors={"reason": [message]})
    if len(reason) > REASON_MAX_LENGTH:
        message = f"At most {REASON_MAX_LENGTH} characters."
        raise ApplicationError("The reason is too long.", errors={"reason": [message]})
    with transaction.atomic():
        deal = _locked_deal(quote)
        change = _change_status(
            quote, to_status=QuoteStatus.REJECTED, actor=actor, at=at, note=reason, decided_at=at
        )
        deals.deal_touch(deal=deal, at=at)
    return change


def expire_quotes(*, now: datetime) -> dict[str, int]:
    """Sent quotes whose last valid day (local time) is before `now`'s become expired, each
    with its history row. Safe to run twice: an expired quote is no longer sent."""
    today = timezone.localdate(now)
    due = list(
        Quote.objects.filter(status=QuoteStatus.SENT, valid_until__lt=today)
        .order_by("pk")
        .values_list("pk", "valid_until")
    )
    expired = 0
    for pk, valid_until in due:
        with transaction.atomic():
            changed = Quote.objects.filter(pk=pk, status=QuoteStatus.SENT).update(
                status=QuoteStatus.EXPIRED, updated_at=timezone.now()
            )
            if changed:
                QuoteStatusChange.objects.create(
                    quote_id=pk,
                    from_status=QuoteStatus.SENT,
                    to_status=QuoteStatus.EXPIRED,
                    note=f"Valid until {valid_until.isoformat()}",
                    created_at=now,
                )
                expired += changed
    return {"expired": expired}
