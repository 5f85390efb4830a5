"""The support agent's inbox: who may open it, its two tabs, the API's filters, due times and
SLA breaches highlighted, taking an inquiry from the queue, empty states, query count,
Japanese."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from accounts import roles
from accounts.models import StaffPreference
from inquiries.models import InquiryAssignment
from inquiries.services import Customer, inquiry_move, inquiry_open
from tests.factories import user_with_role
from tests.frontoffice.workspace.support_desk import NOW, client_for, email_inquiry, make_desk

pytestmark = pytest.mark.django_db
INBOX = "/app/support/"


@pytest.fixture
def desk():
    return make_desk()


def _rows(response) -> list[tuple[int, str]]:
    """(inquiry id, SLA state) of each row, in order."""
    html = response.content.decode()
    return [
        (int(number), state)
        for number, state in re.findall(r'data-inquiry="(\d+)" data-sla="(\w+)"', html)
    ]


def _shared_inquiry(subject: str = "Where is my parcel?", *, at=NOW + timedelta(minutes=1)):
    """An inquiry no rule routed: the shared queue (no team, nobody has it)."""
    with time_machine.travel(at, tick=False):
        return inquiry_open(
            channel="web_form",
            subject=subject,
            customer=Customer(email="jiro@example.jp", name="Jiro Suzuki"),
            body="It has not arrived.",
        )


def test_it_shows_an_agent_the_inquiries_assigned_to_them(desk):
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        response = client_for(desk.agent).get(INBOX)

    assert response.status_code == 200
    assert _rows(response) == [(desk.inquiry.pk, "ok")]
    assert "Invoice address change" in response.content.decode()
    assert 'data-nav="inbox" aria-current="page"' in response.content.decode()


def test_it_sends_an_agent_home_to_the_inbox_and_a_manager_to_the_escalations(desk):
    assert client_for(desk.agent).get("/app/")["Location"] == INBOX
    assert client_for(desk.supervisor).get("/app/")["Location"] == "/app/escalations/"


@pytest.mark.parametrize("role", [roles.SALES_REP, roles.MARKETER])
def test_it_refuses_the_inbox_to_roles_that_do_not_answer_inquiries(desk, role):
    user = user_with_role(role, username="someone")

    response = client_for(user).get(INBOX)

    assert response.status_code == 403
    assert "Your role does not include this page." in response.content.decode()


def test_it_sends_an_anonymous_visitor_to_the_login_page(desk):
    response = Client().get(INBOX)

    assert response.status_code == 302
    assert response["Location"] == "/app/login/?next=/app/support/"


def test_it_shows_the_team_queue_with_the_shared_queue(desk):
    shared = _shared_inquiry()
    with time_machine.travel(NOW, tick=False):
        colleague = email_inquiry(desk.support, desk.other_agent, number=2, subject="Refund")
    stranger_team_inquiry = inquiry_open(
        channel="email",
        subject="Billing only",
        customer=Customer(email="ken@example.jp"),
        body="?",
        team=desk.billing,
    )

    response = client_for(desk.agent).get(INBOX, {"scope": "team", "sort": "newest"})

    ids = [number for number, _state in _rows(response)]
    assert ids == [shared.pk, colleague.pk, desk.inquiry.pk]
    assert stranger_team_inquiry.pk not in ids
    assert 'data-nav="team-queue" aria-current="page"' in response.content.decode()


def test_it_filters_by_channel_priority_and_sla_state(desk):
    shared = _shared_inquiry()
    with time_machine.travel(NOW, tick=False):
        urgent = email_inquiry(desk.support, desk.agent, number=2, subject="Down!")
    urgent.priority = "urgent"
    urgent.save(update_fields=["priority"])
    client = client_for(desk.agent)

    by_channel = client.get(INBOX, {"scope": "team", "channel": "web_form"})
    by_priority = client.get(INBOX, {"scope": "team", "priority": "urgent"})
    with time_machine.travel(NOW + timedelta(minutes=245), tick=False):
        _shared_inquiry(subject="Not late yet", at=NOW + timedelta(minutes=244))
        breached = client.get(INBOX, {"scope": "team", "sla": "breached"})

    assert [number for number, _ in _rows(by_channel)] == [shared.pk]
    assert [number for number, _ in _rows(by_priority)] == [urgent.pk]
    # Opened a minute before: its first response is due in three hours, not breached.
    assert sorted(number for number, _ in _rows(breached)) == [
        desk.inquiry.pk,
        shared.pk,
        urgent.pk,
    ]
    assert {state for _number, state in _rows(breached)} == {"breached"}


def test_it_highlights_a_breached_sla_and_one_due_soon(desk):
    client = client_for(desk.agent)

    with time_machine.travel(NOW + timedelta(minutes=200), tick=False):
        soon = client.get(INBOX)
    with time_machine.travel(NOW + timedelta(minutes=241), tick=False):
        late = client.get(INBOX)

    assert _rows(soon) == [(desk.inquiry.pk, "due_soon")]
    assert "Due soon" in soon.content.decode()
    assert _rows(late) == [(desk.inquiry.pk, "breached")]
    html = late.content.decode()
    assert f'<tr class="sla-breached" data-inquiry="{desk.inquiry.pk}"' in html
    assert "SLA breached" in html


def test_it_orders_the_inbox_by_the_next_due_time(desk):
    with time_machine.travel(NOW - timedelta(minutes=30), tick=False):
        older = email_inquiry(desk.support, desk.agent, number=2, subject="Older")
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        newer = email_inquiry(desk.support, desk.agent, number=3, subject="Newer")

    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        response = client_for(desk.agent).get(INBOX)

    assert [number for number, _ in _rows(response)] == [older.pk, desk.inquiry.pk, newer.pk]


def test_it_shows_resolved_inquiries_only_when_asked(desk):
    inquiry_move(inquiry=desk.inquiry, to_status="resolved", actor=desk.agent)
    client = client_for(desk.agent)

    active = client.get(INBOX)
    done = client.get(INBOX, {"status": "done"})

    assert _rows(active) == []
    assert "No inquiries like these are assigned to you." in active.content.decode()
    assert _rows(done) == [(desk.inquiry.pk, "ok")]


def test_it_shows_a_bad_filter_inline_and_still_lists(desk):
    response = client_for(desk.agent).get(INBOX, {"channel": "pigeon"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice. pigeon is not one of the available choices." in html
    assert [number for number, _ in _rows(response)] == [desk.inquiry.pk]


def test_it_answers_htmx_with_the_results_fragment(desk):
    response = client_for(desk.agent).get(INBOX, {"sort": "newest"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="inbox-results"')
    assert "<html" not in html


def test_it_answers_a_history_restore_with_the_whole_page(desk):
    response = client_for(desk.agent).get(
        INBOX, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert "<html" in response.content.decode()


def test_it_says_when_the_team_queue_is_empty(db):
    lonely = user_with_role(roles.SUPPORT_AGENT, username="lonely")

    response = client_for(lonely).get(INBOX, {"scope": "team"})

    assert response.status_code == 200
    assert "Your team's queue has no inquiries like these." in response.content.decode()


def test_it_lets_an_agent_take_an_inquiry_from_the_queue(desk):
    shared = _shared_inquiry()
    back = f"{INBOX}?scope=team"

    response = client_for(desk.agent).post(
        f"/app/inquiries/{shared.pk}/take/", {"next": back}, follow=True
    )

    shared.refresh_from_db()
    assert shared.assignee == desk.agent
    assert response.redirect_chain == [(back, 302)]
    assert f"Inquiry #{shared.pk} is yours." in response.content.decode()
    assignment = InquiryAssignment.objects.filter(inquiry=shared).get()
    assert (assignment.from_assignee, assignment.to_assignee, assignment.note) == (
        None,
        desk.agent,
        "taken",
    )


def test_it_tells_the_second_agent_that_someone_else_took_it(desk):
    queued = inquiry_open(
        channel="chat",
        subject="Password reset",
        customer=Customer(email="jiro@example.jp"),
        body="I cannot sign in.",
        team=desk.support,
    )
    client_for(desk.other_agent).post(f"/app/inquiries/{queued.pk}/take/")

    response = client_for(desk.agent).post(
        f"/app/inquiries/{queued.pk}/take/", {"next": f"{INBOX}?scope=team"}, follow=True
    )

    queued.refresh_from_db()
    assert queued.assignee == desk.other_agent
    assert "Someone else has this inquiry." in response.content.decode()
    assert InquiryAssignment.objects.filter(inquiry=queued).count() == 1


def test_it_ignores_a_next_address_on_another_site(desk):
    shared = _shared_inquiry()

    response = client_for(desk.agent).post(
        f"/app/inquiries/{shared.pk}/take/", {"next": "https://evil.example/"}
    )

    assert response["Location"] == f"/app/inquiries/{shared.pk}/"


def test_it_lists_with_a_query_count_independent_of_the_rows(desk, django_assert_max_num_queries):
    client = client_for(desk.agent)
    with django_assert_max_num_queries(20) as one:
        client.get(INBOX, {"scope": "team"})
    for number in range(2, 14):
        with time_machine.travel(NOW, tick=False):
            email_inquiry(desk.support, desk.agent, number=number)
        _shared_inquiry(subject=f"Shared {number}")

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(INBOX, {"scope": "team"})

    assert len(_rows(response)) == 25


def test_it_speaks_japanese_by_the_browser_and_by_the_preference(desk):
    by_browser = client_for(desk.agent).get(INBOX, HTTP_ACCEPT_LANGUAGE="ja")
    StaffPreference.objects.create(user=desk.agent, language="ja")
    # A new session: the preference is read once per session.
    by_preference = client_for(desk.agent).get(INBOX, HTTP_ACCEPT_LANGUAGE="en")

    for response in (by_browser, by_preference):
        html = response.content.decode()
        assert '<html lang="ja">' in html
        assert "自分の問い合わせ" in html
        assert "チームのキュー" in html
        assert "次の期限" in html


def test_it_shows_who_carries_what_in_the_team_queue(desk):
    _shared_inquiry()
    with time_machine.travel(NOW, tick=False):
        email_inquiry(desk.support, desk.other_agent, number=2)
        email_inquiry(desk.support, desk.other_agent, number=3)

    with time_machine.travel(NOW + timedelta(minutes=240, seconds=30), tick=False):
        response = client_for(desk.supervisor).get(INBOX, {"scope": "team"})

    html = re.sub(r"\s+", " ", response.content.decode())
    assert (
        '<tr data-workload="Yui Mori"><td>Yui Mori</td> <td class="num">2</td> '
        '<td class="num"><span class="badge bad">2</span></td></tr>'
    ) in html
    assert (
        '<tr data-workload="Kenji Ito"><td>Kenji Ito</td> <td class="num">1</td> '
        '<td class="num"><span class="badge bad">1</span></td></tr>'
    ) in html
    # The shared inquiry, a minute younger, is not late yet.
    assert (
        '<tr data-workload="-"><td><span class="muted">Nobody yet</span></td> '
        '<td class="num">1</td> <td class="num">0</td></tr>'
    ) in html
    assert re.findall(r'data-workload="([^"]+)"', html) == ["Yui Mori", "Kenji Ito", "-"]
