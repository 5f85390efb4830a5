"""One FilterSet per list; the admin's list filters follow the same fields."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_filters.fields import DateRangeField

from accounts.models import (
    Account,
    Contact,
    JourneyStage,
    Team,
    Touchpoint,
    TouchpointChannel,
    TouchpointKind,
)

User = get_user_model()


class TextSearchFilter(django_filters.CharFilter):
    """`?q=` matches any of the given fields (case-insensitive substring)."""

    def __init__(self, *args, search_fields: tuple[str, ...], **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("label", "Text search")
        super().__init__(*args, **kwargs)
        self.search_fields = search_fields

    def filter(self, qs: QuerySet, value: str) -> QuerySet:
        value = (value or "").strip()
        if not value:
            return qs
        condition = Q()
        for field in self.search_fields:
            condition |= Q(**{f"{field}__icontains": value})
        return qs.filter(condition)


class BoundedDateRangeField(DateRangeField):
    """A date range whose day boundaries the database can store: `0001-01-01` at midnight in
    UTC+9 is in year 0, which would fail (500) when the query runs."""

    def compress(self, data_list):
        value = super().compress(data_list)
        for bound in (value.start, value.stop) if value is not None else ():
            if bound is None or not timezone.is_aware(bound):
                continue
            try:
                bound.astimezone(UTC)
            except OverflowError as exc:
                raise ValidationError("Date out of range.", code="overflow") from exc
        return value


class DayRangeFilter(django_filters.DateFromToRangeFilter):
    """`?<name>_after=YYYY-MM-DD&<name>_before=YYYY-MM-DD`, both days included."""

    field_class = BoundedDateRangeField


class IdFilter(django_filters.NumberFilter):
    """An id given as a number (for a model this app must not import): whole numbers in the
    database's range only, so `?campaign=10**30` is a 400 and not an overflow (500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.NullBooleanField):
    """true/false/1/0; anything else is a 400 (the stock field silently ignores `?x=yes`)."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        boolean = super().to_python(value)
        if boolean is None:
            raise ValidationError("Enter true or false.", code="invalid")
        return boolean


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


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
