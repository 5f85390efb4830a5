"""Moving a contact along the journey through the services: every move, allowed or refused,
and its history row (or the absence of one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts import tasks
from accounts.models import Contact, JourneyTransition
from accounts.services import contact_create, journey_advance, journey_move
from frontoffice.errors import ApplicationError, ConflictError
from tests.factories import ContactFactory, TouchpointFactory, UserFactory

pytestmark = pytest.mark.django_db

STAGES = ("awareness", "lead", "prospect", "customer", "promoter", "dormant", "lost")
CREATED_AT = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
MOVED_AT = datetime(2024, 4, 2, 10, 30, tzinfo=UTC)


def _grid(table: str) -> list[tuple[str, str, str]]:
    """(from_stage, to_stage, cell) for every cell of a table: rows "from", columns "to"."""
    header, *rows = (line.split() for line in table.strip().splitlines())
    assert tuple(header) == STAGES
    assert tuple(row[0] for row in rows) == STAGES
    return [
        (row[0], to_stage, cell)
        for row in rows
        for to_stage, cell in zip(header, row[1:], strict=True)
    ]


# ok: the move happens   cause: refused, a reason is needed   to_stage: refused, already there
WITHOUT_REASON = """
            awareness  lead      prospect  customer  promoter  dormant   lost
awareness   to_stage   ok        ok        ok        ok        cause     cause
lead        cause      to_stage  ok        ok        ok        cause     cause
prospect    cause      cause     to_stage  ok        ok        cause     cause
customer    cause      cause     cause     to_stage  ok        cause     cause
promoter    cause      cause     cause     cause     to_stage  cause     cause
dormant     ok         ok        ok        ok        ok        to_stage  cause
lost        ok         ok        ok        ok        ok        cause     to_stage
"""
WITH_REASON = """
            awareness  lead      prospect  customer  promoter  dormant   lost
awareness   to_stage   ok        ok        ok        ok        ok        ok
lead        ok         to_stage  ok        ok        ok        ok        ok
prospect    ok         ok        to_stage  ok        ok        ok        ok
customer    ok         ok        ok        to_stage  ok        ok        ok
promoter    ok         ok        ok        ok        to_stage  ok        ok
dormant     ok         ok        ok        ok        ok        to_stage  ok
lost        ok         ok        ok        ok        ok        ok        to_stage
"""


def _allowed(table: str) -> list[tuple[str, str]]:
    return [(f, t) for f, t, cell in _grid(table) if cell == "ok"]


def _refused(table: str) -> list[tuple[str, str, str]]:
    return [(f, t, cell) for f, t, cell in _grid(table) if cell != "ok"]


@pytest.fixture
def actor(settings):
    return UserFactory(username="rep")


def _contact_at(stage: str) -> Contact:
    with time_machine.travel(CREATED_AT, tick=False):
        return ContactFactory(stage=stage)


def _history(contact: Contact) -> list[tuple]:
    return list(
        JourneyTransition.objects.filter(contact_id=contact.pk)
        .order_by("created_at", "id")
        .values_list("from_stage", "to_stage", "actor_id", "cause", "created_at")
    )


def _first_row(stage: str) -> tuple:
    return ("", stage, None, "", CREATED_AT)


# --- journey_move: every pair -------------------------------------------------------------------


@pytest.mark.parametrize(("from_stage", "to_stage"), _allowed(WITHOUT_REASON))
def test_it_moves_without_a_reason_where_the_table_allows(actor, from_stage, to_stage):
    contact = _contact_at(from_stage)

    with time_machine.travel(MOVED_AT, tick=False):
        transition = journey_move(contact=contact, to_stage=to_stage, actor=actor)

    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.stage, stored.stage_changed_at) == (to_stage, MOVED_AT)
    assert (contact.stage, contact.stage_changed_at) == (to_stage, MOVED_AT)
    assert _history(contact) == [
        _first_row(from_stage),
        (from_stage, to_stage, actor.pk, "", MOVED_AT),
    ]
    assert transition == JourneyTransition.objects.get(contact=contact, to_stage=to_stage)


@pytest.mark.parametrize(("from_stage", "to_stage"), _allowed(WITH_REASON))
def test_it_moves_with_a_reason_where_the_table_allows(actor, from_stage, to_stage):
    contact = _contact_at(from_stage)

    with time_machine.travel(MOVED_AT, tick=False):
        journey_move(contact=contact, to_stage=to_stage, actor=actor, cause="  met at the fair  ")

    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.stage, stored.stage_changed_at) == (to_stage, MOVED_AT)
    assert _history(contact) == [
        _first_row(from_stage),
        (from_stage, to_stage, actor.pk, "met at the fair", MOVED_AT),
    ]


@pytest.mark.parametrize(("from_stage", "to_stage", "field"), _refused(WITHOUT_REASON))
def test_it_refuses_without_a_reason_where_the_table_says(actor, from_stage, to_stage, field):
    contact = _contact_at(from_stage)

    with pytest.raises(ApplicationError) as excinfo:
        journey_move(contact=contact, to_stage=to_stage, actor=actor)

    assert type(excinfo.value) is ApplicationError
    assert list(excinfo.value.errors) == [field]
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.stage, stored.stage_changed_at) == (from_stage, CREATED_AT)
    assert contact.stage == from_stage
    assert _history(contact) == [_first_row(from_stage)]


@pytest.mark.parametrize(("from_stage", "to_stage", "field"), _refused(WITH_REASON))
def test_it_refuses_with_a_reason_where_the_table_says(actor, from_stage, to_stage, field):
    contact = _contact_at(from_stage)

    with pytest.raises(ApplicationError) as excinfo:
        journey_move(contact=contact, to_stage=to_stage, actor=actor, cause="why not")

    assert type(excinfo.value) is ApplicationError
    assert list(excinfo.value.errors) == [field]
    assert Contact.objects.get(pk=contact.pk).stage == from_stage
    assert _history(contact) == [_first_row(from_stage)]


# --- journey_move: input ------------------------------------------------------------------------


def test_it_refuses_an_unknown_stage():
    contact = _contact_at("lead")

    with pytest.raises(ApplicationError) as excinfo:
        journey_move(contact=contact, to_stage="won", cause="closed the deal")

    assert excinfo.value.errors == {"to_stage": ["'won' is not a journey stage."]}
    assert Contact.objects.get(pk=contact.pk).stage == "lead"
    assert _history(contact) == [_first_row("lead")]


def test_it_takes_a_blank_cause_for_no_reason():
    contact = _contact_at("prospect")

    with pytest.raises(ApplicationError) as excinfo:
        journey_move(contact=contact, to_stage="lead", cause="   ")

    assert excinfo.value.errors == {"cause": ["Moving from 'prospect' to 'lead' needs a reason."]}
    assert _history(contact) == [_first_row("prospect")]


def test_it_refuses_a_reason_longer_than_500_characters():
    contact = _contact_at("customer")

    with pytest.raises(ApplicationError) as excinfo:
        journey_move(contact=contact, to_stage="lost", cause="x" * 501)

    assert excinfo.value.errors == {"cause": ["At most 500 characters."]}
    assert Contact.objects.get(pk=contact.pk).stage == "customer"
    assert _history(contact) == [_first_row("customer")]


def test_it_keeps_a_reason_of_exactly_500_characters():
    contact = _contact_at("customer")

    with time_machine.travel(MOVED_AT, tick=False):
        journey_move(contact=contact, to_stage="lost", cause="x" * 500)

    assert _history(contact)[-1] == ("customer", "lost", None, "x" * 500, MOVED_AT)


def test_it_dates_the_move_at_the_given_time():
    contact = _contact_at("lead")
    signed_at = datetime(2024, 4, 1, 18, 0, tzinfo=UTC)

    with time_machine.travel(MOVED_AT, tick=False):
        journey_move(contact=contact, to_stage="customer", at=signed_at)

    assert Contact.objects.get(pk=contact.pk).stage_changed_at == signed_at
    assert _history(contact)[-1] == ("lead", "customer", None, "", signed_at)


# --- journey_move: compare-and-set --------------------------------------------------------------


def test_it_refuses_a_move_from_a_stale_contact(actor):
    contact = _contact_at("lead")
    stale = Contact.objects.get(pk=contact.pk)
    with time_machine.travel(MOVED_AT, tick=False):
        journey_move(contact=contact, to_stage="prospect", actor=actor)

    with pytest.raises(ConflictError) as excinfo:
        journey_move(contact=stale, to_stage="customer")

    assert excinfo.value.errors == {"to_stage": ["The stage changed meanwhile."]}
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.stage, stored.stage_changed_at) == ("prospect", MOVED_AT)
    assert stale.stage == "lead"
    assert _history(contact) == [
        _first_row("lead"),
        ("lead", "prospect", actor.pk, "", MOVED_AT),
    ]


def test_it_refuses_a_move_when_the_stage_was_changed_behind_the_instance():
    contact = _contact_at("awareness")
    Contact.objects.filter(pk=contact.pk).update(stage="customer")

    with pytest.raises(ConflictError):
        journey_move(contact=contact, to_stage="lead")

    assert Contact.objects.get(pk=contact.pk).stage == "customer"
    assert _history(contact) == [_first_row("awareness")]


# --- journey_advance ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "target"),
    [("lead", "lead"), ("customer", "lead"), ("promoter", "customer"), ("dormant", "dormant")],
)
def test_it_does_not_advance_a_contact_already_at_or_past_the_stage(stage, target):
    contact = _contact_at(stage)

    result = journey_advance(contact=contact, to_stage=target, cause="won deal")

    assert result is None
    assert Contact.objects.get(pk=contact.pk).stage == stage
    assert _history(contact) == [_first_row(stage)]


def test_it_advances_a_contact_forward(actor):
    contact = _contact_at("awareness")

    with time_machine.travel(MOVED_AT, tick=False):
        transition = journey_advance(
            contact=contact, to_stage="customer", actor=actor, cause="won deal #12"
        )

    assert transition is not None
    assert Contact.objects.get(pk=contact.pk).stage == "customer"
    assert _history(contact) == [
        _first_row("awareness"),
        ("awareness", "customer", actor.pk, "won deal #12", MOVED_AT),
    ]


@pytest.mark.parametrize(("stage", "target"), [("dormant", "lead"), ("lost", "customer")])
def test_it_reactivates_a_dormant_or_lost_contact_without_a_reason(stage, target):
    contact = _contact_at(stage)

    with time_machine.travel(MOVED_AT, tick=False):
        journey_advance(contact=contact, to_stage=target)

    assert Contact.objects.get(pk=contact.pk).stage == target
    assert _history(contact) == [_first_row(stage), (stage, target, None, "", MOVED_AT)]


def test_it_advances_a_stale_contact_from_its_current_stage():
    contact = _contact_at("lead")
    stale = Contact.objects.get(pk=contact.pk)
    with time_machine.travel(MOVED_AT, tick=False):
        journey_move(contact=contact, to_stage="prospect")
    advanced_at = MOVED_AT + timedelta(hours=1)

    with time_machine.travel(advanced_at, tick=False):
        journey_advance(contact=stale, to_stage="customer", cause="won deal")

    assert Contact.objects.get(pk=contact.pk).stage == "customer"
    assert _history(contact) == [
        _first_row("lead"),
        ("lead", "prospect", None, "", MOVED_AT),
        ("prospect", "customer", None, "won deal", advanced_at),
    ]


def test_it_does_not_advance_a_stale_contact_that_got_past_the_stage_meanwhile():
    contact = _contact_at("lead")
    stale = Contact.objects.get(pk=contact.pk)
    with time_machine.travel(MOVED_AT, tick=False):
        journey_move(contact=contact, to_stage="customer")

    result = journey_advance(contact=stale, to_stage="prospect")

    assert result is None
    assert stale.stage == "customer"
    assert _history(contact) == [_first_row("lead"), ("lead", "customer", None, "", MOVED_AT)]


# --- contact_create -----------------------------------------------------------------------------


def test_it_writes_the_first_journey_row_when_a_contact_is_created(actor):
    with time_machine.travel(CREATED_AT, tick=False):
        contact = contact_create(
            name="Hanako Sato",
            email="hanako@acme.example.com",
            stage="lead",
            actor=actor,
            cause="exhibition badge scan",
        )

    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.stage, stored.stage_changed_at) == ("lead", CREATED_AT)
    assert _history(contact) == [("", "lead", actor.pk, "exhibition badge scan", CREATED_AT)]


def test_it_creates_a_contact_at_awareness_by_default():
    with time_machine.travel(CREATED_AT, tick=False):
        contact = contact_create(name="Hanako Sato")

    assert Contact.objects.get(pk=contact.pk).stage == "awareness"
    assert _history(contact) == [("", "awareness", None, "created", CREATED_AT)]


def test_it_refuses_to_create_a_contact_at_an_unknown_stage():
    with pytest.raises(ApplicationError) as excinfo:
        contact_create(name="Hanako Sato", stage="won")

    assert excinfo.value.errors == {"stage": ["Unknown stage 'won'."]}
    assert Contact.objects.count() == 0
    assert JourneyTransition.objects.count() == 0


# --- accounts.tasks.mark_dormant_contacts -------------------------------------------------------

NOW = datetime(2025, 6, 1, 2, 30, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=31)
RECENTLY = NOW - timedelta(days=29)


def _contact_changed_at(stage: str, at: datetime) -> Contact:
    with time_machine.travel(at, tick=False):
        return ContactFactory(stage=stage)


@pytest.fixture
def _dormant_after_30_days(settings):
    settings.FRONTOFFICE_DORMANT_AFTER_DAYS = 30


@pytest.mark.usefixtures("_dormant_after_30_days")
def test_it_marks_an_inactive_contact_dormant():
    contact = _contact_changed_at("prospect", LONG_AGO)

    with time_machine.travel(NOW, tick=False):
        result = tasks.mark_dormant_contacts.delay().get()

    assert result == {"moved": 1, "skipped": 0}
    stored = Contact.objects.get(pk=contact.pk)
    assert (stored.stage, stored.stage_changed_at) == ("dormant", NOW)
    assert _history(contact) == [
        ("", "prospect", None, "", LONG_AGO),
        ("prospect", "dormant", None, "no activity for 30 days", NOW),
    ]


@pytest.mark.usefixtures("_dormant_after_30_days")
def test_it_keeps_a_contact_with_a_recent_touchpoint():
    contact = _contact_changed_at("lead", LONG_AGO)
    TouchpointFactory(contact=contact, occurred_at=RECENTLY)

    with time_machine.travel(NOW, tick=False):
        result = tasks.mark_dormant_contacts()

    assert result == {"moved": 0, "skipped": 0}
    assert Contact.objects.get(pk=contact.pk).stage == "lead"
    assert _history(contact) == [("", "lead", None, "", LONG_AGO)]


@pytest.mark.usefixtures("_dormant_after_30_days")
def test_it_marks_a_contact_dormant_when_its_only_touchpoints_are_old():
    contact = _contact_changed_at("lead", LONG_AGO)
    TouchpointFactory(contact=contact, occurred_at=LONG_AGO)

    with time_machine.travel(NOW, tick=False):
        result = tasks.mark_dormant_contacts()

    assert result == {"moved": 1, "skipped": 0}
    assert Contact.objects.get(pk=contact.pk).stage == "dormant"


@pytest.mark.usefixtures("_dormant_after_30_days")
def test_it_keeps_a_contact_whose_stage_changed_recently():
    contact = _contact_changed_at("customer", RECENTLY)

    with time_machine.travel(NOW, tick=False):
        result = tasks.mark_dormant_contacts()

    assert result == {"moved": 0, "skipped": 0}
    assert _history(contact) == [("", "customer", None, "", RECENTLY)]


@pytest.mark.usefixtures("_dormant_after_30_days")
@pytest.mark.parametrize("stage", ["dormant", "lost"])
def test_it_leaves_dormant_and_lost_contacts_alone(stage):
    contact = _contact_changed_at(stage, LONG_AGO)

    with time_machine.travel(NOW, tick=False):
        result = tasks.mark_dormant_contacts()

    assert result == {"moved": 0, "skipped": 0}
    assert _history(contact) == [("", stage, None, "", LONG_AGO)]


@pytest.mark.usefixtures("_dormant_after_30_days")
def test_it_moves_nothing_when_run_twice():
    contact = _contact_changed_at("lead", LONG_AGO)
    with time_machine.travel(NOW, tick=False):
        tasks.mark_dormant_contacts()

    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        result = tasks.mark_dormant_contacts()

    assert result == {"moved": 0, "skipped": 0}
    assert _history(contact) == [
        ("", "lead", None, "", LONG_AGO),
        ("lead", "dormant", None, "no activity for 30 days", NOW),
    ]


def test_it_uses_the_days_it_is_given():
    contact = _contact_changed_at("lead", NOW - timedelta(days=8))

    with time_machine.travel(NOW, tick=False):
        result = tasks.mark_dormant_contacts(days=7)

    assert result == {"moved": 1, "skipped": 0}
    assert _history(contact)[-1] == ("lead", "dormant", None, "no activity for 7 days", NOW)


def test_it_refuses_a_dormancy_window_below_one_day():
    with pytest.raises(ValueError, match="at least 1"):
        tasks.mark_dormant_contacts(days=0)


def test_it_refuses_a_move_dated_before_the_current_stage_began():
    began = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    contact = ContactFactory(stage="lead", stage_changed_at=began)

    with pytest.raises(ApplicationError) as refused:
        journey_move(contact=contact, to_stage="prospect", at=began - timedelta(days=1))

    assert list(refused.value.errors) == ["at"]
    contact.refresh_from_db()
    assert contact.stage == "lead"
    assert JourneyTransition.objects.filter(contact=contact).count() == 1
