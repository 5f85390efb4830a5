"""The workspace's navigation: every entry, who sees it and where a user lands.

An entry is shown to a user who has all of its ``permissions`` (the same model permissions the
API and the admin check), so the menu follows roles without naming them. ``/app/`` sends a user
to the visible entry with the lowest ``home_rank`` (entries without one are never a landing).

Each area adds its entries to ``NAV_ITEMS`` under its own heading, in the order they appear.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from pipeline.screening import DECIDE_PERMISSIONS

SALES = "sales"
SUPPORT = "support"
MANAGEMENT = "management"
CUSTOMERS = "customers"

GROUP_LABELS: dict[str, Promise] = {
    CUSTOMERS: _("Customers"),
    SALES: _("Sales"),
    SUPPORT: _("Support"),
    MANAGEMENT: _("Management"),
}


@dataclass(frozen=True)
class NavItem:
    key: str
    label: Promise
    url_name: str
    group: str
    permissions: tuple[str, ...] = ()
    # Query string that tells two entries on one page apart (the board's `scope=team`).
    query: str = ""
    home_rank: int | None = None

    def visible_to(self, user) -> bool:
        return bool(user.is_authenticated and user.has_perms(self.permissions))

    @property
    def url(self) -> str:
        path = reverse(self.url_name)
        return f"{path}?{self.query}" if self.query else path

    def match(self, request) -> int | None:
        """How specifically this entry names the current page (the number of its query
        parameters the request has), or None when it is another page."""
        match = getattr(request, "resolver_match", None)
        if match is None or match.view_name != self.url_name:
            return None
        wanted = dict(part.split("=", 1) for part in self.query.split("&") if part)
        if any(request.GET.get(name) != value for name, value in wanted.items()):
            return None
        return len(wanted)


NAV_ITEMS: list[NavItem] = [
    # --- Customers (everyone who reads customers) ---
    NavItem(
        "search",
        _("Search"),
        "workspace:search",
        CUSTOMERS,
        permissions=("accounts.view_contact",),
        home_rank=90,
    ),
    # --- Sales rep ---
    NavItem(
        "board",
        _("My pipeline"),
        "workspace:board",
        SALES,
        permissions=("pipeline.view_deal", "pipeline.move_deal"),
        home_rank=20,
    ),
    NavItem(
        "report-today",
        _("Today's report"),
        "workspace:report-today",
        SALES,
        permissions=("pipeline.add_dailyreport", "pipeline.change_dailyreport"),
    ),
    NavItem(
        "reports",
        _("My reports"),
        "workspace:report-list",
        SALES,
        permissions=("pipeline.add_dailyreport", "pipeline.change_dailyreport"),
    ),
    NavItem(
        "leads",
        _("Hot leads"),
        "workspace:leads",
        SALES,
        permissions=("pipeline.view_followuptask", *DECIDE_PERMISSIONS),
    ),
    NavItem(
        "inquiry-log",
        _("Log an inquiry"),
        "workspace:inquiry-log",
        SALES,
        permissions=("inquiries.add_inquiry",),
    ),
    # --- Support agent (ui2 adds its entries here) ---
    NavItem(
        "inbox",
        _("My inquiries"),
        "workspace:inbox",
        SUPPORT,
        permissions=("inquiries.view_inquiry", "inquiries.answer_inquiry"),
        home_rank=10,
    ),
    NavItem(
        "team-queue",
        _("Team queue"),
        "workspace:inbox",
        SUPPORT,
        permissions=("inquiries.answer_inquiry", "inquiries.view_team_inquiries"),
        query="scope=team",
    ),
    # --- Supervisor / manager ---
    NavItem(
        "escalations",
        _("Escalations to me"),
        "workspace:escalations",
        MANAGEMENT,
        permissions=("inquiries.view_escalation", "inquiries.answer_escalation"),
        home_rank=5,
    ),
    NavItem(
        "team-reports",
        _("Team reports"),
        "workspace:team-reports",
        MANAGEMENT,
        permissions=("pipeline.view_dailyreport", "pipeline.review_dailyreport"),
    ),
    NavItem(
        "team-board",
        _("Team pipeline"),
        "workspace:board",
        MANAGEMENT,
        permissions=("pipeline.view_deal", "pipeline.view_team_deals"),
        query="scope=team",
        home_rank=15,
    ),
    NavItem(
        "dashboard",
        _("KPI dashboard"),
        "dashboard:index",
        MANAGEMENT,
        permissions=("frontoffice.view_kpisnapshot",),
    ),
]


@dataclass(frozen=True)
class NavEntry:
    item: NavItem
    url: str
    active: bool


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: Promise
    entries: list[NavEntry]


def visible_items(user) -> list[NavItem]:
    return [item for item in NAV_ITEMS if item.visible_to(user)]


def _resolvable(item: NavItem) -> str | None:
    try:
        return item.url
    except NoReverseMatch:  # an entry whose page is not mounted (yet): left out
        return None


def navigation_for(request) -> list[NavGroup]:
    """The user's menu, grouped under headings in NAV_ITEMS order, the current page marked
    (of two entries on one page, the one whose query the request has)."""
    items = [(item, _resolvable(item)) for item in visible_items(request.user)]
    items = [(item, url) for item, url in items if url is not None]
    matches = {item.key: item.match(request) for item, _url in items}
    best = max((m for m in matches.values() if m is not None), default=None)
    groups: dict[str, list[NavEntry]] = {}
    for item, url in items:
        active = best is not None and matches[item.key] == best
        groups.setdefault(item.group, []).append(NavEntry(item=item, url=url, active=active))
    return [
        NavGroup(key=key, label=GROUP_LABELS.get(key, key), entries=entries)
        for key, entries in groups.items()
    ]


def home_url_for(user) -> str | None:
    """Where `/app/` sends `user`: their highest-ranked visible landing page."""
    landings = sorted(
        (item for item in visible_items(user) if item.home_rank is not None),
        key=lambda item: item.home_rank,
    )
    for item in landings:
        url = _resolvable(item)
        if url is not None:
            return url
    return None
