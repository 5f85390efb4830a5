"""Mining FAQ candidates from the inquiry logs: groups, ranking, members, coverage by the FAQ,
idempotent reruns (rejected stays rejected, merged stays merged), nothing written on failure
or for an empty period; the Celery task and the command."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command

from accounts import roles
from inquiries import tasks
from inquiries.faq import embeddings, services
from inquiries.models import FaqCandidate, FaqCandidateChange, FaqCandidateMember, Inquiry
from tests.factories import user_with_role
from tests.inquiries.faq_data import (
    DELIVERY,
    DELIVERY_ANSWER,
    JA_DELIVERY,
    JA_PASSWORD,
    PASSWORD,
    PASSWORD_ANSWER,
    REFUND,
    REFUND_ANSWER,
    T0,
    ask,
)

pytestmark = pytest.mark.django_db

DAY = T0.date()


@pytest.fixture
def agent(db):
    return user_with_role(roles.SUPPORT_AGENT, username="faq-agent")


@pytest.fixture
def logs(agent):
    """Three questions asked again and again, and one asked once."""
    asked = {
        "password": [
            ask(q, agent=agent, answer=PASSWORD_ANSWER, resolve_after=timedelta(hours=2))
            for q in PASSWORD
        ],
        "delivery": [
            ask(
                q,
                agent=agent,
                answer=DELIVERY_ANSWER,
                resolve_after=timedelta(hours=5),
                category="Shipping",
            )
            for q in DELIVERY
        ],
        "refund": [
            ask(q, agent=agent, answer=REFUND_ANSWER, resolve_after=timedelta(hours=1))
            for q in REFUND[:3]
        ],
    }
    ask("Do you have a shop in Osaka where I can see the products?")
    return asked


def _build(**kwargs):
    kwargs.setdefault("since", DAY)
    kwargs.setdefault("until", DAY)
    return services.faq_candidates_build(**kwargs)


def _members(candidate) -> set[int]:
    return set(
        FaqCandidateMember.objects.filter(candidate=candidate).values_list("inquiry_id", flat=True)
    )


def _ids(inquiries) -> set[int]:
    return {inquiry.pk for inquiry in inquiries}


def _by_members(inquiries) -> FaqCandidate:
    wanted = _ids(inquiries)
    for candidate in FaqCandidate.objects.all():
        if _members(candidate) >= wanted:
            return candidate
    raise AssertionError(f"no candidate holds {sorted(wanted)}")


def test_it_groups_the_questions_into_candidates_ranked_by_volume_then_handling_time(logs):
    result = _build()

    assert (result.inquiries, result.groups, result.created, result.updated) == (12, 3, 3, 0)
    ranked = list(FaqCandidate.objects.order_by("rank"))
    assert [(c.rank, _members(c)) for c in ranked] == [
        (1, _ids(logs["delivery"])),
        (2, _ids(logs["password"])),
        (3, _ids(logs["refund"])),
    ]
    delivery = ranked[0]
    assert (delivery.volume, delivery.total_handling_seconds) == (4, 4 * 5 * 3600)
    assert (delivery.category, delivery.draft_answer) == ("Shipping", DELIVERY_ANSWER)
    assert (delivery.status, delivery.method) == ("new", "tfidf")
    assert (delivery.period_start, delivery.period_end) == (DAY, DAY)
    assert ranked[1].total_handling_seconds == 4 * 2 * 3600
    assert ranked[2].draft_answer == REFUND_ANSWER


def test_it_proposes_the_most_central_question_as_the_representative(logs):
    _build()

    candidate = _by_members(logs["password"])
    rows = list(FaqCandidateMember.objects.filter(candidate=candidate))
    best = max(rows, key=lambda row: row.similarity)
    assert [row.inquiry_id for row in rows if row.is_representative] == [best.inquiry_id]
    assert candidate.representative_id == best.inquiry_id
    assert candidate.question == best.question
    assert candidate.question in PASSWORD
    assert 0 < candidate.confidence <= 1


def test_it_groups_japanese_questions_without_spaces(agent):
    password = [ask(q, agent=agent, answer="設定画面から再設定できます。") for q in JA_PASSWORD]
    delivery = [
        ask(q, agent=agent, answer="追跡番号で配送状況を確認できます。") for q in JA_DELIVERY
    ]

    result = _build()

    assert result.groups == 2
    assert _members(_by_members(password)) == _ids(password)
    assert _members(_by_members(delivery)) == _ids(delivery)
    assert _by_members(delivery).draft_answer == "追跡番号で配送状況を確認できます。"


def test_it_reads_the_question_without_greeting_quote_and_signature(agent):
    for question in PASSWORD[:2]:
        ask(question, agent=agent, answer=PASSWORD_ANSWER)
    mail = ask(
        "Hi team,\n\nHow do I reset my password for the shop?\n\nThanks!\nJohn\n\n"
        "On Mon, 2 Mar 2026 at 09:00, Support <support@example.com> wrote:\n> Your order shipped.",
        agent=agent,
        answer=f"Hi John,\n\n{PASSWORD_ANSWER}\n\nBest regards,\nSupport",
    )

    _build()

    [candidate] = FaqCandidate.objects.all()
    assert candidate.volume == 3
    row = FaqCandidateMember.objects.get(candidate=candidate, inquiry=mail)
    assert row.question == "How do I reset my password for the shop?"
    assert candidate.draft_answer == PASSWORD_ANSWER


def test_it_updates_the_same_candidates_when_run_again(logs):
    _build()
    before = {
        c.pk: (c.signature, c.rank, c.volume, _members(c)) for c in FaqCandidate.objects.all()
    }

    result = _build()

    after = {c.pk: (c.signature, c.rank, c.volume, _members(c)) for c in FaqCandidate.objects.all()}
    assert after == before
    assert (result.created, result.updated, result.removed) == (0, 3, 0)
    assert FaqCandidateMember.objects.count() == 11


def test_it_keeps_a_rejected_candidate_rejected_and_counts_new_inquiries_in_it(logs, agent):
    _build()
    password = _by_members(logs["password"])
    services.faq_candidate_reject(
        candidate=password, reason="Covered by the login page", actor=agent
    )
    late = ask("How can I reset my password? I forgot it.", agent=agent, answer=PASSWORD_ANSWER)

    result = _build()

    password.refresh_from_db()
    assert (password.status, password.reason, password.rank) == (
        "rejected",
        "Covered by the login page",
        None,
    )
    assert _members(password) == _ids(logs["password"]) | {late.pk}
    assert password.volume == 5
    assert result.created == 0
    assert FaqCandidate.objects.count() == 3
    assert list(FaqCandidate.objects.filter(status="new").order_by("rank").values_list("rank")) == [
        (1,),
        (2,),
    ]


def test_it_keeps_a_rejected_candidate_rejected_when_a_later_period_asks_it_again(logs, agent):
    _build()
    password = _by_members(logs["password"])
    services.faq_candidate_reject(candidate=password, reason="Not for the FAQ", actor=agent)
    next_week = T0 + timedelta(days=7)
    later = [ask(q, at=next_week, agent=agent, answer=PASSWORD_ANSWER) for q in PASSWORD]

    result = _build(since=next_week.date(), until=next_week.date())

    password.refresh_from_db()
    assert (result.created, result.updated) == (0, 1)
    assert (password.status, _members(password)) == ("rejected", _ids(later))
    assert FaqCandidate.objects.filter(status="new").count() == 2


def test_it_flags_a_group_an_published_faq_entry_covers_and_ranks_it_last(logs):
    entry = services.faq_entry_create(
        question="How do I reset my password?", answer=PASSWORD_ANSWER
    )

    result = _build()

    password = _by_members(logs["password"])
    assert result.covered == 1
    assert password.covered_by == entry
    assert password.coverage_similarity >= 0.2
    assert password.rank == 3
    assert list(
        FaqCandidate.objects.filter(covered_by__isnull=True)
        .values_list("rank", flat=True)
        .order_by("rank")
    ) == [1, 2]


def test_it_counts_a_merged_candidates_group_for_the_candidate_it_went_into(logs, agent):
    _build()
    delivery = _by_members(logs["delivery"])
    refund = _by_members(logs["refund"])
    services.faq_candidate_merge(candidate=delivery, other=refund, actor=agent)

    result = _build()

    delivery.refresh_from_db()
    refund.refresh_from_db()
    assert (result.created, FaqCandidate.objects.count()) == (0, 3)
    assert (refund.status, refund.merged_into_id) == ("merged", delivery.pk)
    assert _members(refund) == _ids(logs["refund"])
    assert _members(delivery) == _ids(logs["delivery"]) | _ids(logs["refund"])
    assert delivery.volume == 7
    merged_rows = FaqCandidateMember.objects.filter(candidate=delivery, merged_from=refund)
    assert set(merged_rows.values_list("inquiry_id", flat=True)) == _ids(logs["refund"])


def test_it_removes_new_candidates_whose_group_is_gone(logs):
    _build()
    refund = _by_members(logs["refund"])
    Inquiry.objects.filter(pk__in=_ids(logs["refund"])).delete()

    result = _build()

    assert result.removed == 1
    assert not FaqCandidate.objects.filter(pk=refund.pk).exists()
    assert FaqCandidate.objects.count() == 2


def test_it_writes_nothing_when_the_run_fails_while_writing(logs, monkeypatch):
    _build()
    before = list(FaqCandidate.objects.values_list("id", "volume", "rank").order_by("id"))
    before_members = FaqCandidateMember.objects.count()
    ask("How do I reset the password of my account?")

    def fail(*args, **kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(services, "_insert_members", fail)
    with pytest.raises(RuntimeError):
        _build()

    assert list(FaqCandidate.objects.values_list("id", "volume", "rank").order_by("id")) == before
    assert FaqCandidateMember.objects.count() == before_members


def test_it_writes_nothing_for_a_period_without_inquiries(logs):
    result = _build(since=date(2026, 1, 1), until=date(2026, 1, 31))

    assert result.as_dict() | {"seconds": 0} == {
        "since": "2026-01-01",
        "until": "2026-01-31",
        "method": "tfidf",
        "inquiries": 0,
        "groups": 0,
        "created": 0,
        "updated": 0,
        "removed": 0,
        "covered": 0,
        "seconds": 0,
    }
    assert not FaqCandidate.objects.exists()


def test_it_refuses_a_period_that_ends_before_it_starts():
    with pytest.raises(services.ApplicationError) as refused:
        _build(since=date(2026, 3, 2), until=date(2026, 3, 1))

    assert refused.value.errors == {"until": ["The period ends before it starts."]}


# --- The task and the command -------------------------------------------------------------------


def test_the_task_mines_the_iso_dates_it_is_given(logs):
    result = tasks.build_faq_candidates.delay(since="2026-03-02", until="2026-03-02").get()

    assert (result["since"], result["until"], result["created"]) == ("2026-03-02", "2026-03-02", 3)
    assert FaqCandidate.objects.count() == 3


def test_the_task_on_an_empty_period_stores_nothing():
    result = tasks.build_faq_candidates.delay(since="2025-01-01", until="2025-01-31").get()

    assert (result["inquiries"], result["groups"], result["created"]) == (0, 0, 0)
    assert not FaqCandidate.objects.exists()


def test_the_task_defaults_to_the_window_ending_yesterday(logs, settings):
    settings.FRONTOFFICE_FAQ_WINDOW_DAYS = 7
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        result = tasks.build_faq_candidates.delay().get()

    assert (result["since"], result["until"]) == ("2026-02-26", "2026-03-04")
    assert result["created"] == 3


def test_the_task_falls_back_to_tfidf_when_embeddings_are_not_installed(
    logs, settings, monkeypatch, caplog
):
    settings.FRONTOFFICE_FAQ_METHOD = "embeddings"
    monkeypatch.setattr(embeddings, "available", lambda: False)

    with caplog.at_level(logging.WARNING, logger="inquiries.faq.runs"):
        result = tasks.build_faq_candidates.delay(since="2026-03-02", until="2026-03-02").get()

    assert (result["method"], result["created"]) == ("tfidf", 3)
    assert "embeddings asked for but not installed" in caplog.text


def test_the_command_prints_the_best_ranked_candidates(logs, capsys):
    call_command("build_faq", since="2026-03-02", until="2026-03-02")

    output = capsys.readouterr().out
    assert "2026-03-02..2026-03-02 (tfidf): 12 inquiries, 3 groups; 3 candidates new" in output
    assert "#  1      4 inquiries     20.0 h" in output


def test_the_command_refuses_embeddings_when_they_are_not_installed(monkeypatch):
    monkeypatch.setattr(embeddings, "available", lambda: False)

    with pytest.raises(CommandError, match=r"requirements-embeddings\.txt"):
        call_command("build_faq", since="2026-03-02", until="2026-03-02", method="embeddings")

    assert not FaqCandidate.objects.exists()


def test_the_command_refuses_a_date_it_cannot_read():
    with pytest.raises(CommandError, match="Dates are YYYY-MM-DD"):
        call_command("build_faq", since="2026-13-01", until="2026-03-02")


def test_it_writes_a_history_row_only_for_reviews(logs):
    _build()
    _build()

    assert not FaqCandidateChange.objects.exists()
