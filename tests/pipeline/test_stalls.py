"""Stalled-deal detection (pipeline.stalls.detect_stalled_deals and its Celery task).

Defaults from the migration: list and opportunity stall after 30 days in the stage, proposal
after 21, quote after 14; the policy's idle threshold is 14 days.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Notification
from pipeline import tasks
from pipeline.deals import deal_move
from pipeline.models import Deal, DealStageSetting, DealStall, SalesPolicy
from pipeline.stalls import detect_stalled_deals
from tests.factories import (
    AccountFactory,
    DealFactory,
    TeamFactory,
    TouchpointFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _deal(*, at: datetime = T0, **kwargs) -> Deal:
    return DealFactory(stage_changed_at=at, last_activity_at=at, created_at=at, **kwargs)


def _stalls(deal: Deal) -> list[tuple]:
    return list(
        deal.stalls.order_by("started_at", "id").values_list(
            "reason", "stage", "started_at", "ended_at"
        )
    )


def _is_stalled(deal: Deal) -> bool:
    return Deal.objects.values_list("is_stalled", flat=True).get(pk=deal.pk)


def test_it_flags_a_deal_idle_longer_than_the_policy_with_an_open_stall():
    deal = _deal()
    now = T0 + timedelta(days=15)

    counts = detect_stalled_deals(now=now)

    assert counts == {"flagged": 1, "unflagged": 0, "stalled": 1}
    assert _is_stalled(deal) is True
    assert _stalls(deal) == [("no_activity", "list", now, None)]


def test_it_changes_nothing_when_run_twice():
    deal = _deal()
    now = T0 + timedelta(days=15)
    detect_stalled_deals(now=now)

    counts = detect_stalled_deals(now=now + timedelta(hours=1))

    assert counts == {"flagged": 0, "unflagged": 0, "stalled": 1}
    assert _stalls(deal) == [("no_activity", "list", now, None)]
    assert Notification.objects.count() == 1


def test_it_leaves_a_deal_idle_for_less_than_the_policy_alone():
    deal = _deal()

    counts = detect_stalled_deals(now=T0 + timedelta(days=13))

    assert counts == {"flagged": 0, "unflagged": 0, "stalled": 0}
    assert _is_stalled(deal) is False
    assert DealStall.objects.count() == 0


def test_it_reads_the_idle_days_from_the_sales_policy():
    SalesPolicy.objects.filter(pk=1).update(idle_after_days=3)
    idle = _deal(at=T0 - timedelta(days=4))
    active = _deal(at=T0 - timedelta(days=2))

    detect_stalled_deals(now=T0)

    assert (_is_stalled(idle), _is_stalled(active)) == (True, False)


def test_it_flags_a_deal_too_long_in_its_stage_even_with_recent_activity():
    DealStageSetting.objects.filter(stage="opportunity").update(stall_after_days=5)
    deal = _deal(stage="opportunity", at=T0 - timedelta(days=6))
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=T0 - timedelta(days=1))

    counts = detect_stalled_deals(now=T0)

    assert counts["flagged"] == 1
    assert _stalls(deal) == [("time_in_stage", "opportunity", T0, None)]


def test_it_uses_each_stages_own_threshold():
    DealStageSetting.objects.filter(stage="quote").update(stall_after_days=3)
    SalesPolicy.objects.filter(pk=1).update(idle_after_days=100)
    quote = _deal(stage="quote", at=T0 - timedelta(days=4))
    listed = _deal(stage="list", at=T0 - timedelta(days=4))

    detect_stalled_deals(now=T0)

    assert (_is_stalled(quote), _is_stalled(listed)) == (True, False)


def test_it_never_stalls_by_time_in_a_stage_without_a_threshold():
    DealStageSetting.objects.filter(stage="list").update(stall_after_days=None)
    deal = _deal(at=T0 - timedelta(days=365))
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=T0 - timedelta(days=1))

    counts = detect_stalled_deals(now=T0)

    assert counts == {"flagged": 0, "unflagged": 0, "stalled": 0}


def test_it_never_stalls_closed_deals():
    old = T0 - timedelta(days=400)
    for stage in ("won", "lost"):
        _deal(stage=stage, at=old, closed_at=old)

    counts = detect_stalled_deals(now=T0)

    assert counts == {"flagged": 0, "unflagged": 0, "stalled": 0}
    assert DealStall.objects.count() == 0


def test_it_unflags_a_deal_closed_without_its_stall_being_ended():
    deal = _deal()
    detect_stalled_deals(now=T0 + timedelta(days=15))
    closed_at = T0 + timedelta(days=16)
    Deal.objects.filter(pk=deal.pk).update(stage="won", closed_at=closed_at)
    now = T0 + timedelta(days=17)

    counts = detect_stalled_deals(now=now)

    assert counts == {"flagged": 0, "unflagged": 1, "stalled": 0}
    assert _stalls(deal) == [("no_activity", "list", T0 + timedelta(days=15), now)]


def test_it_revives_a_deal_when_its_contact_has_a_new_touchpoint():
    deal = _deal()
    flagged_at = T0 + timedelta(days=15)
    detect_stalled_deals(now=flagged_at)
    TouchpointFactory(contact=deal.contact, occurred_at=flagged_at + timedelta(hours=2))
    now = flagged_at + timedelta(days=1)

    counts = detect_stalled_deals(now=now)

    assert counts == {"flagged": 0, "unflagged": 1, "stalled": 0}
    assert _is_stalled(deal) is False
    assert _stalls(deal) == [("no_activity", "list", flagged_at, now)]


def test_it_revives_a_deal_without_contact_by_a_touchpoint_on_its_account():
    account = AccountFactory()
    _deal(account=account, contact=None)
    TouchpointFactory(contact=None, account=account, occurred_at=T0 + timedelta(days=10))

    counts = detect_stalled_deals(now=T0 + timedelta(days=15))

    assert counts["flagged"] == 0


def test_it_ignores_touchpoints_of_other_people_of_the_account_when_the_deal_has_a_contact():
    deal = _deal()
    TouchpointFactory(contact=None, account=deal.account, occurred_at=T0 + timedelta(days=10))

    counts = detect_stalled_deals(now=T0 + timedelta(days=15))

    assert counts["flagged"] == 1


def test_it_flags_again_with_a_second_stall_and_notifies_again():
    DealStageSetting.objects.filter(stage="list").update(stall_after_days=None)
    team = TeamFactory(supervisor=UserFactory())
    deal = _deal(team=team)
    first = T0 + timedelta(days=15)
    detect_stalled_deals(now=first)
    revived_at = first + timedelta(hours=1)
    TouchpointFactory(contact=deal.contact, occurred_at=revived_at)
    unflagged_at = first + timedelta(days=1)
    detect_stalled_deals(now=unflagged_at)
    second = revived_at + timedelta(days=15)

    counts = detect_stalled_deals(now=second)

    assert counts == {"flagged": 1, "unflagged": 0, "stalled": 1}
    assert _stalls(deal) == [
        ("no_activity", "list", first, unflagged_at),
        ("no_activity", "list", second, None),
    ]
    stall_ids = list(deal.stalls.order_by("started_at").values_list("pk", flat=True))
    assert sorted(Notification.objects.values_list("recipient_id", "key")) == sorted(
        (recipient.pk, f"deal-stall:{stall_id}")
        for recipient in (deal.owner, team.supervisor)
        for stall_id in stall_ids
    )


def test_it_unflags_a_deal_when_its_threshold_is_raised():
    deal = _deal(stage="quote", at=T0 - timedelta(days=15))
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=T0)
    detect_stalled_deals(now=T0)
    DealStageSetting.objects.filter(stage="quote").update(stall_after_days=60)
    now = T0 + timedelta(hours=1)

    counts = detect_stalled_deals(now=now)

    assert counts == {"flagged": 0, "unflagged": 1, "stalled": 0}
    assert _stalls(deal) == [("time_in_stage", "quote", T0, now)]


def test_it_does_not_count_a_deal_moved_since_as_stalled():
    deal = _deal()
    detect_stalled_deals(now=T0 + timedelta(days=15))
    deal.refresh_from_db()
    moved_at = T0 + timedelta(days=16)
    deal_move(deal=deal, to_stage="proposal", at=moved_at)

    counts = detect_stalled_deals(now=T0 + timedelta(days=17))

    assert counts == {"flagged": 0, "unflagged": 0, "stalled": 0}
    assert _stalls(deal) == [("no_activity", "list", T0 + timedelta(days=15), moved_at)]


def test_it_notifies_the_owner_and_the_team_supervisor_once_per_stall(
    django_capture_on_commit_callbacks,
):
    owner = UserFactory(username="owner")
    supervisor = UserFactory(username="boss")
    deal = _deal(owner=owner, team=TeamFactory(supervisor=supervisor), name="Line 3 upgrade")
    now = T0 + timedelta(days=15)

    with django_capture_on_commit_callbacks(execute=True):
        detect_stalled_deals(now=now)
    with django_capture_on_commit_callbacks(execute=True):
        detect_stalled_deals(now=now + timedelta(hours=1))

    stall = deal.stalls.get()
    rows = Notification.objects.order_by("recipient__username")
    assert [(n.recipient, n.kind, n.key, n.subject) for n in rows] == [
        (supervisor, "deal_stalled", f"deal-stall:{stall.pk}", "Deal stalled: Line 3 upgrade"),
        (owner, "deal_stalled", f"deal-stall:{stall.pk}", "Deal stalled: Line 3 upgrade"),
    ]
    assert sorted(message.to[0] for message in mail.outbox) == [
        "boss@frontoffice.test",
        "owner@frontoffice.test",
    ]
    assert {message.subject for message in mail.outbox} == {"Deal stalled: Line 3 upgrade"}


def test_it_notifies_the_owner_alone_when_the_deal_has_no_team():
    deal = _deal(team=None)

    detect_stalled_deals(now=T0 + timedelta(days=15))

    assert list(Notification.objects.values_list("recipient", flat=True)) == [deal.owner_id]


def _population(size: int) -> None:
    """`size` deals of each kind a run handles: already flagged, to unflag, never stalled."""
    owner = UserFactory()
    revived = []
    for _ in range(size):
        _deal(owner=owner)
        revived.append(_deal(owner=owner))
        _deal(owner=owner, at=T0 + timedelta(days=10))
    detect_stalled_deals(now=T0 + timedelta(days=15))
    for deal in revived:
        TouchpointFactory(contact=deal.contact, occurred_at=T0 + timedelta(days=16))


def _queries_of_a_run() -> int:
    with CaptureQueriesContext(connection) as queries:
        counts = detect_stalled_deals(now=T0 + timedelta(days=17))
    assert counts == {
        "flagged": 0,
        "unflagged": Deal.objects.count() // 3,
        "stalled": Deal.objects.count() // 3,
    }
    return len(queries.captured_queries)


def test_it_uses_as_many_queries_for_many_deals_as_for_few():
    _population(2)
    few = _queries_of_a_run()
    Deal.objects.all().delete()

    _population(20)
    many = _queries_of_a_run()

    assert many == few


def test_it_runs_as_a_celery_task_with_an_iso_time():
    _deal()

    result = tasks.detect_stalled_deals.delay(now=(T0 + timedelta(days=15)).isoformat()).get()

    assert result == {"flagged": 1, "unflagged": 0, "stalled": 1}


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL=postgres://…): SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_it_opens_one_stall_and_notifies_once_when_runs_overlap(role_groups):
    deal = _deal(team=TeamFactory(supervisor=UserFactory()))
    threads = 6
    barrier = threading.Barrier(threads)
    now = T0 + timedelta(days=15)

    def run() -> dict[str, int]:
        try:
            barrier.wait(timeout=30)
            return detect_stalled_deals(now=now)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(run) for _ in range(threads)]
        results = [future.result(timeout=60) for future in futures]

    assert sum(result["flagged"] for result in results) == 1
    assert DealStall.objects.filter(deal=deal).count() == 1
    assert Notification.objects.count() == 2
