"""full_clean_or_400: field errors as a 400, no lookup of foreign keys given as instances."""

from __future__ import annotations

import pytest

from accounts.models import Touchpoint
from frontoffice.errors import ApplicationError
from frontoffice.validation import full_clean_or_400
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_it_does_not_look_up_a_foreign_key_given_as_an_instance(django_assert_num_queries):
    contact = ContactFactory()
    touchpoint = Touchpoint(kind="call", channel="phone", contact=contact)

    with django_assert_num_queries(0):
        full_clean_or_400(touchpoint)


def test_it_checks_a_foreign_key_given_by_id():
    touchpoint = Touchpoint(kind="call", channel="phone", contact_id=10**9)

    with pytest.raises(ApplicationError) as caught:
        full_clean_or_400(touchpoint)

    assert list(caught.value.errors) == ["contact"]


def test_it_reports_every_bad_field():
    touchpoint = Touchpoint(kind="fax", channel="pigeon", contact=ContactFactory())

    with pytest.raises(ApplicationError) as caught:
        full_clean_or_400(touchpoint)

    assert sorted(caught.value.errors) == ["channel", "kind"]
