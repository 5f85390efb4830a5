"""Lead scoring: fit and behaviour rules, decay, the breakdown, history rows, and the paths that
trigger a rescore (touchpoints recorded, rules changed)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import JourneyStage, Touchpoint
from accounts.services import journey_move, touchpoint_record
from frontoffice.errors import ApplicationError
from frontoffice.models import OutboxTask
from pipeline import scoring
from pipeline.models import LeadScore, LeadScoreChange, ScoringRule
from pipeline.scoring import ScoringResult, score_contacts
from pipeline.tasks import rescore_all, rescore_contacts
from tests.broker import unreachable_broker
from tests.factories import AccountFactory, CampaignFactory, ContactFactory
from tests.pipeline.scoring_factories import (
    NOW,
    BehaviourRuleFactory,
    FitRuleFactory,
    breakdown_points,
    stored_score,
    touch,
)

pytestmark = pytest.mark.django_db


# --- Fit rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribute", "operator", "value", "contact_fields", "account_fields", "expected"),
    [
        ("title", "equals", "CTO", {"title": "cto"}, None, Decimal("10.00")),
        ("title", "equals", "CTO", {"title": "Deputy CTO"}, None, Decimal("0.00")),
        ("title", "contains", "manager", {"title": "Sales MANAGER"}, None, Decimal("10.00")),
        ("title", "contains", "manager", {"title": "Engineer"}, None, Decimal("0.00")),
        ("department", "equals", "it", {"department": "IT"}, None, Decimal("10.00")),
        ("department", "contains", "purch", {"department": "Purchasing"}, None, Decimal("10.00")),
        ("department", "contains", "purch", {"department": "Sales"}, None, Decimal("0.00")),
        (
            "industry",
            "equals",
            "manufacturing",
            {},
            {"industry": "Manufacturing"},
            Decimal("10.00"),
        ),
        ("industry", "equals", "manufacturing", {}, {"industry": "Retail"}, Decimal("0.00")),
        ("industry", "contains", "TECH", {}, {"industry": "Biotechnology"}, Decimal("10.00")),
        ("size", "equals", "1000+", {}, {"size": "1000+"}, Decimal("10.00")),
        ("size", "equals", "1000+", {}, {"size": "250-999"}, Decimal("0.00")),
        ("size", "contains", "250", {}, {"size": "250-999"}, Decimal("10.00")),
        ("region", "equals", "KANTO", {}, {"region": "Kanto"}, Decimal("10.00")),
        ("region", "contains", "kan", {}, {"region": "Kansai"}, Decimal("10.00")),
        ("region", "contains", "kan", {}, {"region": "Tohoku"}, Decimal("0.00")),
        # No account: the account attributes match nothing.
        ("industry", "equals", "manufacturing", {}, None, Decimal("0.00")),
    ],
)
def test_it_gives_fit_points_when_the_attribute_matches_case_insensitively(
    attribute, operator, value, contact_fields, account_fields, expected
):
    FitRuleFactory(name="Fit", attribute=attribute, operator=operator, value=value, points=10)
    account = AccountFactory(**account_fields) if account_fields is not None else None
    contact = ContactFactory(account=account, **contact_fields)

    score_contacts(now=NOW)

    assert stored_score(contact) == expected
    assert breakdown_points(contact) == ({"Fit": 10.0} if expected else {})


def test_it_gives_fit_points_once_however_many_touchpoints():
    FitRuleFactory(name="CTO", value="CTO", points=10)
    contact = ContactFactory(title="CTO")
    for _ in range(3):
        touch(contact)

    score_contacts(now=NOW)

    assert stored_score(contact) == Decimal("10.00")


# --- Behaviour rules ----------------------------------------------------------------------------


def test_it_gives_behaviour_points_per_touchpoint_of_the_kind():
    BehaviourRuleFactory(name="Web visits", touchpoint_kind="web_visit", points=5)
    contact = ContactFactory()
    touch(contact, kind="web_visit", channel="web")
    touch(contact, kind="web_visit", channel="web")
    touch(contact, kind="content_download", channel="web")

    score_contacts(now=NOW)

    assert stored_score(contact) == Decimal("10.00")
    assert breakdown_points(contact) == {"Web visits": 10.0}


def test_it_gives_behaviour_points_per_touchpoint_on_the_channel():
    BehaviourRuleFactory(name="Emails", channel="email", points=4)
    contact = ContactFactory()
    touch(contact, kind="email", channel="email")
    touch(contact, kind="chat", channel="email")
    touch(contact, kind="email", channel="web")

    score_contacts(now=NOW)

    assert stored_score(contact) == Decimal("8.00")


def test_it_gives_behaviour_points_per_touchpoint_of_the_campaign():
    exhibition, webinar = CampaignFactory(), CampaignFactory()
    BehaviourRuleFactory(name="Exhibition", campaign=exhibition, points=7)
    contact = ContactFactory()
    touch(contact, kind="event_visit", channel="in_person", campaign=exhibition)
    touch(contact, kind="event_visit", channel="in_person", campaign=webinar)
    touch(contact, kind="event_visit", channel="in_person")

    score_contacts(now=NOW)

    assert stored_score(contact) == Decimal("7.00")


def test_it_needs_every_condition_of_a_behaviour_rule_to_match():
    BehaviourRuleFactory(name="Web downloads", touchpoint_kind="content_download", channel="web")
    contact = ContactFactory()
    touch(contact, kind="content_download", channel="web")
    touch(contact, kind="content_download", channel="email")
    touch(contact, kind="web_visit", channel="web")

    score_contacts(now=NOW)

    assert stored_score(contact) == Decimal("5.00")


def test_it_counts_every_touchpoint_for_a_rule_without_conditions():
    BehaviourRuleFactory(name="Any activity", points=1)
    BehaviourRuleFactory(name="Downloads", touchpoint_kind="content_download", points=3)
    contact = ContactFactory()
    touch(contact, kind="note", channel="other")
    touch(contact, kind="call", channel="phone")
    touch(contact, kind="content_download", channel="web")

    score_contacts(now=NOW)

    assert breakdown_points(contact) == {"Any activity": 3.0, "Downloads": 3.0}
    assert stored_score(contact) == Decimal("6.00")


# --- Decay --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [(0, Decimal("8.00")), (30, Decimal("4.00")), (60, Decimal("2.00")), (15, Decimal("5.66"))],
)
def test_it_halves_behaviour_points_every_half_life(days_ago, expected):
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=8, half_life_days=30)
    contact = ContactFactory()
    touch(contact, days_ago=days_ago)

    score_contacts(now=NOW)

    assert stored_score(contact) == expected


def test_it_decays_the_same_touchpoint_as_time_passes():
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=8, half_life_days=30)
    contact = ContactFactory()
    touch(contact, days_ago=0)

    score_contacts(now=NOW)
    fresh = stored_score(contact)
    score_contacts(now=NOW + timedelta(days=30))
    one_half_life = stored_score(contact)
    score_contacts(now=NOW + timedelta(days=60))

    assert (fresh, one_half_life, stored_score(contact)) == (
        Decimal("8.00"),
        Decimal("4.00"),
        Decimal("2.00"),
    )


def test_it_does_not_decay_with_a_half_life_of_zero():
    BehaviourRuleFactory(name="Events", touchpoint_kind="event_visit", points=20, half_life_days=0)
    contact = ContactFactory()
    touch(contact, kind="event_visit", channel="in_person", days_ago=1000)

    score_contacts(now=NOW)

    assert stored_score(contact) == Decimal("20.00")


def test_it_does_not_count_touchpoints_after_now():
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5)
    contact = ContactFactory()
    touch(contact, days_ago=1)
    touch(contact, days_ago=-1)

    score_contacts(now=NOW)

    assert stored_score(contact) == Decimal("5.00")


# --- The score and its breakdown ----------------------------------------------------------------


def test_it_subtracts_negative_points():
    FitRuleFactory(name="Student", attribute="title", operator="contains", value="student")
    ScoringRule.objects.filter(name="Student").update(points=-15)
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5)
    contact = ContactFactory(title="PhD Student")
    touch(contact)

    score_contacts(now=NOW)

    assert stored_score(contact) == Decimal("-10.00")
    assert breakdown_points(contact) == {"Visits": 5.0, "Student": -15.0}


def test_it_makes_the_breakdown_sum_exactly_to_the_score():
    for name, hl in (("Visits", 7), ("Downloads", 11), ("Any", 3)):
        BehaviourRuleFactory(name=name, points=3, half_life_days=hl)
    ScoringRule.objects.filter(name="Visits").update(touchpoint_kind="web_visit")
    ScoringRule.objects.filter(name="Downloads").update(touchpoint_kind="content_download")
    contacts = [ContactFactory() for _ in range(5)]
    for index, contact in enumerate(contacts):
        for days in (0.3 * index, 1.7 + index, 5.9):
            touch(contact, days_ago=days, kind="web_visit")
            touch(contact, days_ago=days + 0.5, kind="content_download")

    score_contacts(now=NOW)

    for lead in LeadScore.objects.filter(contact__in=contacts):
        points = [Decimal(str(entry["points"])) for entry in lead.breakdown]
        assert all(point == point.quantize(Decimal("0.01")) for point in points)
        assert sum(points) == lead.score
        assert len(points) == 3


def test_it_explains_each_rule_with_its_id_name_kind_and_points():
    cto = FitRuleFactory(name="CTO", value="CTO", points=10)
    visits = BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5)
    BehaviourRuleFactory(name="Downloads", touchpoint_kind="content_download", points=9)
    contact = ContactFactory(title="CTO")
    touch(contact)

    score_contacts(now=NOW)

    lead = LeadScore.objects.get(contact=contact)
    assert lead.breakdown == [
        {"rule": cto.pk, "name": "CTO", "kind": "fit", "points": 10.0},
        {"rule": visits.pk, "name": "Visits", "kind": "behaviour", "points": 5.0},
    ]
    assert (lead.score, lead.computed_at) == (Decimal("15.00"), NOW)


def test_it_ignores_inactive_rules():
    FitRuleFactory(name="CTO", value="CTO", points=10, is_active=False)
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5, is_active=False)
    BehaviourRuleFactory(name="Calls", touchpoint_kind="call", points=2)
    contact = ContactFactory(title="CTO")
    touch(contact)
    touch(contact, kind="call", channel="phone")

    score_contacts(now=NOW)

    assert breakdown_points(contact) == {"Calls": 2.0}


def test_it_scores_with_no_rules_at_all():
    contact = ContactFactory()
    touch(contact)

    result = score_contacts(now=NOW)

    assert result == ScoringResult(scored=1, changed=0)
    assert (stored_score(contact), LeadScore.objects.get(contact=contact).breakdown) == (
        Decimal("0.00"),
        [],
    )


def test_it_gives_the_same_scores_on_every_database():
    """Run on SQLite and on PostgreSQL (DATABASE_URL): the same fixture, the same literals."""
    exhibition = CampaignFactory()
    FitRuleFactory(name="Director", attribute="title", operator="contains", value="director")
    ScoringRule.objects.filter(name="Director").update(points=15)
    FitRuleFactory(name="Maker", attribute="industry", value="manufacturing", points=10)
    FitRuleFactory(name="Enterprise", attribute="size", value="1000+", points=5)
    FitRuleFactory(name="Kanto", attribute="region", operator="contains", value="kan", points=-3)
    BehaviourRuleFactory(name="Event", touchpoint_kind="event_visit", points=20, half_life_days=0)
    BehaviourRuleFactory(
        name="Web", touchpoint_kind="web_visit", channel="web", points=3, half_life_days=7
    )
    BehaviourRuleFactory(
        name="Download", touchpoint_kind="content_download", points=8, half_life_days=30
    )
    BehaviourRuleFactory(name="Exhibition", campaign=exhibition, points=6, half_life_days=14)
    BehaviourRuleFactory(name="Any", points=1, half_life_days=90)
    account = AccountFactory(industry="Manufacturing", size="1000+", region="Kanto")
    director = ContactFactory(title="Sales Director", account=account)
    touch(director, kind="event_visit", channel="in_person", campaign=exhibition, days_ago=10)
    touch(director, kind="web_visit", channel="web", days_ago=3)
    touch(director, kind="web_visit", channel="web", days_ago=10)
    touch(director, kind="content_download", channel="web", days_ago=45)
    engineer = ContactFactory(title="Engineer")
    touch(engineer, kind="web_visit", channel="web", campaign=exhibition, days_ago=1)
    touch(engineer, kind="email", channel="email", days_ago=100)
    customer = ContactFactory(title="Director", stage=JourneyStage.CUSTOMER)

    result = score_contacts(now=NOW)

    assert result == ScoringResult(scored=2, changed=2)
    assert breakdown_points(director) == {
        "Event": 20.0,
        "Director": 15.0,
        "Maker": 10.0,
        "Enterprise": 5.0,
        "Exhibition": 3.66,
        "Any": 3.54,
        "Web": 3.34,
        "Download": 2.83,
        "Kanto": -3.0,
    }
    assert stored_score(director) == Decimal("60.37")
    assert breakdown_points(engineer) == {"Exhibition": 5.71, "Web": 2.72, "Any": 1.46}
    assert stored_score(engineer) == Decimal("9.89")
    assert not LeadScore.objects.filter(contact=customer).exists()


def test_it_scores_in_chunks_as_it_does_at_once(monkeypatch):
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5, half_life_days=10)
    FitRuleFactory(name="CTO", value="CTO", points=10)
    contacts = [ContactFactory(title="CTO" if n % 2 else "") for n in range(7)]
    ContactFactory(stage=JourneyStage.CUSTOMER)
    for n, contact in enumerate(contacts):
        for days in range(n):
            touch(contact, days_ago=days * 3)
    score_contacts(now=NOW)
    at_once = dict(LeadScore.objects.values_list("contact_id", "score"))
    LeadScore.objects.all().delete()
    monkeypatch.setattr(scoring, "CHUNK_SIZE", 2)

    result = score_contacts(now=NOW)

    assert result.scored == 7
    assert dict(LeadScore.objects.values_list("contact_id", "score")) == at_once


# --- Which contacts, history, idempotence -------------------------------------------------------


def test_it_scores_only_the_given_contacts():
    FitRuleFactory(name="CTO", value="CTO", points=10)
    first, _second = ContactFactory(title="CTO"), ContactFactory(title="CTO")

    result = score_contacts(contact_ids=[first.pk], now=NOW)

    assert result == ScoringResult(scored=1, changed=1)
    assert list(LeadScore.objects.values_list("contact_id", flat=True)) == [first.pk]


def test_it_keeps_the_last_score_of_a_contact_past_the_scored_stages():
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5)
    contact = ContactFactory(stage=JourneyStage.PROSPECT)
    touch(contact)
    score_contacts(now=NOW)
    journey_move(contact=contact, to_stage=JourneyStage.CUSTOMER)
    touch(contact)

    result = score_contacts(now=NOW + timedelta(days=1))

    assert result == ScoringResult(scored=0, changed=0)
    assert stored_score(contact) == Decimal("5.00")


def test_it_writes_a_change_row_only_when_the_score_changes():
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5)
    contact = ContactFactory()
    touch(contact)
    quiet = ContactFactory()

    score_contacts(now=NOW, cause="first")
    score_contacts(now=NOW + timedelta(hours=1), cause="nothing new")
    touch(contact)
    score_contacts(now=NOW + timedelta(hours=2), cause="second visit")

    rows = LeadScoreChange.objects.order_by("created_at", "id")
    assert list(
        rows.values_list("contact_id", "from_score", "to_score", "cause", "created_at")
    ) == [
        (contact.pk, None, Decimal("5.00"), "first", NOW),
        (contact.pk, Decimal("5.00"), Decimal("10.00"), "second visit", NOW + timedelta(hours=2)),
    ]
    assert stored_score(quiet) == Decimal("0.00")


def test_it_stores_the_same_result_when_run_twice():
    FitRuleFactory(name="CTO", value="CTO", points=10)
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5, half_life_days=30)
    contact = ContactFactory(title="CTO")
    touch(contact, days_ago=12)

    first = score_contacts(now=NOW)
    stored = list(LeadScore.objects.values_list("contact_id", "score", "breakdown", "computed_at"))
    second = score_contacts(now=NOW)

    assert (first, second) == (ScoringResult(1, 1), ScoringResult(1, 0))
    assert (
        list(LeadScore.objects.values_list("contact_id", "score", "breakdown", "computed_at"))
        == stored
    )
    assert LeadScoreChange.objects.count() == 1


# --- What triggers a rescore --------------------------------------------------------------------


def test_it_rescores_a_contact_when_a_touchpoint_is_recorded(django_capture_on_commit_callbacks):
    BehaviourRuleFactory(name="Downloads", touchpoint_kind="content_download", points=12)
    contact = ContactFactory()

    with django_capture_on_commit_callbacks(execute=True):
        touchpoint_record(contact=contact, kind="content_download", channel="web")

    lead = LeadScore.objects.get(contact=contact)
    assert (lead.score, lead.segment) == (Decimal("12.00"), "nurture")
    change = LeadScoreChange.objects.get(contact=contact)
    assert (change.to_score, change.cause) == (Decimal("12.00"), "touchpoints recorded")


def test_it_does_not_rescore_before_the_touchpoint_commits(django_capture_on_commit_callbacks):
    BehaviourRuleFactory(name="Downloads", touchpoint_kind="content_download", points=12)
    contact = ContactFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        touchpoint_record(contact=contact, kind="content_download", channel="web")

    assert len(callbacks) == 1
    assert not LeadScore.objects.exists()


def test_it_rescores_everyone_after_a_rule_is_saved(django_capture_on_commit_callbacks):
    contact = ContactFactory(title="CTO")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        rule = scoring.scoring_rule_save(
            rule=ScoringRule(),
            name="CTO",
            kind="fit",
            points=10,
            attribute="title",
            operator="equals",
            value=" CTO ",
        )

    assert len(callbacks) == 1
    assert rule.value == "CTO"
    assert stored_score(contact) == Decimal("10.00")


def test_it_rescores_everyone_after_a_rule_is_deleted(django_capture_on_commit_callbacks):
    rule = FitRuleFactory(name="CTO", value="CTO", points=10)
    contact = ContactFactory(title="CTO")
    score_contacts(now=NOW)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scoring.scoring_rule_delete(rule=rule)

    assert len(callbacks) == 1
    assert stored_score(contact) == Decimal("0.00")


@pytest.mark.parametrize(
    ("fields", "bad_fields"),
    [
        ({"kind": "fit", "attribute": "title", "operator": "equals"}, ["value"]),
        ({"kind": "fit", "attribute": "", "operator": "", "value": "x"}, ["attribute", "operator"]),
        (
            {
                "kind": "fit",
                "attribute": "title",
                "operator": "equals",
                "value": "x",
                "channel": "web",
            },
            ["channel"],
        ),
        ({"kind": "behaviour", "attribute": "title"}, ["attribute"]),
        ({"kind": "behaviour", "touchpoint_kind": "teleport"}, ["touchpoint_kind"]),
    ],
)
def test_it_refuses_a_rule_of_the_wrong_shape(
    fields, bad_fields, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ApplicationError) as exc:
        scoring.scoring_rule_save(rule=ScoringRule(), name="Bad", points=1, **fields)

    assert sorted(exc.value.errors) == bad_fields
    assert (ScoringRule.objects.count(), len(callbacks)) == (0, 0)


def test_it_keeps_the_touchpoint_and_the_rescoring_when_the_broker_is_down(
    django_capture_on_commit_callbacks,
):
    contact = ContactFactory()

    with unreachable_broker(), django_capture_on_commit_callbacks(execute=True):
        touchpoint = touchpoint_record(contact=contact, kind="web_visit", channel="web")

    assert Touchpoint.objects.filter(pk=touchpoint.pk).exists()
    kept = OutboxTask.objects.get()
    assert (kept.task, kept.args) == (rescore_contacts.name, [[contact.pk]])


# --- Tasks --------------------------------------------------------------------------------------


def test_it_rescores_and_screens_everyone_as_of_an_iso_time():
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=120, half_life_days=30)
    contact = ContactFactory()
    touch(contact, days_ago=30)
    ContactFactory()

    summary = rescore_all.delay(NOW.isoformat()).get()

    assert summary == {"scored": 2, "changed": 1, "hot": 1, "nurture": 1, "follow_ups": 1}
    assert stored_score(contact) == Decimal("60.00")


def test_it_refuses_a_time_without_zone():
    with pytest.raises(ValueError, match="time zone"):
        rescore_all("2026-06-01T12:00:00")


def test_it_rescores_the_given_contacts_twice_with_the_same_result():
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=70)
    contact = ContactFactory()
    touch(contact)

    first = rescore_contacts.delay([contact.pk, contact.pk]).get()
    second = rescore_contacts.delay([contact.pk]).get()

    assert first == {"scored": 1, "changed": 1, "hot": 1, "nurture": 0, "follow_ups": 1}
    assert second == {"scored": 1, "changed": 0, "hot": 0, "nurture": 0, "follow_ups": 0}


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (set DATABASE_URL=postgres://…): SQLite serialises writers",
)
@pytest.mark.usefixtures("role_groups")
def test_it_writes_one_change_when_the_same_contact_is_rescored_at_once():
    BehaviourRuleFactory(name="Visits", touchpoint_kind="web_visit", points=5)
    contact = ContactFactory()
    touch(contact)
    score_contacts(now=NOW)
    touch(contact)
    barrier = threading.Barrier(5)

    def rescore() -> None:
        try:
            barrier.wait(timeout=30)
            score_contacts(contact_ids=[contact.pk], now=NOW)
        finally:
            connection.close()  # each thread opened its own connection

    with ThreadPoolExecutor(max_workers=5) as pool:
        for future in [pool.submit(rescore) for _ in range(5)]:
            future.result(timeout=60)

    assert list(LeadScoreChange.objects.order_by("id").values_list("from_score", "to_score")) == [
        (None, Decimal("5.00")),
        (Decimal("5.00"), Decimal("10.00")),
    ]
