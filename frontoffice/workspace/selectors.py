"""Reads the workspace pages need, built on the apps' selectors and FilterSets so a page shows
exactly what the API would: the same visibility scopes, the same text search. Each function
costs a fixed number of queries, whatever the number of rows."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, F, Q, QuerySet, When, Window
from django.db.models.functions import RowNumber

from accounts.api.filters import AccountFilter, ContactFilter
from accounts.models import Account, Contact, Touchpoint, TouchpointKind
from accounts.selectors import account_list, contact_list
from inquiries.api.inquiries import InquiryFilter
from inquiries.models import Inquiry, Message
from inquiries.selectors import inquiries_visible_to
from pipeline import deal_stages
from pipeline.api.deals import STAGE_ORDER, DealFilter, deal_summary
from pipeline.models import Activity, Deal, DealStage, Quote
from pipeline.selectors import deals_visible_to

# --- Search -------------------------------------------------------------------------------------

SEARCH_LIMIT = 10
ID_QUERY = re.compile(r"#?(\d{1,18})")


@dataclass
class SearchSection:
    rows: list
    more: bool = False


@dataclass
class SearchResults:
    query: str
    contacts: SearchSection | None = None
    accounts: SearchSection | None = None
    deals: SearchSection | None = None
    inquiries: SearchSection | None = None

    @property
    def sections(self) -> list[SearchSection]:
        return [s for s in (self.contacts, self.accounts, self.deals, self.inquiries) if s]

    @property
    def empty(self) -> bool:
        return not any(section.rows for section in self.sections)


def _first(queryset: QuerySet, limit: int) -> SearchSection:
    rows = list(queryset[: limit + 1])
    return SearchSection(rows=rows[:limit], more=len(rows) > limit)


def search_everything(user, query: str, *, limit: int = SEARCH_LIMIT) -> SearchResults:
    """Customers, deals and inquiries matching `query` that `user` may see, through the API's
    FilterSets (`?q=`) and visibility selectors; `#123` also finds deal or inquiry 123. One
    query per kind of row the user may read."""
    query = (query or "").strip()[:200]
    results = SearchResults(query=query)
    if not query:
        return results
    data = {"q": query}
    by_id = ID_QUERY.fullmatch(query)
    if user.has_perm("accounts.view_contact"):
        contacts = ContactFilter(data, queryset=contact_list()).qs.order_by("name", "id")
        results.contacts = _first(contacts, limit)
    if user.has_perm("accounts.view_account"):
        accounts = AccountFilter(data, queryset=account_list()).qs.order_by("name", "id")
        results.accounts = _first(accounts, limit)
    if user.has_perm("pipeline.view_deal"):
        base = Deal.objects.select_related("account", "owner")
        matching = DealFilter(data, queryset=base).qs
        if by_id:
            matching = base.filter(Q(pk__in=matching.values("pk")) | Q(pk=int(by_id.group(1))))
        deals = deals_visible_to(user, matching).order_by("-created_at", "-id")
        results.deals = _first(deals, limit)
    if user.has_perm("inquiries.view_inquiry"):
        base = Inquiry.objects.select_related("contact", "assignee")
        matching = InquiryFilter(data, queryset=base).qs
        if by_id:
            matching = base.filter(Q(pk__in=matching.values("pk")) | Q(pk=int(by_id.group(1))))
        inquiries = inquiries_visible_to(user, matching).order_by("-created_at", "-id")
        results.inquiries = _first(inquiries, limit)
    return results


# --- Customer 360: the timeline -----------------------------------------------------------------

# Which department's work a touchpoint is, for the timeline's filter chips.
DEPARTMENT_KINDS: dict[str, tuple[str, ...]] = {
    "marketing": (
        TouchpointKind.EVENT_VISIT,
        TouchpointKind.WEB_VISIT,
        TouchpointKind.CONTENT_DOWNLOAD,
        TouchpointKind.FORM,
        TouchpointKind.SURVEY,
    ),
    "sales": (
        TouchpointKind.CALL,
        TouchpointKind.VISIT,
        TouchpointKind.MEETING,
        TouchpointKind.DEMO,
        TouchpointKind.PROPOSAL,
        TouchpointKind.DEAL_UPDATE,
        TouchpointKind.QUOTE,
        TouchpointKind.ORDER,
        TouchpointKind.EMAIL,
    ),
    "support": (TouchpointKind.INQUIRY_MESSAGE, TouchpointKind.CHAT),
}
KIND_DEPARTMENT = {kind: name for name, kinds in DEPARTMENT_KINDS.items() for kind in kinds}
TIMELINE_PAGE = 50


@dataclass
class TimelineEntry:
    touchpoint: Touchpoint
    department: str
    deal_id: int | None = None
    inquiry_id: int | None = None
    quote_number: str = ""


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    page: int
    has_next: bool
    department: str = ""
    departments: list[str] = field(default_factory=lambda: list(DEPARTMENT_KINDS))


def _department(touchpoint: Touchpoint, source_model: type | None) -> str:
    if source_model is Message:
        return "support"
    if source_model in (Deal, Quote, Activity):
        return "sales"
    return KIND_DEPARTMENT.get(touchpoint.kind, "other")


def timeline_page(
    touchpoints: QuerySet[Touchpoint], *, page: int = 1, department: str = ""
) -> TimelinePage:
    """One page of a customer's timeline (the accounts selector's query), each entry with the
    deal or inquiry it belongs to, found in one query per kind of source on the page: deals,
    quotes, activities and inquiry messages link to their page."""
    page = max(page, 1)
    if department in DEPARTMENT_KINDS:
        touchpoints = touchpoints.filter(kind__in=DEPARTMENT_KINDS[department])
    else:
        department = ""
    start = (page - 1) * TIMELINE_PAGE
    rows = list(touchpoints[start : start + TIMELINE_PAGE + 1])
    has_next = len(rows) > TIMELINE_PAGE
    rows = rows[:TIMELINE_PAGE]

    models = {model: ContentType.objects.get_for_model(model).pk for model in SOURCE_MODELS}
    ids: dict[type, set[int]] = defaultdict(set)
    for row in rows:
        for model, type_id in models.items():
            if row.source_type_id == type_id and row.source_id is not None:
                ids[model].add(row.source_id)
    quotes = (
        {q.pk: q for q in Quote.objects.filter(pk__in=ids[Quote]).only("pk", "deal", "number")}
        if ids[Quote]
        else {}
    )
    activity_deals = (
        dict(Activity.objects.filter(pk__in=ids[Activity]).values_list("pk", "deal_id"))
        if ids[Activity]
        else {}
    )
    message_inquiries = (
        dict(Message.objects.filter(pk__in=ids[Message]).values_list("pk", "inquiry_id"))
        if ids[Message]
        else {}
    )
    entries = []
    for row in rows:
        source_model = next((m for m, t in models.items() if t == row.source_type_id), None)
        entry = TimelineEntry(touchpoint=row, department=_department(row, source_model))
        if source_model is Deal:
            entry.deal_id = row.source_id
        elif source_model is Quote and row.source_id in quotes:
            entry.deal_id = quotes[row.source_id].deal_id
            entry.quote_number = quotes[row.source_id].number
        elif source_model is Activity:
            entry.deal_id = activity_deals.get(row.source_id)
        elif source_model is Message:
            entry.inquiry_id = message_inquiries.get(row.source_id)
        entries.append(entry)
    return TimelinePage(entries=entries, page=page, has_next=has_next, department=department)


SOURCE_MODELS: tuple[type, ...] = (Deal, Quote, Activity, Message)


# --- Customer 360: the rest ---------------------------------------------------------------------


def contact_360(contact_id: int) -> Contact | None:
    """The contact with its account, owner and lead score (one query)."""
    return contact_list().select_related("lead_score").filter(pk=contact_id).first()


def account_360(account_id: int) -> Account | None:
    return account_list().filter(pk=account_id).first()


def customer_deals(user, **customer: Any) -> list[Deal]:
    """The customer's deals `user` may see, open ones first."""
    queryset = Deal.objects.filter(**customer).select_related("owner", "account", "contact")
    return list(deals_visible_to(user, queryset).order_by("closed_at", "-created_at", "-id"))


def customer_inquiries(user, **customer: Any) -> list[Inquiry]:
    queryset = Inquiry.objects.filter(**customer).select_related("assignee", "team", "contact")
    return list(inquiries_visible_to(user, queryset).order_by("-created_at", "-id"))


# --- The pipeline board -------------------------------------------------------------------------

BOARD_CARDS_PER_COLUMN = 50


@dataclass
class BoardColumn:
    stage: str
    label: str
    count: int
    amounts: dict
    cards: list[Deal]

    @property
    def hidden(self) -> int:
        return max(self.count - len(self.cards), 0)


def board_columns(deals: QuerySet[Deal], *, per_column: int = BOARD_CARDS_PER_COLUMN):
    """The board of `deals` (already scoped and filtered): per stage, count and amount per
    currency of all of them (the API's summary, one grouped query) and the first `per_column`
    cards (one query, numbered per stage by a window function)."""
    summary = deal_summary(deals)
    ranked = (
        deals.select_related("account", "contact", "owner")
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=[F("stage")],
                # Open stages: longest waiting first; won and lost: latest first.
                order_by=[
                    Case(When(stage__in=deal_stages.CLOSED, then=F("closed_at"))).desc(
                        nulls_last=True
                    ),
                    F("stage_changed_at").asc(),
                    F("id").asc(),
                ],
            )
        )
        .filter(position__lte=per_column)
        .order_by("stage", "position")
    )
    cards: dict[str, list[Deal]] = defaultdict(list)
    for deal in ranked:
        cards[deal.stage].append(deal)
    labels = dict(DealStage.choices)
    columns = [
        BoardColumn(
            stage=row["stage"],
            label=labels[row["stage"]],
            count=row["count"],
            amounts={code: amount for code, amount in row["amounts"].items() if amount},
            cards=cards.get(row["stage"], []),
        )
        for row in summary["stages"]
    ]
    return columns, summary


def next_forward_stage(stage: str) -> str | None:
    """The next stage on the line (the board's one-click move), None for closed deals."""
    if stage not in deal_stages.OPEN:
        return None
    return deal_stages.LINE[deal_stages.LINE.index(stage) + 1]


__all__ = ["STAGE_ORDER"]
