"""What a demo customer's life looks like, for ``manage.py seed_demo``.

Pure generators: they draw only from the `random.Random` they are given and build unsaved
model instances, so the same seed gives the same people, journeys and timelines. Writing them
is the command's job.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from accounts import journey
from accounts.identity import normalize_phone
from accounts.models import Account, Contact, JourneyStage, JourneyTransition, Touchpoint
from frontoffice.management import demo_data as data

EVENT_KINDS = ("exhibition", "seminar")
# At least this long between two journey moves, so a contact's history reads plausibly.
MIN_DAYS_PER_MOVE = 10
INDIVIDUAL_SHARE = 0.08
# How many touchpoints a contact has while at a stage (low, high).
ACTIVITY_COUNTS = {
    JourneyStage.AWARENESS: (0, 2),
    JourneyStage.LEAD: (0, 2),
    JourneyStage.PROSPECT: (1, 3),
    JourneyStage.CUSTOMER: (1, 3),
    JourneyStage.PROMOTER: (1, 2),
    JourneyStage.DORMANT: (0, 0),
    JourneyStage.LOST: (0, 0),
}


@dataclass(frozen=True)
class Period:
    """The year the demo history covers: from `start` up to (not including) `end`."""

    start: datetime
    end: datetime

    @classmethod
    def year_before(cls, today: date) -> Period:
        end = datetime.combine(today, time.min, tzinfo=timezone.get_current_timezone())
        return cls(start=end - timedelta(days=365), end=end)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.end.tzinfo)


@dataclass(frozen=True)
class Company:
    account: Account
    japanese: bool
    area_codes: tuple[str, ...]


@dataclass(frozen=True)
class Staff:
    """The demo users by username, and who handles which kind of work."""

    users: dict[str, Any]

    def handler_id(self, rng: random.Random, role: str, owner_id: int | None) -> int | None:
        """Who handles a piece of work: the contact's own rep, someone from a team, or nobody."""
        pools = {
            "agent": data.FRONT_LINE_AGENTS,
            "technical": data.TECHNICAL_AGENTS,
            "billing": data.BILLING_AGENTS,
            "marketer": data.MARKETERS,
        }
        if role == "rep":
            return owner_id
        return self.users[rng.choice(pools[role])].pk if role in pools else None


@dataclass(frozen=True)
class Source:
    """A campaign people can first meet us through, and from when to when."""

    campaign: Any
    starts_at: datetime
    ends_at: datetime

    @classmethod
    def all_open(cls, campaigns: Sequence[Any], period: Period) -> list[Source]:
        """The campaigns that ran (not planned, not cancelled), with their first-touch window."""
        sources = []
        for campaign in campaigns:
            if campaign.status not in ("active", "completed"):
                continue
            if campaign.kind in EVENT_KINDS:  # people meet us on the event days only
                start, end = period.at(campaign.starts_on, 10), period.at(campaign.ends_on, 17)
            else:
                start = max(period.at(campaign.starts_on, 0), period.start)
                end = min(period.at(campaign.ends_on, 23, 59), period.end)
            sources.append(cls(campaign, start, end))
        return sources

    def open_before(self, latest: datetime) -> bool:
        if self.campaign.kind in EVENT_KINDS:
            return self.ends_at <= latest
        return self.starts_at < latest


@dataclass
class ContactPlan:
    contact: Contact
    transitions: list[JourneyTransition] = field(default_factory=list)
    touchpoints: list[Touchpoint] = field(default_factory=list)


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def in_office_hours(at: datetime, start: datetime, end: datetime) -> datetime:
    """`at` moved to 9:00-17:59 (local time) of its day, if that keeps it in (start, end]."""
    if 9 <= at.hour < 18:
        return at
    moved = at.replace(hour=9 + at.hour % 9)
    return moved if start < moved <= end else at


def moment_between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole-second moment after `start` and no later than `end`, in office hours if it can."""
    seconds = max(1, int((end - start).total_seconds()))
    return in_office_hours(start + timedelta(seconds=rng.randint(1, seconds)), start, end)


# --- People -------------------------------------------------------------------------------------


def phone_number(rng: random.Random, area_codes: tuple[str, ...]) -> str:
    """A landline of the company's region or a mobile, sometimes in international form."""
    if not area_codes or rng.random() < 0.25:
        area = rng.choice(("090", "080", "070"))
        number = f"{area}-{rng.randrange(10_000):04d}-{rng.randrange(10_000):04d}"
    else:
        area = rng.choice(area_codes)
        local = 9 - len(area)  # ten digits in all: area code, a 2-9, then the rest
        digits = f"{rng.randint(2, 9)}{rng.randrange(10**local):0{local}d}"
        number = f"{area}-{digits[:-4]}-{digits[-4:]}"
    return "+81 " + number[1:] if rng.random() < 0.1 else number


def new_person(rng: random.Random, company: Company | None, taken_emails: set[str]) -> Contact:
    """A person with a unique lower-case email; at a company, or an individual customer."""
    if rng.random() < (0.85 if company is None or company.japanese else 0.45):
        given, given_kanji = rng.choice(data.JAPANESE_GIVEN_NAMES)
        family, family_kanji = rng.choice(data.JAPANESE_FAMILY_NAMES)
        name = f"{family_kanji} {given_kanji}" if rng.random() < 0.5 else f"{given} {family}"
    else:
        given, family = rng.choice(data.ENGLISH_GIVEN_NAMES), rng.choice(data.ENGLISH_FAMILY_NAMES)
        name = f"{given} {family}"
    if company is None:
        domain = rng.choice(data.PERSONAL_MAIL_DOMAINS)
        local = f"{given}.{family}{rng.randrange(1, 100)}"
    else:
        domain = company.account.domain
        local = f"{given[0]}.{family}" if rng.random() < 0.3 else f"{given}.{family}"
    email = f"{local}@{domain}".lower()
    for number in itertools.count(2):
        if email not in taken_emails:
            break
        email = f"{local}{number}@{domain}".lower()
    taken_emails.add(email)
    phone = phone_number(rng, company.area_codes if company else ()) if rng.random() < 0.85 else ""
    return Contact(
        name=name,
        email=email,
        phone=phone,
        phone_normalized=normalize_phone(phone),
        title=rng.choice(data.TITLES) if company else "",
        department=rng.choice(data.DEPARTMENTS) if company else "",
        account_id=company.account.pk if company else None,
        owner_id=company.account.owner_id if company else None,
    )


# --- Journeys -----------------------------------------------------------------------------------


def stage_quota(rng: random.Random, total: int) -> list[str]:
    """The current stage of each contact: the funnel's shape by largest remainder, shuffled."""
    weight_sum = sum(data.STAGE_WEIGHTS.values())
    exact = {stage: total * weight / weight_sum for stage, weight in data.STAGE_WEIGHTS.items()}
    counts = {stage: int(share) for stage, share in exact.items()}
    by_remainder = sorted(exact, key=lambda stage: counts[stage] - exact[stage])
    for stage in by_remainder[: total - sum(counts.values())]:
        counts[stage] += 1
    stages = [stage for stage, count in counts.items() for _ in range(count)]
    rng.shuffle(stages)
    return stages


def journey_stages(rng: random.Random, final: str) -> list[str]:
    """The stages a contact went through to reach `final`, detours included."""
    if final == JourneyStage.AWARENESS:
        return [final]
    if final == JourneyStage.LOST:
        peak = rng.choice((JourneyStage.LEAD, JourneyStage.PROSPECT, JourneyStage.PROSPECT))
    elif final == JourneyStage.DORMANT:
        peak = rng.choice((JourneyStage.LEAD, JourneyStage.CUSTOMER, JourneyStage.CUSTOMER))
    else:
        peak = final
    funnel = list(journey.FUNNEL)
    first = JourneyStage.LEAD if rng.random() < 0.3 else JourneyStage.AWARENESS
    stages = funnel[funnel.index(first) : funnel.index(peak) + 1]
    if JourneyStage.CUSTOMER in stages and rng.random() < 0.1:
        stages.remove(JourneyStage.PROSPECT)  # ordered straight from a quote
    if JourneyStage.PROSPECT in stages and rng.random() < 0.08:  # a setback, then on track again
        at = stages.index(JourneyStage.PROSPECT) + 1
        stages[at:at] = [JourneyStage.LEAD, JourneyStage.PROSPECT]
    elif final != JourneyStage.LOST and peak != JourneyStage.LEAD and rng.random() < 0.05:
        at = stages.index(JourneyStage.LEAD) + 1  # lost once, came back with a new project
        stages[at:at] = [JourneyStage.LOST, JourneyStage.LEAD]
    return stages if final == peak else [*stages, final]


def move_cause(rng: random.Random, from_stage: str, to_stage: str) -> str:
    """Why the contact moved; never blank for backward moves and moves to lost or dormant."""
    move = journey.classify_move(from_stage, to_stage)
    if move == journey.Move.BACKWARD:
        return rng.choice(data.BACKWARD_CAUSES)
    if move == journey.Move.REACTIVATION:
        return rng.choice(data.REACTIVATION_CAUSES)
    if to_stage == JourneyStage.LOST:
        return rng.choice(data.LOST_CAUSES)
    if to_stage == JourneyStage.DORMANT:
        return rng.choice(data.DORMANT_CAUSES)
    return rng.choice(data.FORWARD_CAUSES[to_stage])


def move_times(rng: random.Random, first_at: datetime, moves: int, end: datetime) -> list[datetime]:
    """When the contact entered each stage: the first touch, then `moves` spread before `end`."""
    available = (end - timedelta(hours=1) - first_at).total_seconds()
    span = available * rng.uniform(0.35, 0.95)
    gaps = [rng.uniform(0.2, 1.0) for _ in range(moves)]
    times = [first_at]
    for seconds in itertools.accumulate(span * gap / sum(gaps) for gap in gaps):
        at = first_at + timedelta(seconds=int(seconds))
        times.append(in_office_hours(at, times[-1], end - timedelta(hours=1)))
    return times


def source_campaign(
    rng: random.Random, sources: Sequence[Source], *, first_stage: str, latest: datetime
) -> tuple[Any, datetime]:
    """The campaign that brought the contact in, and when: early enough for the whole journey."""
    lead_source = first_stage == JourneyStage.LEAD
    kinds = data.LEAD_SOURCE_KINDS if lead_source else data.AWARENESS_SOURCE_KINDS
    kind = weighted(rng, {kind: data.SOURCE_KIND_WEIGHTS[kind] for kind in kinds})
    eligible = [source for source in sources if source.open_before(latest)]
    choices = [s for s in eligible if s.campaign.kind == kind] or [
        s for s in eligible if s.campaign.kind in kinds
    ]
    if not choices:
        raise CommandError("No campaign is old enough to start a contact's journey.")
    source = rng.choice(choices)
    campaign = source.campaign
    if campaign.kind in EVENT_KINDS:
        event_days = (campaign.ends_on - campaign.starts_on).days + 1
        day, minute = rng.randrange(event_days), rng.randrange(420)
        return campaign, source.starts_at + timedelta(days=day, minutes=minute)
    return campaign, moment_between(rng, source.starts_at, min(source.ends_at, latest))


def journey_history(
    rng: random.Random, contact: Contact, stages: list[str], times: list[datetime], staff: Staff
) -> list[JourneyTransition]:
    """One row per move: ∅ → first stage, each from the previous row's stage, times increasing."""
    rows = []
    for from_stage, to_stage, at in zip(["", *stages], stages, times, strict=False):
        if not from_stage:
            cause, actor_id = "first contact", None
        else:
            cause = move_cause(rng, from_stage, to_stage)
            role = {JourneyStage.LEAD: "marketer", JourneyStage.DORMANT: ""}.get(to_stage, "rep")
            actor_id = staff.handler_id(rng, role, contact.owner_id)
        rows.append(
            JourneyTransition(
                contact=contact,
                from_stage=from_stage,
                to_stage=to_stage,
                created_at=at,
                actor_id=actor_id,
                cause=cause,
            )
        )
    return rows


# --- Timeline -----------------------------------------------------------------------------------


def order_amount(rng: random.Random, company: Company | None) -> Decimal:
    """An order's value in JPY, in steps of ten thousand yen, by the size of the company."""
    low, high = data.ORDER_RANGES[company.account.size if company else ""]
    return Decimal(rng.randrange(low // 10_000, high // 10_000 + 1) * 10_000)


def contact_timeline(
    rng: random.Random,
    contact: Contact,
    stages: list[str],
    times: list[datetime],
    *,
    company: Company | None,
    campaign: Any,
    period: Period,
    staff: Staff,
) -> list[Touchpoint]:
    """The first touch, activity while at each stage, and what led to each move (before it)."""

    def touch(kind: str, channel: str, role: str, summary: str, at: datetime, **extra: Any):
        return Touchpoint(
            kind=kind,
            channel=channel,
            occurred_at=at,
            created_at=at,
            contact=contact,
            account_id=contact.account_id,
            actor_id=staff.handler_id(rng, role, contact.owner_id),
            summary=summary,
            **extra,
        )

    def order(summary: str, at: datetime, amount: Decimal) -> Touchpoint:
        return touch("order", "sales_rep", "rep", summary, at, amount=amount, currency="JPY")

    kind, channel, summary = data.FIRST_TOUCH_BY_CAMPAIGN_KIND[campaign.kind]
    role = "rep" if campaign.kind == "referral" else ""
    summary = f"{summary}: {campaign.name}"
    timeline = [touch(kind, channel, role, summary, times[0], campaign_id=campaign.pk)]
    for index, stage in enumerate(stages):
        start = times[index]
        end = times[index + 1] if index + 1 < len(stages) else period.end
        busy_until = (start + (end - start) * 0.8).replace(microsecond=0)
        for _ in range(rng.randint(*ACTIVITY_COUNTS[stage])):
            activity = rng.choice(data.STAGE_ACTIVITY[stage])
            timeline.append(touch(*activity, moment_between(rng, start, busy_until)))
        if stage in (JourneyStage.CUSTOMER, JourneyStage.PROMOTER) and rng.random() < 0.3:
            at = moment_between(rng, start, busy_until)
            timeline.append(
                order("Repeat order: additional licences", at, order_amount(rng, company))
            )
        if index + 1 == len(stages):
            break
        next_stage, lead_time = stages[index + 1], (end - start) * 0.15
        move = journey.classify_move(stage, next_stage)
        if move == journey.Move.BACKWARD:
            trigger = ("email", "email", "rep", "Customer postponed the project")
        elif move == journey.Move.REACTIVATION:
            trigger = ("form", "web", "", "Asked for a new proposal")
        else:
            trigger = data.STEP_TRIGGER.get(next_stage)
        trigger_at = (end - lead_time * rng.uniform(0.5, 1.0)).replace(microsecond=0)
        trigger_at = in_office_hours(trigger_at, start, end - lead_time / 2)
        if next_stage == JourneyStage.CUSTOMER:
            quoted = order_amount(rng, company)
            timeline.append(touch(*trigger, trigger_at, amount=quoted, currency="JPY"))
            discount = rng.choice((100, 100, 95, 90))
            ordered = Decimal(int(quoted) * discount // 100 // 10_000 * 10_000)
            ordered_at = (end - lead_time * rng.uniform(0.0, 0.25)).replace(microsecond=0)
            ordered_at = in_office_hours(ordered_at, trigger_at, end)
            timeline.append(order("First order", ordered_at, ordered))
        elif trigger:
            timeline.append(touch(*trigger, trigger_at))
    return timeline


def plan_contact(
    rng: random.Random,
    final_stage: str,
    *,
    pick_company: Any,
    sources: Sequence[Source],
    period: Period,
    staff: Staff,
    taken_emails: set[str],
) -> ContactPlan:
    """A person at `final_stage` with the journey history and timeline that led there."""
    company = None if rng.random() < INDIVIDUAL_SHARE else pick_company(rng)
    contact = new_person(rng, company, taken_emails)
    if contact.owner_id is None:
        contact.owner_id = staff.users[rng.choice(data.EAST_REPS + data.WEST_REPS)].pk
    stages = journey_stages(rng, final_stage)
    moves = len(stages) - 1
    latest = period.end - timedelta(hours=1, days=MIN_DAYS_PER_MOVE * moves)
    campaign, first_at = source_campaign(rng, sources, first_stage=stages[0], latest=latest)
    times = move_times(rng, first_at, moves, period.end)
    contact.stage = final_stage
    contact.created_at = times[0]
    contact.stage_changed_at = times[-1]
    transitions = journey_history(rng, contact, stages, times, staff)
    transitions[0].cause = f"first contact: {campaign.name}"
    touchpoints = contact_timeline(
        rng, contact, stages, times, company=company, campaign=campaign, period=period, staff=staff
    )
    return ContactPlan(contact, transitions, touchpoints)
