"""`manage.py seed_demo`: staff, teams, campaigns and customers with consistent histories."""

from __future__ import annotations

import io
import itertools
import re
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from accounts import journey
from accounts.identity import company_domain_of, normalize_phone
from accounts.models import Account, Contact, JourneyTransition, Team, Touchpoint
from inquiries.models import Inquiry
from pipeline.models import Campaign, DailyReport, Deal, Quote

TODAY = "2025-06-30"
CONTACTS = 200

pytestmark = pytest.mark.django_db


def seed_demo(*args: str, **options) -> str:
    out = io.StringIO()
    options = {"contacts": CONTACTS, "today": TODAY, "no_progress": True, **options}
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def start_of_today() -> datetime:
    return datetime.combine(
        date.fromisoformat(TODAY), time.min, tzinfo=timezone.get_current_timezone()
    )


def fingerprint() -> tuple[list, ...]:
    """Everything seeded that must not change between two runs (ids aside)."""
    return (
        list(
            get_user_model()
            .objects.order_by("username")
            .values_list("username", "first_name", "password", "date_joined", "groups__name")
        ),
        list(Campaign.objects.order_by("name").values_list("name", "kind", "starts_on", "cost")),
        list(Account.objects.order_by("domain").values_list("domain", "name", "size", "region")),
        list(
            Contact.objects.order_by("email").values_list(
                "email", "name", "phone_normalized", "account__domain", "owner__username",
                "stage", "stage_changed_at", "created_at", "updated_at",
            )
        ),
        list(
            JourneyTransition.objects.order_by("contact__email", "created_at").values_list(
                "contact__email", "from_stage", "to_stage", "created_at", "actor__username", "cause"
            )
        ),
        [
            # Inquiry messages name their inquiry ("[#12] ..."): ids differ between runs.
            (*row[:-1], re.sub(r"\[#\d+\]", "[#]", row[-1]))
            for row in Touchpoint.objects.order_by(
                "contact__email", "occurred_at", "kind", "summary"
            ).values_list(
                "contact__email", "kind", "channel", "occurred_at", "amount", "actor__username",
                "campaign__name", "summary",
            )
        ],
        list(
            Inquiry.objects.order_by("contact__email", "created_at", "subject").values_list(
                "contact__email", "channel", "subject", "status", "priority", "assignee__username",
                "team__name", "first_response_due_at", "first_responded_at", "resolved_at",
            )
        ),
        list(
            Deal.objects.order_by("contact__email", "created_at").values_list(
                "contact__email", "name", "owner__username", "team__name", "stage", "amount",
                "created_at", "updated_at", "closed_at", "lost_reason",
            )
        ),
        list(Quote.objects.order_by("number").values_list("number", "status", "total", "sent_at")),
        list(
            DailyReport.objects.order_by(
                "rep__username", "day", "activities__occurred_at", "activities__kind"
            ).values_list(
                "rep__username", "day", "status", "manager_comment", "activities__kind",
            )
        ),
    )  # fmt: skip


def test_it_creates_users_for_every_role():
    seed_demo()

    members = defaultdict(list)
    for role, username in Group.objects.order_by("name", "user__username").values_list(
        "name", "user__username"
    ):
        members[role].append(username)
    assert dict(members) == {
        "Admin": ["admin"],
        "Manager": ["manager1", "manager2", "manager3", "manager4"],
        "Marketer": ["marketer1", "marketer2", "marketer3"],
        "Sales rep": [f"rep{number}" for number in range(1, 9)],
        "Support agent": [f"agent{number}" for number in range(1, 9)],
    }
    users = get_user_model().objects.all()
    assert users.filter(is_staff=False).count() == 0
    assert list(users.filter(is_superuser=True).values_list("username", flat=True)) == ["admin"]
    assert users.get(username="rep3").check_password("demo-password")


def test_it_gives_every_demo_user_the_given_password():
    seed_demo(password="another-Secret-9")

    users = get_user_model().objects.all()
    assert [user.username for user in users if not user.check_password("another-Secret-9")] == []


def test_it_creates_teams_each_with_a_supervisor_among_its_members():
    seed_demo()

    teams = Team.objects.select_related("supervisor").prefetch_related("members")
    assert Counter(team.kind for team in teams) == {
        "sales": 2,
        "support": 1,
        "specialist": 2,
        "marketing": 1,
    }
    assert [team.name for team in teams if team.supervisor not in team.members.all()] == []
    assert {team.name: team.supervisor.username for team in teams}["Technical Support"] == "agent5"


def test_it_spreads_contacts_over_every_journey_stage_in_a_funnel_shape():
    seed_demo()

    assert Counter(Contact.objects.values_list("stage", flat=True)) == {
        "awareness": 60,
        "lead": 48,
        "prospect": 28,
        "customer": 28,
        "promoter": 10,
        "dormant": 12,
        "lost": 14,
    }


def test_it_ends_every_journey_history_at_the_contact_s_current_stage():
    seed_demo()

    latest = JourneyTransition.objects.filter(contact=OuterRef("pk")).order_by("-created_at", "-id")
    contacts = Contact.objects.annotate(
        last_stage=Subquery(latest.values("to_stage")[:1]),
        last_at=Subquery(latest.values("created_at")[:1]),
    )
    assert contacts.count() == CONTACTS
    assert contacts.exclude(stage=F("last_stage")).count() == 0
    assert contacts.exclude(stage_changed_at=F("last_at")).count() == 0
    assert JourneyTransition.objects.filter(from_stage="").count() == CONTACTS


def test_it_writes_a_chained_history_with_reasons_for_every_contact():
    seed_demo()

    histories = defaultdict(list)
    for row in JourneyTransition.objects.order_by("contact_id", "created_at", "id").values_list(
        "contact_id", "from_stage", "to_stage", "created_at", "cause"
    ):
        histories[row[0]].append(row[1:])
    broken = []
    for contact_id, rows in histories.items():
        stages = [to_stage for _from, to_stage, _at, _cause in rows]
        times = [at for _from, _to, at, _cause in rows]
        chained = [from_stage for from_stage, *_rest in rows] == ["", *stages[:-1]]
        increasing = all(earlier < later for earlier, later in itertools.pairwise(times))
        in_last_year = start_of_today() - timedelta(days=365) <= times[0]
        in_last_year = in_last_year and times[-1] < start_of_today()
        explained = all(
            journey.can_transition(from_stage, to_stage, has_reason=bool(cause))
            for from_stage, to_stage, _at, cause in rows[1:]
        )
        if not (chained and increasing and in_last_year and explained):
            broken.append(contact_id)
    assert len(histories) == CONTACTS
    assert broken == []
    moves = Counter(
        journey.classify_move(from_stage, to_stage)
        for rows in histories.values()
        for from_stage, to_stage, _at, _cause in rows[1:]
    )
    assert set(moves) == {"forward", "backward", "to_side", "reactivation"}


def test_it_gives_contacts_normalised_unique_emails_and_phones():
    seed_demo()

    rows = list(
        Contact.objects.values_list("email", "phone", "phone_normalized", "account__domain")
    )
    emails = [email for email, *_rest in rows]
    assert len(set(emails)) == CONTACTS
    assert [email for email in emails if email != email.strip().lower()] == []
    assert [row for row in rows if row[2] != normalize_phone(row[1])] == []
    at_companies = [(email, domain) for email, _p, _n, domain in rows if domain]
    individuals = [email for email, _p, _n, domain in rows if not domain]
    assert [email for email, domain in at_companies if not email.endswith(f"@{domain}")] == []
    assert individuals
    assert [email for email in individuals if company_domain_of(email)] == []


def test_it_puts_touchpoints_on_every_contact_s_timeline_within_its_journey():
    seed_demo()

    first_moves = dict(
        JourneyTransition.objects.filter(from_stage="").values_list("contact_id", "created_at")
    )
    timelines = defaultdict(list)
    for contact_id, at, account_id, contact_account_id in Touchpoint.objects.values_list(
        "contact_id", "occurred_at", "account_id", "contact__account_id"
    ):
        assert account_id == contact_account_id
        timelines[contact_id].append(at)
    assert len(timelines) == CONTACTS
    assert [
        contact_id
        for contact_id, times in timelines.items()
        if min(times) != first_moves[contact_id] or max(times) >= start_of_today()
    ] == []


def test_it_ties_event_visits_to_the_days_of_exhibitions_and_seminars():
    seed_demo()

    visits = Touchpoint.objects.filter(kind="event_visit").select_related("campaign")
    assert visits.count() > 0
    assert [
        visit.pk
        for visit in visits
        if visit.campaign.kind not in ("exhibition", "seminar")
        or not (
            visit.campaign.starts_on
            <= timezone.localtime(visit.occurred_at).date()
            <= visit.campaign.ends_on
        )
    ] == []


def test_it_has_staff_handle_sales_and_support_touchpoints():
    seed_demo()

    roles_by_kind = defaultdict(set)
    for kind, role in Touchpoint.objects.filter(
        kind__in=["call", "meeting", "visit", "quote", "order", "chat"]
    ).values_list("kind", "actor__groups__name"):
        roles_by_kind[kind].add(role)
    assert dict(roles_by_kind) == {
        "call": {"Sales rep", "Support agent"},
        "meeting": {"Sales rep"},
        "visit": {"Sales rep"},
        "quote": {"Sales rep"},
        "order": {"Sales rep"},
        "chat": {"Support agent"},
    }


def test_it_records_a_first_order_in_yen_before_a_contact_becomes_a_customer():
    seed_demo()

    became_customer = {}
    for contact_id, at in (
        JourneyTransition.objects.filter(to_stage="customer")
        .order_by("-created_at")
        .values_list("contact_id", "created_at")
    ):
        became_customer[contact_id] = at  # the earliest wins
    first_orders = {}
    for contact_id, at, amount, currency in (
        Touchpoint.objects.filter(kind="order")
        .order_by("-occurred_at")
        .values_list("contact_id", "occurred_at", "amount", "currency")
    ):
        assert amount > 0
        assert currency == "JPY"
        first_orders[contact_id] = at
    assert set(first_orders) == set(became_customer)
    assert [pk for pk, at in first_orders.items() if at > became_customer[pk]] == []


def test_it_creates_campaigns_of_every_kind_over_the_last_year():
    seed_demo()

    campaigns = Campaign.objects.filter(status__in=["active", "completed"])
    assert set(campaigns.values_list("kind", flat=True)) == set(Campaign.Kind.values)
    first_day = date.fromisoformat(TODAY) - timedelta(days=365)
    assert campaigns.filter(starts_on__lt=first_day).count() == 0
    assert campaigns.filter(cost__lte=0).count() == 0


def test_it_produces_the_same_data_for_the_same_seed_and_day():
    seed_demo()
    first_run = fingerprint()

    seed_demo(reset=True)

    assert fingerprint() == first_run


def test_it_produces_other_data_for_another_seed():
    seed_demo()
    first_run = fingerprint()

    seed_demo(reset=True, seed=7)

    assert fingerprint()[3] != first_run[3]


def test_it_refuses_to_run_twice_without_reset():
    seed_demo()
    before = fingerprint()

    output = seed_demo(contacts=50)

    assert "already exists" in output
    assert "--reset" in output
    assert fingerprint() == before


def test_it_replaces_the_demo_data_with_reset():
    seed_demo()

    seed_demo(reset=True, contacts=50)

    assert Contact.objects.count() == 50
    assert JourneyTransition.objects.filter(from_stage="").count() == 50
    assert get_user_model().objects.count() == 24
    assert Team.objects.count() == 6


def test_it_prints_a_table_of_the_logins():
    output = seed_demo(password="demo-pass-2")

    lines = output.splitlines()
    assert any(re.fullmatch(r"admin\s+Admin\s+-\s+demo-pass-2", line) for line in lines)
    assert any(
        re.fullmatch(r"rep5\s+Sales rep\s+Sales West \(Osaka\)\s+demo-pass-2", line)
        for line in lines
    )


def test_it_shows_no_progress_bar_when_not_writing_to_a_terminal(capsys):
    seed_demo(no_progress=False)

    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--contacts", "-5"], "--contacts must be a positive number"),
        (["--contacts", "many"], "invalid int value"),
        (["--today", "yesterday"], "--today must be a date as YYYY-MM-DD"),
        (["--today", "2025-02-30"], "--today must be a date as YYYY-MM-DD"),
        (["--password", " "], "--password must not be empty"),
    ],
)
def test_it_rejects_bad_options_and_writes_nothing(argv, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("seed_demo", *argv, "--no-progress", stdout=io.StringIO())

    assert get_user_model().objects.count() == 0
    assert Contact.objects.count() == 0


def test_it_writes_nothing_when_a_step_fails_half_way(monkeypatch):
    def disk_full(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(Touchpoint.objects, "bulk_create", disk_full)

    with pytest.raises(DatabaseError, match="disk full"):
        seed_demo()

    assert get_user_model().objects.count() == 0
    assert Team.objects.count() == 0
    assert Campaign.objects.count() == 0
    assert Account.objects.count() == 0
    assert Contact.objects.count() == 0
