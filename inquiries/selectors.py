"""Who sees which inquiries and escalations: one rule set for the API and the admin.

- Everyone sees the inquiries assigned to them and those they logged for a customer.
- Agents and supervisors (``view_team_inquiries``) see their teams' queues (teams they belong to
  or supervise), the shared queue of inquiries no rule routed (no team, no assignee), and the
  inquiries of escalations addressed to them or to their teams.
- Sales reps see the inquiries of their own customers: contacts or accounts they own, and the
  customers of deals they own.
- ``view_all_inquiries`` (admins) and superusers see all.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Account, Contact
from accounts.selectors import team_ids_of
from inquiries.models import Escalation, Inquiry
from pipeline.models import Deal


def _scope(user) -> Q | None:
    if user.is_superuser or user.has_perm("inquiries.view_all_inquiries"):
        return None
    scope = Q(assignee=user) | Q(source_rep=user)
    if user.has_perm("inquiries.view_team_inquiries"):
        # The few team ids as values, not a subquery: PostgreSQL then reads the team's rows and
        # the escalations to it through their indexes (a subquery made it scan escalations).
        teams = list(team_ids_of(user).values_list("pk", flat=True))
        # Two subqueries, not one with an OR: each is read from its index alone.
        to_user = Escalation.objects.filter(owner=user).values("inquiry")
        to_teams = Escalation.objects.filter(to_team__in=teams).values("inquiry")
        scope |= Q(team__in=teams) | Q(pk__in=to_user) | Q(pk__in=to_teams)
        # Not routed to any team and nobody has it: the shared queue every agent can take from.
        scope |= Q(team__isnull=True, assignee__isnull=True)
    # Subqueries, not joins: joining every inquiry to its contact and account made a queue's
    # count read the whole contact table.
    scope |= Q(contact__in=Contact.objects.filter(owner=user).values("pk")) | Q(
        account__in=Account.objects.filter(owner=user).values("pk")
    )
    if user.has_perm("pipeline.view_deal"):
        own_deals = Deal.objects.filter(owner=user)
        scope |= Q(contact__in=own_deals.filter(contact__isnull=False).values("contact")) | Q(
            account__in=own_deals.filter(account__isnull=False).values("account")
        )
    return scope


def inquiries_visible_to(user, queryset: QuerySet[Inquiry] | None = None) -> QuerySet[Inquiry]:
    queryset = Inquiry.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    scope = _scope(user)
    return queryset if scope is None else queryset.filter(scope)


def inquiries_workable_by(user, queryset: QuerySet[Inquiry] | None = None) -> QuerySet[Inquiry]:
    """Inquiries `user` may answer, assign and move: visible ones, for users who answer
    inquiries (agents, supervisors, admins); reps only read."""
    queryset = Inquiry.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not user.has_perm("inquiries.answer_inquiry"):
        return queryset.none()
    return inquiries_visible_to(user, queryset)


def escalations_addressed_to(user, queryset: QuerySet[Escalation] | None = None):
    """Escalations `user` must act on: owned by them, or to a team they supervise."""
    queryset = Escalation.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser:
        return queryset
    return queryset.filter(Q(owner=user) | Q(to_team__supervisor=user))
