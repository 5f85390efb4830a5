"""IdField: a serializer instance's copy shares the field's queryset instead of deep-copying its
query (a cost on every request), and still resolves ids against the database as it is now."""

from __future__ import annotations

import copy

import pytest
from rest_framework.exceptions import ValidationError

from accounts.models import Account
from frontoffice.api.serializers import IdField
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_a_copy_shares_the_queryset_and_reads_fresh_rows():
    field = IdField(queryset=Account.objects.filter(name__startswith="A"))
    copied = copy.deepcopy(field)
    account = AccountFactory(name="Acme")  # created after the copy: nothing was cached
    outside = AccountFactory(name="Zeta")  # not in the field's queryset

    assert copied.queryset is field.queryset
    assert copied.to_internal_value(account.pk) == account
    with pytest.raises(ValidationError) as caught:
        copied.to_internal_value(outside.pk)
    assert caught.value.detail == [f'Invalid pk "{outside.pk}" - object does not exist.']
