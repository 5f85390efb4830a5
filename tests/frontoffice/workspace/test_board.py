"""The pipeline board: my deals (or a manager's team's) by stage, moved with a click through
pipeline.deals.deal_move."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import roles
from pipeline.models import Deal, DealStageChange
from tests.factories import DealFactory, TeamFactory, user_with_role

pytestmark = pytest.mark.django_db

BOARD = "/app/pipeline/"


def _column(html: str, stage: str) -> str:
    start = html.index(f'data-stage="{stage}"')
    end = html.find('<section class="board-column"', start)
    return html[start : end if end != -1 else len(html)]


@pytest.fixture
def team(sales_rep, manager):
    team = TeamFactory(name="Kanto sales", supervisor=manager)
    colleague = user_with_role(roles.SALES_REP, username="colleague")
    team.members.add(sales_rep, colleague)
    return team


def test_it_shows_my_deals_by_stage_with_count_and_amount(browser, sales_rep):
    DealFactory(owner=sales_rep, name="Press line", amount=1200000, stage="list")
    DealFactory(owner=sales_rep, name="Robot arm", amount=300000, stage="list")
    DealFactory(owner=sales_rep, name="Spare parts", amount=5000, currency="USD", stage="quote")
    DealFactory(name="Someone else's", stage="list")

    html = browser(sales_rep).get(BOARD).content.decode()

    listed = _column(html, "list")
    assert '<span class="badge" data-count>2</span>' in listed
    assert "JPY 1,500,000" in listed
    assert "Press line" in listed
    assert "Robot arm" in listed
    quote = _column(html, "quote")
    assert "USD 5,000.00" in quote
    assert "Someone else&#x27;s" not in html
    assert "3 deals on the board" in html


def test_it_marks_stalled_deals(browser, sales_rep):
    DealFactory(owner=sales_rep, name="Quiet one", stage="proposal", is_stalled=True)

    html = browser(sales_rep).get(BOARD).content.decode()

    card = _column(html, "proposal")
    assert 'class="deal-card is-stalled"' in card
    assert '<span class="badge stalled"' in card


def test_it_keeps_won_and_lost_deals_on_the_board_for_thirty_days(browser, sales_rep):
    now = timezone.now()
    DealFactory(owner=sales_rep, name="Fresh win", stage="won", closed_at=now - timedelta(days=3))
    DealFactory(owner=sales_rep, name="Old win", stage="won", closed_at=now - timedelta(days=40))

    html = browser(sales_rep).get(BOARD).content.decode()

    won = _column(html, "won")
    assert "Fresh win" in won
    assert "Old win" not in won


def test_it_shows_an_empty_board_with_a_hint(browser, sales_rep):
    html = browser(sales_rep).get(BOARD).content.decode()

    assert 'id="board-empty"' in html
    assert "You have no open deals." in html


def test_it_shows_a_manager_the_team_board_with_owners(browser, manager, sales_rep, team):
    DealFactory(owner=sales_rep, name="Rep deal", stage="opportunity")
    DealFactory(owner=user_with_role(roles.SALES_REP, username="outsider"), name="Outside")

    html = browser(manager).get(BOARD + "?scope=team").content.decode()

    assert "Team pipeline" in html
    assert "Rep deal" in _column(html, "opportunity")
    assert "Outside" not in html
    assert f'<option value="{sales_rep.pk}"' in html


def test_it_filters_the_team_board_by_owner(browser, manager, sales_rep, team):
    DealFactory(owner=sales_rep, name="Rep deal")
    colleague = team.members.get(username="colleague")
    DealFactory(owner=colleague, name="Colleague deal")

    html = browser(manager).get(f"{BOARD}?scope=team&owner={colleague.pk}").content.decode()

    assert "Colleague deal" in html
    assert "Rep deal" not in html


def test_it_refuses_the_team_board_to_a_rep(browser, sales_rep):
    response = browser(sales_rep).get(BOARD + "?scope=team")

    assert response.status_code == 403
    assert "The team board is for managers." in response.content.decode()


def test_it_reads_the_board_in_a_fixed_number_of_queries(
    browser, manager, sales_rep, team, django_assert_max_num_queries
):
    for index in range(40):
        DealFactory(owner=sales_rep, stage=("list", "proposal", "quote")[index % 3])
    client = browser(manager)
    client.get(BOARD + "?scope=team")  # the session's language preference is read once

    with django_assert_max_num_queries(9):
        response = client.get(BOARD + "?scope=team")

    assert response.content.decode().count('class="deal-card') == 40


# --- Moving from the board ----------------------------------------------------------------------


def test_it_moves_a_deal_with_one_click(browser, sales_rep):
    deal = DealFactory(owner=sales_rep, stage="list")

    response = browser(sales_rep).post(
        f"{BOARD}{deal.pk}/move/",
        {"to_stage": "proposal", "expected_stage": "list", "board_query": ""},
    )

    assert response.status_code == 302
    assert response["Location"] == BOARD
    change = DealStageChange.objects.get(deal=deal, to_stage="proposal")
    assert (change.from_stage, change.actor_id) == ("list", sales_rep.pk)
    assert Deal.objects.get(pk=deal.pk).stage == "proposal"


def test_it_answers_htmx_with_the_board_fragment(browser, sales_rep):
    deal = DealFactory(owner=sales_rep, name="Press line", stage="quote")

    response = browser(sales_rep).post(
        f"{BOARD}{deal.pk}/move/",
        {"to_stage": "won", "expected_stage": "quote", "board_query": ""},
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert f'id="deal-card-{deal.pk}"' in _column(html, "won")
    assert "Press line moved to Won (order)." in html
    deal.contact.refresh_from_db()
    assert deal.contact.stage == "customer"


def test_it_keeps_the_team_scope_after_a_managers_move(browser, manager, sales_rep, team):
    deal = DealFactory(owner=sales_rep, stage="list")

    response = browser(manager).post(
        f"{BOARD}{deal.pk}/move/",
        {"to_stage": "proposal", "expected_stage": "list", "board_query": "scope=team"},
    )

    assert response["Location"] == BOARD + "?scope=team"
    assert DealStageChange.objects.filter(deal=deal, actor=manager).count() == 1


def test_it_shows_a_refused_move_on_its_card(browser, sales_rep):
    deal = DealFactory(owner=sales_rep, stage="proposal")

    response = browser(sales_rep).post(
        f"{BOARD}{deal.pk}/move/",
        {"to_stage": "lost", "expected_stage": "proposal", "note": ""},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    assert '<p class="card-errors" role="alert">Losing a deal needs a reason.</p>' in (
        response.content.decode()
    )
    assert not DealStageChange.objects.filter(deal=deal, to_stage="lost").exists()


def test_it_refuses_a_move_from_a_stale_board_with_a_conflict(browser, sales_rep):
    deal = DealFactory(owner=sales_rep, stage="opportunity")

    response = browser(sales_rep).post(
        f"{BOARD}{deal.pk}/move/", {"to_stage": "quote", "expected_stage": "list"}
    )

    assert response.status_code == 409
    assert "The stage changed meanwhile." in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).stage == "opportunity"


def test_it_hides_another_reps_deal_from_a_move(browser, sales_rep):
    deal = DealFactory(stage="list")

    response = browser(sales_rep).post(
        f"{BOARD}{deal.pk}/move/", {"to_stage": "proposal", "expected_stage": "list"}
    )

    assert response.status_code == 404
    assert Deal.objects.get(pk=deal.pk).stage == "list"


def test_it_refuses_moves_to_a_role_without_move_deal(browser, support_agent):
    deal = DealFactory(stage="list")

    response = browser(support_agent).post(
        f"{BOARD}{deal.pk}/move/", {"to_stage": "proposal", "expected_stage": "list"}
    )

    assert response.status_code == 403
    assert Deal.objects.get(pk=deal.pk).stage == "list"
