"""Import of the Maven Analytics "CRM Sales Opportunities" data set (a B2B computer-hardware
pipeline, Oct 2016 - Dec 2017): four CSV files in one folder.

What each file becomes:

- ``sales_teams.csv``: every agent becomes a user with the Sales rep role and every manager a
  user with the Manager role (username from the name, e.g. "anna.snelling"; active, staff,
  unusable password: they sign in once an admin sets one). Each manager's agents form a sales
  Team named after the regional office and the manager ("Central (Dustin Brinkmann)"), with the
  manager as its supervisor. An existing user or team of that name is used as it is.
- ``accounts.csv``: an Account per company, found by name through
  ``accounts.services.account_resolve`` (so re-running creates none twice); blank details are
  filled in: sector → industry (capitalised, the data's "technolgy" read as "Technology"),
  employees → size bucket, office_location → region ("Philipines" read as "Philippines").
  year_established, revenue and subsidiary_of have no field and are not kept.
- ``products.csv``: a Product per line (code from the name, "GTX Plus Pro" → "GTX-PLUS-PRO",
  price in USD). sales_pipeline.csv writes "GTXPro" for "GTX Pro": products are matched on the
  name without spaces, case-insensitively.
- ``sales_pipeline.csv``: a Deal per opportunity (external_id = opportunity_id; one already
  imported is left as it is), in USD, owned by the agent, in the agent's team, named
  "<product> for <account>". Amount: close_value for won and lost deals (the data has 0 for
  every lost deal), the product's price for open ones. Stages: Prospecting → list, Engaging →
  opportunity, Won → won, Lost → lost, with the stage history rows ∅ → list and list →
  opportunity at engage_date, opportunity → won/lost at close_date (closed_at). Prospecting rows
  have no date: they are listed at the latest date of the file (the data's snapshot day). Dates
  are midnight in the project's time zone. 1,425 opportunities name no account: their deals
  have none.

Side effects on the customer: each account with won deals becomes a customer from its earliest
won close_date (``account_become_customer``). No timeline touchpoints are written for these
historic deals: the data has no contacts (the bulk timeline writer of ``accounts.bulk`` works on
contacts), 1,425 deals have no customer at all, and the stage history already holds every fact
(stage, amount, date) the KPIs read; years-old "deal update" and "order" rows would only push a
customer's real interactions down its timeline.

Everything is checked before anything is written, and written in one transaction: a bad file
(missing file or column, bad date or number, unknown stage, agent, product or account) is
refused with each bad line's number, and nothing is written.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import roles
from accounts import services as accounts_services
from accounts.bulk import lookup_chunks, one_of
from accounts.models import Account, Team
from frontoffice.audit.models import AuditAction
from frontoffice.audit.services import audit_record
from frontoffice.errors import ApplicationError
from pipeline import quotes
from pipeline.deals import stage_probability
from pipeline.models import Deal, DealStage, DealStageChange, Product

Progress = Callable[[str, int, int], None]

CURRENCY = "USD"
HISTORY_NOTE = "Imported from Maven CRM"
FILES: dict[str, tuple[str, ...]] = {
    "sales_teams.csv": ("sales_agent", "manager", "regional_office"),
    "accounts.csv": ("account", "sector", "employees", "office_location"),
    "products.csv": ("product", "series", "sales_price"),
    "sales_pipeline.csv": (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
}
STAGES: dict[str, str] = {
    "Prospecting": DealStage.LIST,
    "Engaging": DealStage.OPPORTUNITY,
    "Won": DealStage.WON,
    "Lost": DealStage.LOST,
}
# Misspellings in the data set, read as what they mean.
SPELLING_FIXES: dict[str, str] = {"technolgy": "technology", "Philipines": "Philippines"}
SIZE_BUCKETS: tuple[tuple[int, str], ...] = (
    (10, Account.Size.MICRO),
    (50, Account.Size.SMALL),
    (250, Account.Size.MEDIUM),
    (1000, Account.Size.LARGE),
)
SHOWN_PROBLEMS = 20
CREATE_BATCH = 1000


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentRow:
    name: str
    manager: str
    office: str

    @property
    def team_name(self) -> str:
        return f"{self.office} ({self.manager})"


@dataclass(frozen=True, slots=True)
class AccountRow:
    name: str
    industry: str
    size: str
    region: str


@dataclass(frozen=True, slots=True)
class ProductRow:
    name: str
    series: str
    price: Decimal

    @property
    def code(self) -> str:
        return "-".join(self.name.upper().split())


@dataclass(frozen=True, slots=True)
class OpportunityRow:
    line: int
    opportunity_id: str
    agent: str
    product: str  # the products.csv name
    account: str  # "" when none
    stage: str  # our stage
    engaged_on: datetime.date | None
    closed_on: datetime.date | None
    close_value: Decimal | None


@dataclass
class MavenData:
    agents: dict[str, AgentRow]
    accounts: dict[str, AccountRow]
    products: dict[str, ProductRow]
    opportunities: list[OpportunityRow]

    @property
    def snapshot_day(self) -> datetime.date:
        """The latest date in the pipeline file: when Prospecting rows are known to be listed."""
        days = [
            day
            for row in self.opportunities
            for day in (row.engaged_on, row.closed_on)
            if day is not None
        ]
        return max(days) if days else timezone.localdate()


class _Problems:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, file_name: str, line: int | None, message: str) -> None:
        where = f"{file_name} line {line}" if line is not None else file_name
        self.messages.append(f"{where}: {message}")

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        shown = self.messages[:SHOWN_PROBLEMS]
        if len(self.messages) > SHOWN_PROBLEMS:
            shown.append(f"... and {len(self.messages) - SHOWN_PROBLEMS} more")
        raise ApplicationError(
            f"{len(self.messages)} problems in the files: nothing was imported.",
            errors={"files": shown},
        )


def _rows(folder: Path, file_name: str, problems: _Problems) -> list[tuple[int, dict[str, str]]]:
    """The file's rows with their line numbers (the header is line 1); [] when unreadable."""
    path = folder / file_name
    if not path.is_file():
        problems.add(file_name, None, f"missing (looked for {path})")
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(file_name, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
        return []
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        problems.add(file_name, line, "a NUL character: not a text CSV")
        return []
    # strict: a file cut inside a quoted cell is an error, not a shorter last row.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in FILES[file_name] if name not in header]
        if missing:
            problems.add(file_name, 1, f"missing column(s): {', '.join(missing)}")
            return []
        reader.fieldnames = header
        for record in reader:
            values = {k: (value or "").strip() for k, value in record.items() if k is not None}
            if any(values.values()):
                rows.append((reader.line_num, values))
    except csv.Error as exc:  # a cell past the csv module's limit, a cut quoted cell
        problems.add(file_name, reader.line_num + 1, f"unreadable CSV ({exc})")
        return []
    return rows


def _date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


def _amount(value: str) -> Decimal:
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0:
        raise InvalidOperation
    return amount


def _size(employees: int) -> str:
    if employees <= 0:
        return ""
    for below, size in SIZE_BUCKETS:
        if employees < below:
            return size
    return Account.Size.ENTERPRISE


def _fixed(value: str) -> str:
    return SPELLING_FIXES.get(value, value)


def _product_key(name: str) -> str:
    return "".join(name.split()).lower()


def _read_agents(folder: Path, problems: _Problems) -> dict[str, AgentRow]:
    agents: dict[str, AgentRow] = {}
    for line, row in _rows(folder, "sales_teams.csv", problems):
        agent = AgentRow(row["sales_agent"], row["manager"], row["regional_office"])
        if not all((agent.name, agent.manager, agent.office)):
            problems.add("sales_teams.csv", line, "sales_agent, manager and office are needed")
        elif agent.name in agents:
            problems.add("sales_teams.csv", line, f"agent {agent.name!r} listed twice")
        else:
            agents[agent.name] = agent
    return agents


def _read_accounts(folder: Path, problems: _Problems) -> dict[str, AccountRow]:
    accounts: dict[str, AccountRow] = {}
    for line, row in _rows(folder, "accounts.csv", problems):
        name = row["account"]
        try:
            employees = int(row["employees"] or 0)
        except ValueError:
            problems.add("accounts.csv", line, f"employees {row['employees']!r} is not a number")
            continue
        if not name or len(name) > 200:
            problems.add("accounts.csv", line, "the account name is empty or too long")
        elif name in accounts:
            problems.add("accounts.csv", line, f"account {name!r} listed twice")
        else:
            accounts[name] = AccountRow(
                name=name,
                industry=_fixed(row["sector"]).capitalize(),
                size=_size(employees),
                region=_fixed(row["office_location"]),
            )
    return accounts


def _read_products(folder: Path, problems: _Problems) -> dict[str, ProductRow]:
    products: dict[str, ProductRow] = {}
    for line, row in _rows(folder, "products.csv", problems):
        try:
            price = _amount(row["sales_price"])
        except InvalidOperation:
            problems.add("products.csv", line, f"sales_price {row['sales_price']!r} is no price")
            continue
        product = ProductRow(row["product"], row["series"], price)
        if not product.name:
            problems.add("products.csv", line, "the product name is empty")
        elif _product_key(product.name) in products:
            problems.add("products.csv", line, f"product {product.name!r} listed twice")
        else:
            products[_product_key(product.name)] = product
    return products


def _read_opportunity(
    line: int, row: dict[str, str], data: MavenData, problems: _Problems
) -> OpportunityRow | None:
    found: list[str] = []
    opportunity_id = row["opportunity_id"]
    if not opportunity_id or len(opportunity_id) > 64:
        found.append("opportunity_id is empty or longer than 64 characters")
    if row["sales_agent"] not in data.agents:
        found.append(f"sales agent {row['sales_agent']!r} is not in sales_teams.csv")
    product = data.products.get(_product_key(row["product"]))
    if product is None:
        found.append(f"product {row['product']!r} is not in products.csv")
    if row["account"] and row["account"] not in data.accounts:
        found.append(f"account {row['account']!r} is not in accounts.csv")
    stage = STAGES.get(row["deal_stage"])
    if stage is None:
        found.append(f"unknown deal_stage {row['deal_stage']!r} (expected {', '.join(STAGES)})")
    days: dict[str, datetime.date | None] = {}
    for column in ("engage_date", "close_date"):
        try:
            days[column] = _date(row[column]) if row[column] else None
        except ValueError:
            found.append(f"{column} {row[column]!r} is not a date (YYYY-MM-DD)")
            days[column] = None
    close_value = None
    if row["close_value"]:
        try:
            close_value = _amount(row["close_value"])
        except InvalidOperation:
            found.append(f"close_value {row['close_value']!r} is not an amount")
    engaged_on, closed_on = days["engage_date"], days["close_date"]
    if stage in (DealStage.OPPORTUNITY, DealStage.WON, DealStage.LOST) and engaged_on is None:
        found.append(f"a {row['deal_stage']} deal needs its engage_date")
    if stage in (DealStage.WON, DealStage.LOST):
        if closed_on is None and not row["close_date"]:
            found.append(f"a {row['deal_stage']} deal needs its close_date")
        if close_value is None and not row["close_value"]:
            found.append(f"a {row['deal_stage']} deal needs its close_value")
    elif stage is not None and row["close_date"]:
        found.append(f"a {row['deal_stage']} deal has a close_date")
    if engaged_on and closed_on and closed_on < engaged_on:
        found.append("close_date is before engage_date")
    if stage == DealStage.WON and not row["account"]:
        found.append("a won deal needs an account")
    for message in found:
        problems.add("sales_pipeline.csv", line, message)
    if found:
        return None
    return OpportunityRow(
        line=line,
        opportunity_id=opportunity_id,
        agent=row["sales_agent"],
        product=product.name,
        account=row["account"],
        stage=stage,
        engaged_on=engaged_on,
        closed_on=closed_on,
        close_value=close_value,
    )


def maven_data_read(*, folder: Path) -> MavenData:
    """Read and check the four files; ApplicationError listing every bad line (numbered as in
    the file, header = line 1) when anything is wrong."""
    problems = _Problems()
    if not folder.is_dir():
        problems.add(str(folder), None, "no such folder")
        problems.raise_if_any()
    data = MavenData(
        agents=_read_agents(folder, problems),
        accounts=_read_accounts(folder, problems),
        products=_read_products(folder, problems),
        opportunities=[],
    )
    seen: dict[str, int] = {}
    for line, row in _rows(folder, "sales_pipeline.csv", problems):
        opportunity = _read_opportunity(line, row, data, problems)
        if opportunity is None:
            continue
        if opportunity.opportunity_id in seen:
            problems.add(
                "sales_pipeline.csv",
                line,
                f"opportunity {opportunity.opportunity_id!r} is also on line "
                f"{seen[opportunity.opportunity_id]}",
            )
            continue
        seen[opportunity.opportunity_id] = line
        data.opportunities.append(opportunity)
    problems.raise_if_any()
    return data


# --- Writing ------------------------------------------------------------------------------------


@dataclass
class MavenImportResult:
    dry_run: bool
    users_created: int = 0
    teams_created: int = 0
    accounts_created: int = 0
    products_created: int = 0
    deals_created: int = 0
    deals_known: int = 0
    stage_changes_created: int = 0
    customers_marked: int = 0
    deals_per_stage: dict[str, int] = field(default_factory=dict)


def _username(name: str) -> str:
    return ".".join(name.lower().split())[:150]


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _noop_progress(phase: str, done: int, total: int) -> None:
    return None


class _Writer:
    def __init__(self, data: MavenData, result: MavenImportResult, progress: Progress) -> None:
        self.data = data
        self.result = result
        self.progress = progress
        self.dry_run = result.dry_run
        self.users: dict[str, object] = {}
        self.teams: dict[str, Team] = {}
        self.accounts: dict[str, Account] = {}

    # Staff

    def write_staff(self) -> None:
        User = get_user_model()
        managers = {agent.manager for agent in self.data.agents.values()}
        people = {name: roles.MANAGER for name in managers}
        people.update({name: roles.SALES_REP for name in self.data.agents})
        by_username = {_username(name): name for name in people}
        existing = {u.get_username(): u for u in User.objects.filter(username__in=by_username)}
        self.result.users_created = len(set(by_username) - set(existing))
        if self.dry_run:
            return
        groups = {group.name: group for group in Group.objects.filter(name__in=people.values())}
        missing_roles = set(people.values()) - set(groups)
        if missing_roles:
            raise ApplicationError(
                f"The role group(s) {', '.join(sorted(missing_roles))} are missing; run migrate."
            )
        for username, name in sorted(by_username.items()):
            user = existing.get(username)
            if user is None:
                first, _space, last = name.partition(" ")
                user = User(username=username, first_name=first, last_name=last, is_staff=True)
                user.set_unusable_password()
                user.save()
            user.groups.add(groups[people[name]])
            self.users[name] = user

    def write_teams(self) -> None:
        wanted: dict[str, tuple[str, list[str]]] = {}
        for agent in self.data.agents.values():
            wanted.setdefault(agent.team_name, (agent.manager, []))[1].append(agent.name)
        existing = {
            team.name_lower: team
            for team in Team.objects.annotate(name_lower=Lower("name")).filter(
                name_lower__in=[name.lower() for name in wanted]
            )
        }
        self.result.teams_created = len({name.lower() for name in wanted} - set(existing))
        if self.dry_run:
            return
        for name, (manager, agents) in sorted(wanted.items()):
            members = [self.users[agent] for agent in agents]
            team = existing.get(name.lower())
            if team is None:
                team = accounts_services.team_save(
                    name=name,
                    kind=Team.Kind.SALES,
                    supervisor=self.users[manager],
                    members=members,
                )
            else:
                team.members.add(*members)
            self.teams[name] = team

    # Customers and catalogue

    def write_accounts(self) -> None:
        rows = self.data.accounts
        known = set(
            Account.objects.annotate(name_lower=Lower("name"))
            .filter(name_lower__in=[name.lower() for name in rows])
            .values_list("name_lower", flat=True)
        )
        self.result.accounts_created = len({name.lower() for name in rows} - known)
        if self.dry_run:
            return
        for done, row in enumerate(rows.values(), start=1):
            account = accounts_services.account_resolve(name=row.name)
            blanks = {
                name: value
                for name, value in (
                    ("industry", row.industry),
                    ("size", row.size),
                    ("region", row.region),
                )
                if value and not getattr(account, name)
            }
            if blanks:
                account = accounts_services.account_update(account=account, **blanks)
            self.accounts[row.name] = account
            self.progress("accounts", done, len(rows))

    def write_products(self) -> None:
        rows = {row.code: row for row in self.data.products.values()}
        known = set(Product.objects.filter(code__in=rows).values_list("code", flat=True))
        self.result.products_created = len(set(rows) - known)
        if self.dry_run:
            return
        for code, row in rows.items():
            if code in known:
                continue
            quotes.product_create(
                code=code, name=row.name, series=row.series, unit_price=row.price, currency=CURRENCY
            )

    # Deals

    def known_deals(self) -> set[str]:
        ids = sorted(row.opportunity_id for row in self.data.opportunities)
        known: set[str] = set()
        for chunk in lookup_chunks(ids):
            known.update(
                Deal.objects.filter(one_of("external_id", chunk)).values_list(
                    "external_id", flat=True
                )
            )
        return known

    def write_deals(self) -> None:
        known = self.known_deals()
        new = [row for row in self.data.opportunities if row.opportunity_id not in known]
        self.result.deals_known = len(self.data.opportunities) - len(new)
        self.result.deals_created = len(new)
        for row in new:
            self.result.deals_per_stage[row.stage] = (
                self.result.deals_per_stage.get(row.stage, 0) + 1
            )
        if self.dry_run or not new:
            return
        prices = {row.name: row.price for row in self.data.products.values()}
        probabilities = {stage: stage_probability(stage) for stage in STAGES.values()}
        listed_fallback = _midnight(self.data.snapshot_day)
        deals: list[Deal] = []
        histories: list[list[tuple[str, str, datetime.datetime]]] = []
        for row in new:
            agent = self.data.agents[row.agent]
            engaged = _midnight(row.engaged_on) if row.engaged_on else None
            closed = _midnight(row.closed_on) if row.closed_on else None
            listed = engaged or listed_fallback
            history = [("", DealStage.LIST, listed)]
            if row.stage != DealStage.LIST:
                history.append((DealStage.LIST, DealStage.OPPORTUNITY, engaged))
            if closed is not None:
                history.append((DealStage.OPPORTUNITY, row.stage, closed))
            last_change = history[-1][2]
            account = self.accounts.get(row.account) if row.account else None
            deals.append(
                Deal(
                    name=f"{row.product} for {row.account}"
                    if account
                    else f"{row.product} ({row.opportunity_id})",
                    account=account,
                    owner=self.users[row.agent],
                    team=self.teams[agent.team_name],
                    amount=row.close_value if closed is not None else prices[row.product],
                    currency=CURRENCY,
                    stage=row.stage,
                    probability=probabilities[row.stage],
                    stage_changed_at=last_change,
                    last_activity_at=last_change,
                    created_at=listed,
                    closed_at=closed,
                    external_id=row.opportunity_id,
                )
            )
            histories.append(history)
        for start in range(0, len(deals), CREATE_BATCH):
            Deal.objects.bulk_create(deals[start : start + CREATE_BATCH])
            self.progress("deals", min(start + CREATE_BATCH, len(deals)), len(deals))
        changes = [
            DealStageChange(
                deal_id=deal.pk,
                from_stage=from_stage,
                to_stage=to_stage,
                amount=deal.amount,
                created_at=at,
                note=HISTORY_NOTE,
            )
            for deal, history in zip(deals, histories, strict=True)
            for from_stage, to_stage, at in history
        ]
        for start in range(0, len(changes), CREATE_BATCH):
            DealStageChange.objects.bulk_create(changes[start : start + CREATE_BATCH])
            self.progress("stage history", min(start + CREATE_BATCH, len(changes)), len(changes))
        self.result.stage_changes_created = len(changes)

    def write_customers(self) -> None:
        """Accounts with won deals become customers from their earliest won close date."""
        first_order: dict[str, datetime.date] = {}
        for row in self.data.opportunities:
            if row.stage == DealStage.WON and row.account:
                current = first_order.get(row.account)
                if current is None or row.closed_on < current:
                    first_order[row.account] = row.closed_on
        if self.dry_run:
            already = set(
                Account.objects.annotate(name_lower=Lower("name"))
                .filter(
                    name_lower__in=[name.lower() for name in first_order],
                    customer_since__isnull=False,
                )
                .values_list("name_lower", flat=True)
            )
            self.result.customers_marked = len(
                [name for name in first_order if name.lower() not in already]
            )
            return
        for name, day in sorted(first_order.items()):
            if accounts_services.account_become_customer(
                account=self.accounts[name], at=_midnight(day)
            ):
                self.result.customers_marked += 1


def deals_import_maven(
    *, data: MavenData, dry_run: bool = False, progress: Progress | None = None
) -> MavenImportResult:
    """Write the checked data set (see the module docstring for what becomes what) in one
    transaction. Re-running creates nothing twice and changes nothing already imported. With
    `dry_run` nothing is written and the result counts what would be created."""
    result = MavenImportResult(dry_run=dry_run)
    writer = _Writer(data, result, progress or _noop_progress)
    with transaction.atomic():
        writer.write_staff()
        writer.write_teams()
        writer.write_accounts()
        writer.write_products()
        writer.write_deals()
        writer.write_customers()
        if not dry_run and (result.deals_created or result.accounts_created):
            # One audit entry for the run (the import writes in bulk; no run row to point at).
            audit_record(
                action=AuditAction.IMPORT,
                target=None,
                target_repr=f"Maven CRM import: {result.deals_created} deals",
                changes={
                    "accounts_created": [None, result.accounts_created],
                    "deals_created": [None, result.deals_created],
                    "users_created": [None, result.users_created],
                },
            )
    return result
