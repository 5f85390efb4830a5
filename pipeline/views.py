"""Pipeline pages for people: the printable quote."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from pipeline import quotes, selectors
from pipeline.models import Quote, QuoteLine


def _plain(number: Decimal) -> str:
    """2.50 → "2.5", 10.0000 → "10" (no exponent)."""
    return format(number.normalize(), "f")


@login_required
def quote_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote as the customer receives it, laid out for paper (print or save as PDF).
    Someone who may not read the quote gets a 404, as if it did not exist."""
    if not request.user.has_perm("pipeline.view_quote"):
        raise Http404("No such quote.")
    lines = QuoteLine.objects.select_related("product").order_by("position")
    queryset = Quote.objects.select_related(
        "deal__account", "deal__contact", "deal__owner", "created_by"
    ).prefetch_related(Prefetch("lines", queryset=lines))
    quote = get_object_or_404(selectors.quotes_visible_to(request.user, queryset), pk=pk)
    currency = quote.currency

    def money(amount) -> str:
        return quotes.format_money(amount, currency)

    context = {
        "quote": quote,
        "seller_name": settings.FRONTOFFICE_SELLER_NAME,
        "rep": quote.deal.owner,
        "account": quote.deal.account,
        "contact": quote.deal.contact,
        "lines": [
            {
                "line": line,
                "quantity": _plain(line.quantity),
                "discount_percent": _plain(line.discount_percent),
                "unit_price": money(line.unit_price),
                "line_total": money(line.line_total),
            }
            for line in quote.lines.all()
        ],
        "subtotal": money(quote.subtotal),
        "discount_total": money(quote.discount_total),
        "tax_total": money(quote.tax_total),
        "tax_percent": _plain(quote.tax_rate * 100),
        "total": money(quote.total),
    }
    return render(request, "pipeline/quote_print.html", context)
