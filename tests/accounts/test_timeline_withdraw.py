"""touchpoints_withdraw: a service takes back only the timeline entries its own records wrote."""

from __future__ import annotations

import pytest

from accounts.models import Account, Touchpoint
from accounts.services import touchpoint_record, touchpoints_withdraw
from accounts.signals import touchpoints_recorded
from tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db


def test_it_deletes_the_entries_written_by_the_source_model_and_announces_the_change(
    django_capture_on_commit_callbacks,
):
    contact = ContactFactory()
    source = AccountFactory()
    mine = touchpoint_record(kind="call", channel="phone", contact=contact, source=source)
    other = touchpoint_record(kind="call", channel="phone", contact=contact, source=contact)
    announced = []

    def listen(sender, contact_ids, **kwargs):
        announced.append(contact_ids)

    touchpoints_recorded.connect(listen)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            gone = touchpoints_withdraw(touchpoint_ids=[mine.pk, other.pk], source_model=Account)
    finally:
        touchpoints_recorded.disconnect(listen)

    assert gone == 1
    assert list(Touchpoint.objects.values_list("pk", flat=True)) == [other.pk]
    assert announced == [[contact.pk]]
