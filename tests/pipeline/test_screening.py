"""Screening: hot leads to sales reps in turn, the others nurtured; a rep's qualify/disqualify."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from accounts import roles
from accounts.models import Contact, JourneyStage, JourneyTransition, Team
from frontoffice.errors import ApplicationError, ConflictError
from pipeline import screening
from pipeline.models import FollowUpTask, LeadScore, ScreeningPolicy
from pipeline.screening import (
    lead_disqualify,
    lead_qualify,
    round_robin,
    screen_contacts,
    screening_policy_update,
)
from tests.factories import ContactFactory, TeamFactory, UserFactory
from tests.pipeline.scoring_factories import (
    NOW,
    assignees,
    last_move,
    policy_with_team,
    sales_rep,
    scored_contact,
)

pytestmark = pytest.mark.django_db

# --- Round robin (pure) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reps", "after", "count", "expected"),
    [
        ([3, 5, 9], None, 4, [3, 5, 9, 3]),
        ([3, 5, 9], 3, 2, [5, 9]),
        ([3, 5, 9], 9, 2, [3, 5]),
        # The last rep left the team: the turn goes to the next id after theirs.
        ([3, 5, 9], 4, 3, [5, 9, 3]),
        ([3, 5, 9], 12, 1, [3]),
        ([], 3, 2, [None, None]),
        ([7], 7, 2, [7, 7]),
    ],
)
def test_it_takes_turns_in_id_order_after_the_last_assignee(reps, after, count, expected):
    assert round_robin(reps, after=after, count=count) == expected


# --- Screening ----------------------------------------------------------------------------------


@pytest.fixture
def team_of_three():
    """Members in id order: ann (rep), inactive (rep, inactive), bob (rep), mia (marketer),
    cat (rep). Only ann, bob and cat take leads."""
    ann = sales_rep("ann")
    inactive = sales_rep("inactive", active=False)
    bob = sales_rep("bob")
    mia = UserFactory(username="mia", role=roles.MARKETER)
    cat = sales_rep("cat")
    policy_with_team(ann, inactive, bob, mia, cat)
    return ann, bob, cat, mia


def test_it_assigns_hot_leads_round_robin_skipping_inactive_and_non_reps(team_of_three):
    leads = [scored_contact("60") for _ in range(5)]

    result = screen_contacts()

    assert assignees(leads) == ["ann", "bob", "cat", "ann", "bob"]
    assert len(result.follow_ups) == 5
    assert ScreeningPolicy.objects.get(pk=1).last_assignee.username == "bob"


def test_it_continues_after_the_last_assignee_across_runs(team_of_three):
    first = [scored_contact("70") for _ in range(2)]
    screen_contacts()
    second = [scored_contact("70") for _ in range(2)]

    screen_contacts(contact_ids=[contact.pk for contact in second])

    assert assignees(first) == ["ann", "bob"]
    assert assignees(second) == ["cat", "ann"]


def test_it_gives_no_second_open_follow_up_when_screened_again(team_of_three):
    lead = scored_contact("80")
    screen_contacts()

    again = screen_contacts()

    assert again.follow_ups == []
    assert FollowUpTask.objects.filter(contact=lead).count() == 1
    assert ScreeningPolicy.objects.get(pk=1).last_assignee.username == "ann"


def test_it_nurtures_contacts_below_the_threshold(team_of_three):
    just_below = scored_contact("49.99")
    at_threshold = scored_contact("50.00")

    result = screen_contacts()

    assert (result.hot, result.nurture) == (1, 1)
    assert LeadScore.objects.get(contact=just_below).segment == "nurture"
    assert LeadScore.objects.get(contact=at_threshold).segment == "hot"
    assert not FollowUpTask.objects.filter(contact=just_below).exists()
    assert Contact.objects.get(pk=just_below.pk).stage == "lead"


def test_it_moves_a_cooled_lead_from_hot_to_nurture(team_of_three):
    lead = scored_contact("60")
    screen_contacts()
    LeadScore.objects.filter(contact=lead).update(score=Decimal("20"))

    result = screen_contacts()

    assert (result.hot, result.nurture) == (0, 1)
    assert LeadScore.objects.get(contact=lead).segment == "nurture"


def test_it_creates_the_follow_up_unassigned_when_there_is_no_sales_team():
    policy, _created = ScreeningPolicy.objects.get_or_create(pk=1)
    policy.hot_threshold = Decimal("50")
    policy.save()
    lead = scored_contact("90")

    screen_contacts()

    task = FollowUpTask.objects.get(contact=lead)
    assert (task.assignee, task.status) == (None, "open")
    assert ScreeningPolicy.objects.get(pk=1).last_assignee is None


def test_it_creates_the_follow_up_unassigned_when_the_team_has_no_active_rep():
    policy_with_team(sales_rep("gone", active=False), UserFactory(username="mia"))
    lead = scored_contact("90")

    screen_contacts()

    assert FollowUpTask.objects.get(contact=lead).assignee is None


def test_it_creates_the_policy_when_it_is_missing():
    ScreeningPolicy.objects.all().delete()
    lead = scored_contact("60")

    screen_contacts()

    policy = ScreeningPolicy.objects.get(pk=1)
    assert policy.hot_threshold == Decimal("50.00")
    assert LeadScore.objects.get(contact=lead).segment == "hot"


@time_machine.travel(NOW, tick=False)
def test_it_moves_a_hot_contact_to_lead_and_makes_it_due_within_the_policy_hours(team_of_three):
    ScreeningPolicy.objects.filter(pk=1).update(follow_up_within_hours=4)
    newcomer = scored_contact("75.50", stage=JourneyStage.AWARENESS)

    screen_contacts()

    assert Contact.objects.get(pk=newcomer.pk).stage == "lead"
    assert last_move(newcomer) == ("awareness", "lead", None, "hot lead (score 75.50)")
    assert JourneyTransition.objects.filter(contact=newcomer).latest("id").created_at == NOW
    task = FollowUpTask.objects.get(contact=newcomer)
    assert (task.score, task.due_at, task.created_at) == (
        Decimal("75.50"),
        NOW + timedelta(hours=4),
        NOW,
    )


def test_it_leaves_prospects_and_customers_without_follow_ups(team_of_three):
    prospect = scored_contact("90", stage=JourneyStage.PROSPECT)
    customer = scored_contact("90", stage=JourneyStage.CUSTOMER)

    screen_contacts()

    assert not FollowUpTask.objects.exists()
    assert set(LeadScore.objects.values_list("segment", flat=True)) == {"hot"}
    assert Contact.objects.get(pk=prospect.pk).stage == "prospect"
    assert Contact.objects.get(pk=customer.pk).stage == "customer"


def test_it_screens_only_the_given_contacts(team_of_three):
    given = scored_contact("90")
    other = scored_contact("90")

    screen_contacts(contact_ids=[given.pk])

    assert assignees([given, other]) == ["ann", None]
    assert LeadScore.objects.get(contact=other).segment == ""


# --- Qualify and disqualify ---------------------------------------------------------------------


@pytest.fixture
def hot_lead(team_of_three):
    lead = scored_contact("80")
    screen_contacts()
    return lead


def test_it_qualifies_a_lead_into_a_prospect_and_closes_its_follow_up(hot_lead, team_of_three):
    ann = team_of_three[0]

    lead_qualify(contact=hot_lead, actor=ann)

    assert Contact.objects.get(pk=hot_lead.pk).stage == "prospect"
    assert last_move(hot_lead) == ("lead", "prospect", ann, "qualified")
    task = FollowUpTask.objects.get(contact=hot_lead)
    assert (task.status, task.outcome) == ("done", "qualified")
    assert task.closed_at is not None


def test_it_disqualifies_a_lead_with_the_reason(hot_lead, team_of_three):
    bob = team_of_three[1]

    lead_disqualify(contact=hot_lead, actor=bob, reason="  Student, no budget ")

    assert Contact.objects.get(pk=hot_lead.pk).stage == "lost"
    assert last_move(hot_lead) == ("lead", "lost", bob, "Student, no budget")
    task = FollowUpTask.objects.get(contact=hot_lead)
    assert (task.status, task.outcome) == ("cancelled", "Student, no budget")


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_it_refuses_to_disqualify_without_a_usable_reason(reason, hot_lead, team_of_three):
    with pytest.raises(ApplicationError) as exc:
        lead_disqualify(contact=hot_lead, actor=team_of_three[0], reason=reason)

    assert list(exc.value.errors) == ["reason"]
    assert Contact.objects.get(pk=hot_lead.pk).stage == "lead"
    assert FollowUpTask.objects.get(contact=hot_lead).status == "open"


@pytest.mark.parametrize("stage", ["prospect", "customer", "lost"])
def test_it_refuses_to_decide_on_a_contact_that_is_no_lead(stage, team_of_three):
    contact = ContactFactory(stage=stage)
    transitions = JourneyTransition.objects.count()

    with pytest.raises(ConflictError):
        lead_qualify(contact=contact, actor=team_of_three[0])
    with pytest.raises(ConflictError):
        lead_disqualify(contact=contact, actor=team_of_three[0], reason="not a fit")

    assert JourneyTransition.objects.count() == transitions


def test_it_qualifies_a_lead_without_a_follow_up():
    contact = ContactFactory(stage=JourneyStage.AWARENESS)

    lead_qualify(contact=contact, actor=None)

    assert Contact.objects.get(pk=contact.pk).stage == "prospect"


# --- The policy ---------------------------------------------------------------------------------


def test_it_rescreens_everyone_after_the_threshold_changes(django_capture_on_commit_callbacks):
    lead = scored_contact("30")
    policy = screening.screening_policy()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        screening_policy_update(policy=policy, hot_threshold=Decimal("25"))

    assert len(callbacks) == 1
    assert ScreeningPolicy.objects.get(pk=1).hot_threshold == Decimal("25.00")
    # The full rescore recomputed the score (no rules: 0) before screening it.
    assert LeadScore.objects.get(contact=lead).segment == "nurture"
    assert LeadScore.objects.get(contact=lead).score == Decimal("0.00")


def test_it_does_not_rescreen_when_only_the_team_changes(django_capture_on_commit_callbacks):
    team = TeamFactory(kind=Team.Kind.SALES)

    with django_capture_on_commit_callbacks() as callbacks:
        screening_policy_update(policy=screening.screening_policy(), sales_team=team)

    assert callbacks == []
    assert ScreeningPolicy.objects.get(pk=1).sales_team == team


def test_it_refuses_a_team_that_is_not_a_sales_team():
    support = TeamFactory(kind=Team.Kind.SUPPORT)

    with pytest.raises(ApplicationError) as exc:
        screening_policy_update(policy=screening.screening_policy(), sales_team=support)

    assert list(exc.value.errors) == ["sales_team"]
    assert ScreeningPolicy.objects.get(pk=1).sales_team is None


def test_it_refuses_a_negative_threshold():
    with pytest.raises(ApplicationError) as exc:
        screening_policy_update(policy=screening.screening_policy(), hot_threshold=Decimal("-1"))

    assert list(exc.value.errors) == ["hot_threshold"]


# --- Concurrent screenings (PostgreSQL) ---------------------------------------------------------

ON_POSTGRES_ONLY = "needs PostgreSQL (set DATABASE_URL=postgres://…): SQLite serialises writers"


def _screen_at_once(id_lists: list[list[int]]) -> None:
    """Screen each list of contact ids in its own thread, released together."""
    barrier = threading.Barrier(len(id_lists))

    def run(contact_ids: list[int]) -> None:
        try:
            barrier.wait(timeout=30)
            screen_contacts(contact_ids=contact_ids)
        finally:
            connection.close()  # each thread opened its own connection

    with ThreadPoolExecutor(max_workers=len(id_lists)) as pool:
        for future in [pool.submit(run, ids) for ids in id_lists]:
            future.result(timeout=60)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason=ON_POSTGRES_ONLY)
@pytest.mark.usefixtures("role_groups")
def test_it_gives_concurrent_screenings_different_turns():
    ann, bob, cat = sales_rep("ann"), sales_rep("bob"), sales_rep("cat")
    policy_with_team(ann, bob, cat)
    leads = [scored_contact("60") for _ in range(6)]

    _screen_at_once([[lead.pk] for lead in leads])

    assert sorted(assignees(leads)) == ["ann", "ann", "bob", "bob", "cat", "cat"]


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason=ON_POSTGRES_ONLY)
@pytest.mark.usefixtures("role_groups")
def test_it_gives_one_follow_up_when_the_same_lead_is_screened_at_once():
    policy_with_team(sales_rep("ann"), sales_rep("bob"))
    lead = scored_contact("60")

    _screen_at_once([[lead.pk]] * 5)

    assert FollowUpTask.objects.filter(contact=lead).count() == 1
    assert JourneyTransition.objects.filter(contact=lead).count() == 1
