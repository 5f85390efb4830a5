"""One FilterSet per list; the admin's list filters follow the same fields."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model

from accounts.models import (
    Account,
    Contact,
    JourneyStage,
    Team,
    Touchpoint,
    TouchpointChannel,
    TouchpointKind,
)
from frontoffice.api.filters import (
    BooleanFilter,
    DayRangeFilter,
    IdFilter,
    TextSearchFilter,
)

User = get_user_model()


def _users():
    return User.objects.all()


class AccountFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("name", "domain", "industry", "region"))
    owner = django_filters.ModelChoiceFilter(queryset=_users())
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), field_name="owner__teams", distinct=True
    )
    industry = django_filters.CharFilter(lookup_expr="iexact", max_length=100)
    region = django_filters.CharFilter(lookup_expr="iexact", max_length=100)
    size = django_filters.MultipleChoiceFilter(choices=Account.Size.choices)
    created_at = DayRangeFilter()

    class Meta:
        model = Account
        fields = ["q", "owner", "team", "industry", "region", "size", "domain", "created_at"]


class ContactFilter(django_filters.FilterSet):
    q = TextSearchFilter(
        search_fields=("name", "email", "phone", "title", "department", "account__name")
    )
    stage = django_filters.MultipleChoiceFilter(choices=JourneyStage.choices)
    owner = django_filters.ModelChoiceFilter(queryset=_users())
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), field_name="owner__teams", distinct=True
    )
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all())
    has_account = BooleanFilter(field_name="account", lookup_expr="isnull", exclude=True)
    created_at = DayRangeFilter()
    stage_changed_at = DayRangeFilter()

    class Meta:
        model = Contact
        fields = [
            "q",
            "stage",
            "owner",
            "team",
            "account",
            "has_account",
            "email",
            "created_at",
            "stage_changed_at",
        ]


class TouchpointFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("summary",))
    kind = django_filters.MultipleChoiceFilter(choices=TouchpointKind.choices)
    channel = django_filters.MultipleChoiceFilter(choices=TouchpointChannel.choices)
    contact = django_filters.ModelChoiceFilter(queryset=Contact.objects.all())
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.all())
    campaign = IdFilter(field_name="campaign_id")
    actor = django_filters.ModelChoiceFilter(queryset=_users())
    team = django_filters.ModelChoiceFilter(
        queryset=Team.objects.all(), field_name="actor__teams", distinct=True
    )
    occurred_at = DayRangeFilter()

    class Meta:
        model = Touchpoint
        fields = [
            "q",
            "kind",
            "channel",
            "contact",
            "account",
            "campaign",
            "actor",
            "team",
            "occurred_at",
        ]


class TeamFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("name",))
    kind = django_filters.MultipleChoiceFilter(choices=Team.Kind.choices)
    member = django_filters.ModelChoiceFilter(queryset=_users(), field_name="members")
    supervisor = django_filters.ModelChoiceFilter(queryset=_users())
    created_at = DayRangeFilter()

    class Meta:
        model = Team
        fields = ["q", "kind", "member", "supervisor", "created_at"]


class StaffFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("username", "first_name", "last_name", "email"))
    role = django_filters.CharFilter(field_name="groups__name", max_length=150)
    team = django_filters.ModelChoiceFilter(queryset=Team.objects.all(), field_name="teams")

    class Meta:
        model = User
        fields = ["q", "role", "team"]
