"""Who sees which deals, quotes and daily reports: one rule set for the API and the admin.

- A sales rep sees and edits their own deals, quotes and reports.
- A manager (``view_team_deals`` / ``review_dailyreport``) also sees those of the teams they
  supervise or belong to: deals whose team is one of them or whose owner is a member.
- A support agent (``view_served_customer_deals``) reads the deals of the customers they serve:
  customers they own or on whose timeline they have acted.
- ``view_all_deals`` (admins, marketers for attribution) sees every deal; superusers see all.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from accounts.models import Account, Contact, Touchpoint
from accounts.selectors import team_ids_of
from pipeline.models import DailyReport, Deal, Quote


def _team_member_ids(user) -> QuerySet:
    return get_user_model().objects.filter(teams__in=team_ids_of(user)).values("pk")


def _deal_scope(user, *, for_edit: bool) -> Q | None:
    """The Q a deal must match for `user`; None means every deal."""
    if user.is_superuser:
        return None
    if user.has_perm("pipeline.view_all_deals") and (
        not for_edit or user.has_perm("pipeline.change_deal")
    ):
        return None
    scope = Q(owner=user)
    if user.has_perm("pipeline.view_team_deals"):
        scope |= Q(team__in=team_ids_of(user)) | Q(owner__in=_team_member_ids(user))
    if not for_edit and user.has_perm("pipeline.view_served_customer_deals"):
        handled = Touchpoint.objects.filter(actor=user)
        # Subqueries, not joins to every deal's contact and account (see inquiries.selectors).
        scope |= (
            Q(contact__in=Contact.objects.filter(owner=user).values("pk"))
            | Q(account__in=Account.objects.filter(owner=user).values("pk"))
            | Q(contact__in=handled.filter(contact__isnull=False).values("contact"))
            | Q(account__in=handled.filter(account__isnull=False).values("account"))
        )
    return scope


def _scoped(queryset: QuerySet, scope: Q | None, *, prefix: str = "") -> QuerySet:
    if scope is None:
        return queryset
    if not prefix:
        return queryset.filter(scope)
    return queryset.filter(**{f"{prefix}__in": Deal.objects.filter(scope).values("pk")})


def deals_visible_to(user, queryset: QuerySet[Deal] | None = None) -> QuerySet[Deal]:
    queryset = Deal.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    return _scoped(queryset, _deal_scope(user, for_edit=False))


def deals_editable_by(user, queryset: QuerySet[Deal] | None = None) -> QuerySet[Deal]:
    queryset = Deal.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not user.has_perm("pipeline.change_deal"):
        return queryset.none()
    return _scoped(queryset, _deal_scope(user, for_edit=True))


def can_edit_deal(user, deal: Deal) -> bool:
    return deals_editable_by(user, Deal.objects.filter(pk=deal.pk)).exists()


def deal_owners_assignable_by(user) -> QuerySet:
    """The active staff `user` may make the owner of a deal they create or edit: anyone for
    those who edit every deal, the members of their teams for a manager, themselves otherwise."""
    users = get_user_model().objects.filter(is_active=True)
    if not user.is_authenticated or not user.has_perm("pipeline.change_deal"):
        return users.none()
    scope = _deal_scope(user, for_edit=True)
    if scope is None:
        return users
    if user.has_perm("pipeline.view_team_deals"):
        return users.filter(Q(pk=user.pk) | Q(pk__in=_team_member_ids(user)))
    return users.filter(pk=user.pk)


def quotes_visible_to(user, queryset: QuerySet[Quote] | None = None) -> QuerySet[Quote]:
    queryset = Quote.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    return _scoped(queryset, _deal_scope(user, for_edit=False), prefix="deal")


def quotes_editable_by(user, queryset: QuerySet[Quote] | None = None) -> QuerySet[Quote]:
    queryset = Quote.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not user.has_perm("pipeline.change_quote"):
        return queryset.none()
    return _scoped(queryset, _deal_scope(user, for_edit=True), prefix="deal")


def reports_visible_to(
    user, queryset: QuerySet[DailyReport] | None = None
) -> QuerySet[DailyReport]:
    """A rep's own reports; a reviewer's teams' reports; everyone's with view_all_deals."""
    queryset = DailyReport.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if user.is_superuser or user.has_perm("pipeline.view_all_deals"):
        return queryset
    scope = Q(rep=user)
    if user.has_perm("pipeline.review_dailyreport"):
        scope |= Q(rep__in=_team_member_ids(user))
    return queryset.filter(scope)


def reports_reviewable_by(
    user, queryset: QuerySet[DailyReport] | None = None
) -> QuerySet[DailyReport]:
    """Reports `user` may comment on and approve: their teams' reps', never their own."""
    queryset = DailyReport.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not user.has_perm("pipeline.review_dailyreport"):
        return queryset.none()
    if user.is_superuser or user.has_perm("pipeline.view_all_deals"):
        return queryset.exclude(rep=user)
    return queryset.filter(rep__in=_team_member_ids(user)).exclude(rep=user)
