"""Template helpers of the staff workspace: its menu, and numbers, money and spans of time
formatted for the active language (grouping and decimal separator from Django's locale
formats; money to its currency's minor unit, as ``pipeline.quotes`` rounds it)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from frontoffice.workspace.navigation import navigation_for
from pipeline.quotes import minor_unit_digits, round_money

register = template.Library()


@register.simple_tag(takes_context=True)
def workspace_nav(context) -> list:
    """`{% workspace_nav as groups %}`: the signed-in user's menu, grouped, current page marked."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return navigation_for(request)


@register.simple_tag
def optional_url(name: str, *args) -> str:
    """`{% optional_url "workspace:inquiry" pk as url %}`: the URL, or "" when no such page is
    mounted (a link to a page another part of the workspace provides)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def number(value, decimals: int | None = None):
    """1234567 → "1,234,567" in the active language's format (grouping always on)."""
    amount = _decimal(value)
    if amount is None:
        return value
    return formats.number_format(amount, decimal_pos=decimals, use_l10n=True, force_grouping=True)


@register.filter
def money(amount, currency: str = "JPY"):
    """An amount in its currency: "JPY 1,200,000" / "USD 1,234.50" (the order and spacing are
    the translation's: Japanese writes "1,200,000 JPY")."""
    value = _decimal(amount)
    if value is None:
        return "—"
    currency = (currency or "JPY").upper()
    digits = minor_unit_digits(currency)
    text = formats.number_format(
        round_money(value, currency), decimal_pos=digits, use_l10n=True, force_grouping=True
    )
    # Translators: how an amount of money is written; %(currency)s is an ISO code such as JPY.
    return _("%(currency)s %(amount)s") % {"currency": currency, "amount": text}


@register.filter
def amounts(by_currency) -> str:
    """{"JPY": 1200000, "USD": 5.5} → "JPY 1,200,000 · USD 5.50"; "—" when empty."""
    if not by_currency:
        return "—"
    return " · ".join(money(value, code) for code, value in sorted(by_currency.items()))


@register.filter
def days_since(moment: datetime | None) -> int | None:
    """Whole days from `moment` to now."""
    if moment is None:
        return None
    return max((timezone.now() - moment).days, 0)


@register.filter
def days_text(days: int | None) -> str:
    if days is None:
        return "—"
    return ngettext("%(count)s day", "%(count)s days", days) % {"count": number(days)}


@register.filter
def percent(value, decimals: int = 0) -> str:
    """0.25 → "25%" (the value is a fraction)."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    return f"{number(amount * 100, decimals)}%"


@register.filter
def display_name(user) -> str:
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()
