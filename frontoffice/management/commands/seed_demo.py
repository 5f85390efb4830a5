"""``manage.py seed_demo``: deterministic demo data for a Japanese/English B2B front office.

Staff in teams with roles, a year of campaigns, companies, thousands of contacts with a
consistent journey history and a timeline of touchpoints. Same --seed and --today, same data.

Rows are written with ``bulk_create``, bypassing the per-row services (``contact_create``,
``journey_move``, ``touchpoint_record``) on purpose: this is set-up data whose consistency the
generator guarantees, and going row by row through the services would take minutes, not seconds.
"""

from __future__ import annotations

import itertools
import random
import string
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone
from tqdm import tqdm

from accounts import roles
from accounts.models import (
    Account,
    Contact,
    CustomerMerge,
    JourneyTransition,
    Team,
    Touchpoint,
)
from frontoffice.management import demo_data as data
from frontoffice.management.demo_journeys import (
    Company,
    Period,
    Source,
    Staff,
    plan_contact,
    stage_quota,
    weighted,
)
from frontoffice.management.demo_sales import (
    DemoSales,
    create_daily_reports,
    create_products,
    create_quotes,
)
from frontoffice.management.demo_support import (
    create_inquiries,
    create_support_setup,
    support_counts,
)
from inquiries.models import (
    AssignmentRule,
    InboundChannel,
    Inquiry,
    SavedReply,
    SlaPolicy,
)
from pipeline.models import (
    Activity,
    Campaign,
    DailyReport,
    Deal,
    DealStageChange,
    Product,
    Quote,
)

BATCH_SIZE = 500
CONTACTS_PER_ACCOUNT = 8
DEMO_USERNAMES = [username for username, *_rest in data.STAFF]
DEMO_TEAM_NAMES = [name for name, *_rest in data.TEAMS]


# --- What is there already ----------------------------------------------------------------------


def existing_demo_data() -> list[str]:
    """What seeding would clash with: demo users or teams, any account, contact or deal."""
    found = []
    if users := get_user_model().objects.filter(username__in=DEMO_USERNAMES).count():
        found.append(f"{users} demo users")
    team_names = [name.lower() for name in DEMO_TEAM_NAMES]
    if Team.objects.annotate(name_lower=Lower("name")).filter(name_lower__in=team_names).exists():
        found.append("demo teams")
    for model in (Account, Contact, Deal, Product, Inquiry, SlaPolicy):
        if count := model.objects.count():
            found.append(f"{count} {model._meta.verbose_name_plural}")
    return found


def delete_demo_data() -> None:
    """Delete every customer, deal and campaign, and the demo teams and users (for --reset)."""
    try:
        for model in (Inquiry, SlaPolicy, AssignmentRule, SavedReply, InboundChannel):
            model.objects.all().delete()
        for model in (DailyReport, Quote, Deal, Product):
            model.objects.all().delete()
        for model in (Touchpoint, CustomerMerge, JourneyTransition, Contact, Account):
            model.objects.all().delete()
        Campaign.objects.all().delete()
        Team.objects.filter(name__in=DEMO_TEAM_NAMES).delete()
        get_user_model().objects.filter(username__in=DEMO_USERNAMES).delete()
    except (models.ProtectedError, models.RestrictedError) as exc:
        raise CommandError(f"Cannot reset: other records still use the demo data ({exc}).") from exc


# --- Staff and campaigns ------------------------------------------------------------------------


def create_staff(rng: random.Random, *, password: str, period: Period) -> Staff:
    """The demo users, each in the group of its role; only `admin` is a superuser."""
    user_model = get_user_model()
    groups = {group.name: group for group in Group.objects.filter(name__in=roles.ROLES)}
    if len(groups) != len(roles.ROLES):
        raise CommandError("The role groups are missing: run `manage.py migrate` first.")
    # One hash for the one shared password (hashing per user would take longer than seeding
    # all the contacts); a salt drawn from the seed keeps two runs identical.
    salt = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(22))
    password_hash = make_password(password, salt)
    joined_at = period.at(period.start.date() - timedelta(days=365), 9)
    users = [
        user_model(
            username=username,
            first_name=given,
            last_name=family,
            email=f"{username}@{data.STAFF_MAIL_DOMAIN}",
            is_staff=True,
            is_superuser=username == "admin",
            password=password_hash,
            date_joined=joined_at,
        )
        for username, _role, given, family in data.STAFF
    ]
    user_model.objects.bulk_create(users)
    membership = user_model.groups.through
    membership.objects.bulk_create(
        membership(user_id=user.pk, group_id=groups[role].pk)
        for user, (_username, role, *_names) in zip(users, data.STAFF, strict=True)
    )
    return Staff({user.username: user for user in users})


def create_teams(staff: Staff, *, period: Period) -> list[Team]:
    """Two sales teams, support, two specialist departments and marketing, each supervised."""
    created_at = period.at(period.start.date() - timedelta(days=365), 9)
    teams = Team.objects.bulk_create(
        Team(name=name, kind=kind, supervisor=staff.users[supervisor], created_at=created_at)
        for name, kind, supervisor, _members in data.TEAMS
    )
    membership = Team.members.through
    membership.objects.bulk_create(
        membership(team_id=team.pk, user_id=staff.users[username].pk)
        for team, (_name, _kind, supervisor, members) in zip(teams, data.TEAMS, strict=True)
        for username in dict.fromkeys((supervisor, *members))
    )
    return teams


def create_campaigns(staff: Staff, *, today: date, period: Period) -> list[Any]:
    """Exhibitions, seminars, web, email, advertising, content and referral campaigns."""
    campaign_class = Campaign
    campaigns = []
    for number, (name, kind, days_ago, days, cost) in enumerate(data.CAMPAIGNS):
        starts_on = today - timedelta(days=days_ago)
        ends_on = starts_on + timedelta(days=days - 1)
        if name in data.CANCELLED_CAMPAIGNS:
            status = "cancelled"
        elif starts_on > today:
            status = "planned"
        else:
            status = "completed" if ends_on < today else "active"
        campaigns.append(
            campaign_class(
                name=name.format(year=starts_on.year),
                kind=kind,
                status=status,
                starts_on=starts_on,
                ends_on=ends_on,
                cost=Decimal(cost),
                currency="JPY",
                owner=staff.users[data.MARKETERS[number % len(data.MARKETERS)]],
                created_at=period.at(starts_on - timedelta(days=45), 10),
            )
        )
    return campaign_class.objects.bulk_create(campaigns)


# --- Companies ----------------------------------------------------------------------------------


def company_names() -> list[tuple[bool, str, str, str, str]]:
    """Every (japanese?, name in romaji, name in kanji, domain stem, industry) on offer."""
    japanese = [
        (True, f"{prefix} {suffix}", f"{kanji_prefix}{kanji_suffix}", f"{prefix}-{suffix}", trade)
        for prefix, kanji_prefix in data.JAPANESE_COMPANY_PREFIXES
        for suffix, kanji_suffix, trade in data.JAPANESE_COMPANY_SUFFIXES
    ]
    english = [
        (False, f"{word} {suffix}", "", f"{word.replace(' ', '')}-{suffix}", trade)
        for word in data.ENGLISH_COMPANY_WORDS
        for suffix, trade in data.ENGLISH_COMPANY_SUFFIXES
    ]
    return japanese + english


def create_companies(
    rng: random.Random, staff: Staff, *, count: int, period: Period
) -> list[Company]:
    """Organisations across Japan's regions, sizes and industries, owned by regional reps."""
    regions = {name: weight for name, weight, _codes in data.REGIONS}
    area_codes = {name: codes for name, _weight, codes in data.REGIONS}
    companies = []
    for japanese, name, kanji, stem, industry in rng.sample(company_names(), count):
        if japanese:
            name = f"株式会社{kanji}" if rng.random() < 0.4 else f"{name} Co., Ltd."
            domain = f"{stem}.{rng.choice(('co.jp', 'co.jp', 'jp'))}".lower()
        else:
            form = rng.choice(data.ENGLISH_COMPANY_FORMS)
            domain = f"{stem}.{'co.jp' if form in ('K.K.', 'Japan G.K.') else 'com'}".lower()
            name = f"{name} {form}"
        region = weighted(rng, regions)
        reps = data.EAST_REPS if region in data.EAST_REGIONS else data.WEST_REPS
        account = Account(
            name=name,
            domain=domain,
            industry=industry,
            size=weighted(rng, data.SIZE_WEIGHTS),
            region=region,
            owner=staff.users[rng.choice(reps)],
            created_at=period.start - timedelta(days=rng.randrange(30, 900)),
        )
        companies.append(Company(account, japanese, area_codes[region]))
    Account.objects.bulk_create([company.account for company in companies], batch_size=BATCH_SIZE)
    return companies


def company_picker(companies: list[Company]) -> Callable[[random.Random], Company]:
    """Draws a company for a new contact; big companies have more people in the CRM."""
    weights = [data.CONTACTS_PER_SIZE[company.account.size] for company in companies]
    cumulative = list(itertools.accumulate(weights))
    return lambda rng: rng.choices(companies, cum_weights=cumulative)[0]


# --- Contacts -----------------------------------------------------------------------------------


def create_contacts(
    rng: random.Random,
    *,
    count: int,
    companies: list[Company],
    campaigns: list[Any],
    period: Period,
    staff: Staff,
    sales: DemoSales,
    progress: tqdm,
) -> None:
    """Contacts at every journey stage, with their history, timeline and deals, in batches."""
    final_stages = stage_quota(rng, count)
    pick_company = company_picker(companies)
    sources = Source.all_open(campaigns, period)
    taken_emails: set[str] = set()
    for first in range(0, count, BATCH_SIZE):
        plans = [
            plan_contact(
                rng,
                final_stage,
                pick_company=pick_company,
                sources=sources,
                period=period,
                staff=staff,
                taken_emails=taken_emails,
            )
            for final_stage in final_stages[first : first + BATCH_SIZE]
        ]
        # The bulk insert sets the new ids, so the history and timeline rows can point at them.
        Contact.objects.bulk_create([plan.contact for plan in plans])
        if plans[0].contact.pk is None:
            raise CommandError(
                "This database does not return ids from bulk inserts (SQLite 3.35+)."
            )
        JourneyTransition.objects.bulk_create(
            [row for plan in plans for row in plan.transitions], batch_size=BATCH_SIZE * 2
        )
        Touchpoint.objects.bulk_create(
            [row for plan in plans for row in plan.touchpoints], batch_size=BATCH_SIZE * 2
        )
        sales.add_contacts(plans)
        progress.update(len(plans))
    # bulk_create stamps auto_now fields with the wall clock; the demo's own times keep runs equal.
    Contact.objects.update(updated_at=F("stage_changed_at"))
    Account.objects.update(updated_at=F("created_at"))
    Team.objects.filter(name__in=DEMO_TEAM_NAMES).update(updated_at=F("created_at"))


def seed(rng: random.Random, *, contacts: int, today: date, password: str, progress: tqdm) -> None:
    """Write the whole demo data set: staff, teams, campaigns, companies, contacts, deals,
    quotes and daily reports."""
    period = Period.year_before(today)
    staff = create_staff(rng, password=password, period=period)
    teams = create_teams(staff, period=period)
    campaigns = create_campaigns(staff, today=today, period=period)
    account_count = max(1, min(len(company_names()), round(contacts / CONTACTS_PER_ACCOUNT)))
    companies = create_companies(rng, staff, count=account_count, period=period)
    products = {product.code: product for product in create_products()}
    sales_team_of = {
        member.pk: team.pk
        for team in teams
        if team.kind == Team.Kind.SALES
        for member in team.members.all()
    }
    sales = DemoSales(
        rng=rng,
        period=period,
        companies={c.account.pk: (c.account.name, c.account.size) for c in companies},
        team_of=sales_team_of,
    )
    create_contacts(
        rng,
        count=contacts,
        companies=companies,
        campaigns=campaigns,
        period=period,
        staff=staff,
        sales=sales,
        progress=progress,
    )
    create_quotes(sales.quotes, products)
    create_daily_reports(rng, staff, period=period)
    support = create_support_setup(staff, teams, period=period)
    create_inquiries(rng, staff, support, period=period)
    # auto_now stamps the wall clock; the demo's own times keep two runs equal.
    Deal.objects.update(updated_at=F("stage_changed_at"))
    Quote.objects.update(updated_at=F("sent_at"))
    DailyReport.objects.update(updated_at=F("submitted_at"))


# --- The command --------------------------------------------------------------------------------


def checked_options(options: dict[str, Any]) -> tuple[int, date, str]:
    """The number of contacts, the base date and the password; CommandError when unusable."""
    contacts = options["contacts"]
    if contacts < 1:
        raise CommandError(f"--contacts must be a positive number, not {contacts}.")
    if options["today"] is None:
        today = timezone.localdate()
    else:
        try:
            today = date.fromisoformat(str(options["today"]))
        except ValueError:
            raise CommandError(
                f"--today must be a date as YYYY-MM-DD, not {options['today']!r}."
            ) from None
    password = options["password"]
    if not password or not password.strip():
        raise CommandError("--password must not be empty.")
    return contacts, today, password


class Command(BaseCommand):
    help = (
        "Seed deterministic demo data: staff, teams, campaigns, accounts and contacts with "
        "their journey history and timeline, deals with their history, quotes, reps' daily "
        "reports, and support inquiries with their messages, SLAs and escalations. Does "
        "nothing when demo data exists (see --reset)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=3000, help="Contacts (default 3000).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument("--today", help="Base date YYYY-MM-DD (default: today).")
        parser.add_argument(
            "--password", default="demo-password", help="Every demo user's password."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete all customers and campaigns and the demo staff first.",
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        contacts, today, password = checked_options(options)
        started = time.perf_counter()
        with transaction.atomic():
            if options["reset"]:
                delete_demo_data()
            elif found := existing_demo_data():
                self.stdout.write(
                    self.style.WARNING(
                        f"Demo data already exists ({'; '.join(found)}); nothing was written. "
                        "Run with --reset to replace it."
                    )
                )
                return
            hide_progress = options["no_progress"] or not sys.stderr.isatty()
            with tqdm(
                total=contacts,
                desc="Contacts",
                unit="contact",
                file=sys.stderr,
                disable=hide_progress,
            ) as progress:
                seed(
                    random.Random(options["seed"]),
                    contacts=contacts,
                    today=today,
                    password=password,
                    progress=progress,
                )
        if connection.vendor == "postgresql":
            # Fresh planner statistics after a bulk load, so the first queries use the indexes.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        elapsed = time.perf_counter() - started
        self.write_summary(today=today, elapsed=elapsed)
        self.write_logins(password)

    def write_summary(self, *, today: date, elapsed: float) -> None:
        counts = {
            "users": get_user_model().objects.filter(username__in=DEMO_USERNAMES).count(),
            "teams": Team.objects.filter(name__in=DEMO_TEAM_NAMES).count(),
            "campaigns": Campaign.objects.count(),
            "accounts": Account.objects.count(),
            "contacts": Contact.objects.count(),
            "journey transitions": JourneyTransition.objects.count(),
            "touchpoints": Touchpoint.objects.count(),
            "deals": Deal.objects.count(),
            "deal stage changes": DealStageChange.objects.count(),
            "quotes": Quote.objects.count(),
            "daily reports": DailyReport.objects.count(),
            "activities": Activity.objects.count(),
            **support_counts(),
        }
        summary = ", ".join(f"{count} {name}" for name, count in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Seeded demo data up to {today} in {elapsed:.1f} s: {summary}.")
        )

    def write_logins(self, password: str) -> None:
        teams_of: dict[str, list[str]] = {}
        for name, _kind, supervisor, members in data.TEAMS:
            for username in dict.fromkeys((supervisor, *members)):
                label = f"{name} (supervisor)" if username == supervisor else name
                teams_of.setdefault(username, []).append(label)
        rows = [("username", "role", "team", "password")]
        rows += [
            (username, role, ", ".join(teams_of.get(username, ["-"])), password)
            for username, role, *_names in data.STAFF
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(3)]
        self.stdout.write("")
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            self.stdout.write("  ".join([*cells, row[3]]))
