"""Automatic assignment: the first active rule matching an inquiry's channel and category puts it
in the rule's team queue and, by the rule's strategy, assigns one of the team's active members.

Round robin locks the rule row, so two inquiries arriving together never get the same turn.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q

from inquiries.models import AssignmentRule, Inquiry
from inquiries.rulebook import rulebook
from inquiries.statuses import ACTIVE


def rule_for(inquiry: Inquiry) -> AssignmentRule | None:
    """The first active rule (by position) for the inquiry's channel and category; a blank
    channel or category on the rule matches any, and categories match ignoring case."""
    category = (inquiry.category or "").upper()
    for rule in rulebook().rules:
        if rule.channel in ("", inquiry.channel) and rule.category.upper() in ("", category):
            return rule
    return None


def _agents(rule: AssignmentRule):
    return get_user_model().objects.filter(teams=rule.team, is_active=True).order_by("id")


def pick_assignee(rule: AssignmentRule):
    """The agent the rule's strategy gives the next inquiry to (None: queue only / no agent).
    Must run inside a transaction (the round-robin cursor row is locked)."""
    if rule.strategy == AssignmentRule.Strategy.QUEUE_ONLY:
        return None
    if rule.strategy == AssignmentRule.Strategy.LEAST_OPEN:
        return (
            _agents(rule)
            .annotate(
                open_work=Count(
                    "assigned_inquiries", filter=Q(assigned_inquiries__status__in=list(ACTIVE))
                )
            )
            .order_by("open_work", "id")
            .first()
        )
    locked = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    agents = list(_agents(rule).only("id"))
    if not agents:
        return None
    after = [agent for agent in agents if agent.pk > (locked.last_assignee_id or 0)]
    chosen = (after or agents)[0]
    AssignmentRule.objects.filter(pk=rule.pk).update(last_assignee=chosen)
    return chosen


def route(inquiry: Inquiry) -> tuple[AssignmentRule | None, object | None]:
    """The matching rule and the agent it picks; (None, None) when no rule matches."""
    rule = rule_for(inquiry)
    if rule is None:
        return None, None
    with transaction.atomic():
        return rule, pick_assignee(rule)
