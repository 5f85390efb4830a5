"""The workspace's frame: sign-in, landing pages and menus per role, refusals in its frame."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts import roles
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db

# The entries this part of the workspace owns (others add theirs to the same menu).
SALES_KEYS = {"search", "board", "report-today", "reports", "leads", "inquiry-log", "team-board"}


def _menu(response) -> set[str]:
    html = response.content.decode()
    return {key for key in SALES_KEYS if f'data-nav="{key}"' in html}


def test_it_sends_anonymous_visitors_to_the_workspace_login(browser):
    response = browser().get("/app/pipeline/")

    assert response.status_code == 302
    assert response["Location"] == "/app/login/?next=/app/pipeline/"


def test_it_signs_a_rep_in_and_lands_on_their_pipeline(browser, sales_rep):
    client = browser()

    response = client.post(
        "/app/login/", {"username": "rep", "password": "pass-word-123", "next": ""}
    )

    assert response.status_code == 302
    assert response["Location"] == "/app/"
    assert client.get("/app/")["Location"] == "/app/pipeline/"


def test_it_shows_the_login_form_again_with_the_error_on_a_bad_password(browser, sales_rep):
    response = browser().post("/app/login/", {"username": "rep", "password": "wrong"})

    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()


@pytest.mark.parametrize(
    ("role", "landing"),
    [
        (roles.SALES_REP, "/app/pipeline/"),
        (roles.MARKETER, "/app/search/"),
    ],
)
def test_it_lands_each_role_on_its_page(browser, role, landing):
    user = user_with_role(role, username="someone")

    response = browser(user).get("/app/")

    assert response["Location"] == landing


def test_it_lands_someone_who_reads_the_teams_deals_on_the_team_board(browser, sales_rep):
    sales_rep.user_permissions.add(
        Permission.objects.get(codename="view_team_deals", content_type__app_label="pipeline")
    )

    response = browser(sales_rep).get("/app/")

    assert response["Location"] == "/app/pipeline/?scope=team"


@pytest.mark.parametrize(
    ("role", "keys"),
    [
        (roles.SALES_REP, {"search", "board", "report-today", "reports", "leads", "inquiry-log"}),
        (roles.MANAGER, {"search", "board", "team-board", "leads", "inquiry-log"}),
        (roles.SUPPORT_AGENT, {"search", "inquiry-log"}),
        (roles.MARKETER, {"search"}),
    ],
)
def test_it_shows_each_role_the_menu_entries_its_permissions_allow(browser, role, keys):
    user = user_with_role(role, username="someone")

    response = browser(user).get("/app/search/")

    assert _menu(response) == keys


def test_it_marks_the_current_page_in_the_menu(browser, manager):
    html = browser(manager).get("/app/pipeline/?scope=team").content.decode()

    assert 'data-nav="team-board" aria-current="page"' in html
    assert 'data-nav="board" aria-current="page"' not in html


def test_it_refuses_a_page_outside_the_role_in_the_workspace_frame(browser, support_agent):
    response = browser(support_agent).get(reverse("workspace:report-today"))

    assert response.status_code == 403
    html = response.content.decode()
    assert "Your role does not include this page." in html
    assert 'class="sidenav"' in html


def test_it_answers_404_in_the_frame_for_a_customer_that_does_not_exist(browser, sales_rep):
    response = browser(sales_rep).get("/app/contacts/999999/")

    assert response.status_code == 404
    assert "There is nothing here, or it is not yours to see." in response.content.decode()


def test_it_signs_out_with_a_post(browser, sales_rep):
    client = browser(sales_rep)

    response = client.post("/app/logout/")

    assert response["Location"] == "/app/login/"
    assert client.get("/app/pipeline/")["Location"].startswith("/app/login/")


def test_it_serves_htmx_from_our_static_files(browser, sales_rep):
    html = browser(sales_rep).get("/app/search/").content.decode()

    assert '<script src="/static/workspace/htmx.min.js" defer></script>' in html
    assert "unpkg" not in html
    assert "cdn" not in html.lower()
