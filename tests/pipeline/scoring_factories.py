"""Factories and helpers for the lead scoring and screening tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from accounts import roles
from accounts.models import JourneyTransition, Team
from pipeline.models import FollowUpTask, LeadScore, ScoringRule, ScreeningPolicy
from tests.factories import ContactFactory, TeamFactory, TouchpointFactory, UserFactory

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class FitRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoringRule

    name = factory.Sequence(lambda n: f"Fit rule {n}")
    kind = ScoringRule.Kind.FIT
    points = 10
    attribute = ScoringRule.Attribute.TITLE
    operator = ScoringRule.Operator.EQUALS
    value = "CTO"


class BehaviourRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoringRule

    name = factory.Sequence(lambda n: f"Behaviour rule {n}")
    kind = ScoringRule.Kind.BEHAVIOUR
    points = 5
    half_life_days = 0


def touch(contact, *, days_ago: float = 0, **kwargs):
    """A touchpoint `days_ago` days before NOW (a web visit unless told otherwise)."""
    return TouchpointFactory(contact=contact, occurred_at=NOW - timedelta(days=days_ago), **kwargs)


def stored_score(contact) -> Decimal:
    return LeadScore.objects.get(contact=contact).score


def breakdown_points(contact) -> dict[str, float]:
    return {
        entry["name"]: entry["points"] for entry in LeadScore.objects.get(contact=contact).breakdown
    }


def scored_contact(score: str, *, stage: str = "lead", **kwargs):
    """A contact with a stored score (set-up for screening, which reads LeadScore)."""
    contact = ContactFactory(stage=stage, **kwargs)
    LeadScore.objects.create(contact=contact, score=Decimal(score))
    return contact


def sales_rep(username: str, *, active: bool = True):
    user = UserFactory(username=username, role=roles.SALES_REP)
    if not active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    return user


def policy_with_team(*members, threshold: str = "50") -> ScreeningPolicy:
    team = TeamFactory(kind=Team.Kind.SALES)
    team.members.set(members)
    policy, _created = ScreeningPolicy.objects.get_or_create(pk=1)
    policy.sales_team = team
    policy.hot_threshold = Decimal(threshold)
    policy.last_assignee = None
    policy.save()
    return policy


def assignees(contacts) -> list[str | None]:
    by_contact = {
        task.contact_id: task.assignee.username if task.assignee else None
        for task in FollowUpTask.objects.select_related("assignee")
    }
    return [by_contact.get(contact.pk) for contact in contacts]


def last_move(contact) -> tuple:
    """(from, to, by, why) of the contact's latest journey history row."""
    move = JourneyTransition.objects.filter(contact=contact).order_by("-id").first()
    return (move.from_stage, move.to_stage, move.actor, move.cause)
