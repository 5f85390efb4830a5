"""Customer 360: a contact or an account with everything every department did with them.

Who they are, the journey stage with its history and the lead score with its breakdown, their
deals and inquiries (as far as the reader may see them, through the apps' selectors), and one
timeline of every touchpoint: marketing, deals and quotes, report activities and inquiry
messages, newest first, filterable by department.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.selectors import account_timeline, contact_journey, contact_timeline
from frontoffice.workspace.access import workspace_view
from frontoffice.workspace.selectors import (
    account_360,
    contact_360,
    customer_deals,
    customer_inquiries,
    timeline_page,
)

JOURNEY_ROWS = 20
ACCOUNT_CONTACTS = 100


def _page_number(request: HttpRequest) -> int:
    try:
        return max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        return 1


@workspace_view("accounts.view_contact", "accounts.view_touchpoint")
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = contact_360(pk)
    if contact is None:
        raise Http404
    user = request.user
    lead_score = getattr(contact, "lead_score", None)
    timeline = timeline_page(
        contact_timeline(contact=contact),
        page=_page_number(request),
        department=request.GET.get("department", ""),
    )
    context = {
        "contact": contact,
        "lead_score": lead_score,
        "breakdown": sorted(
            (lead_score.breakdown if lead_score else []) or [],
            key=lambda entry: -abs(entry.get("points", 0)),
        ),
        "journey": list(contact_journey(contact=contact)[:JOURNEY_ROWS]),
        "deals": customer_deals(user, contact=contact)
        if user.has_perm("pipeline.view_deal")
        else None,
        "inquiries": customer_inquiries(user, contact=contact)
        if user.has_perm("inquiries.view_inquiry")
        else None,
        "timeline": timeline,
    }
    return render(request, "workspace/customers/contact.html", context)


@workspace_view("accounts.view_account", "accounts.view_touchpoint")
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_360(pk)
    if account is None:
        raise Http404
    user = request.user
    timeline = timeline_page(
        account_timeline(account=account),
        page=_page_number(request),
        department=request.GET.get("department", ""),
    )
    contacts = list(
        account.contacts.select_related("owner").order_by("name", "id")[:ACCOUNT_CONTACTS]
    )
    context = {
        "account": account,
        "contacts": contacts,
        "deals": customer_deals(user, account=account)
        if user.has_perm("pipeline.view_deal")
        else None,
        "inquiries": customer_inquiries(user, account=account)
        if user.has_perm("inquiries.view_inquiry")
        else None,
        "timeline": timeline,
    }
    return render(request, "workspace/customers/account.html", context)
