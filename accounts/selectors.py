"""Reads on customers and staff, shaped for what the API and admin show (no N+1)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import Account, Contact, JourneyTransition, Team, Touchpoint


def account_list() -> QuerySet[Account]:
    # A correlated subquery, not a GROUP BY over every account: the database counts contacts
    # only for the page it returns.
    contacts = (
        Contact.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Account.objects.select_related("owner").annotate(
        contact_count=Coalesce(Subquery(contacts, output_field=IntegerField()), 0)
    )


def contact_list() -> QuerySet[Contact]:
    return Contact.objects.select_related("account", "owner")


def _timeline() -> QuerySet[Touchpoint]:
    return Touchpoint.objects.select_related("contact", "account", "campaign", "actor").order_by(
        "-occurred_at", "-id"
    )


def contact_timeline(*, contact: Contact) -> QuerySet[Touchpoint]:
    """The person's contact history, newest first: one indexed query."""
    return _timeline().filter(contact=contact)


def account_timeline(*, account: Account) -> QuerySet[Touchpoint]:
    """Everything that happened with the organisation and its people, newest first."""
    return _timeline().filter(account=account)


def touchpoint_list() -> QuerySet[Touchpoint]:
    return _timeline()


def contact_journey(*, contact: Contact) -> QuerySet[JourneyTransition]:
    return contact.journey_transitions.select_related("actor").order_by("-created_at", "-id")


def team_list() -> QuerySet[Team]:
    return Team.objects.select_related("supervisor").prefetch_related(
        Prefetch("members", queryset=get_user_model().objects.only("id").order_by("id"))
    )


def staff_list() -> QuerySet:
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .prefetch_related("groups", Prefetch("teams", queryset=Team.objects.only("id", "name")))
        .order_by("username")
    )


def team_ids_of(user) -> QuerySet:
    """The ids of the teams `user` belongs to or supervises (a subquery for scoping rows)."""
    return Team.objects.filter(Q(supervisor=user) | Q(members=user)).values("pk")


def manages_all_teams(user) -> bool:
    """Who may put anyone in any team: those who may delete teams (the Admin role) and
    superusers. Team membership decides whose deals and inquiries a manager sees, so others
    may not use it to widen their own sight (``accounts.services.team_save``)."""
    return bool(user.is_superuser or user.has_perm("accounts.delete_team"))
