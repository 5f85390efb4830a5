"""/api/v1/notifications/ (the caller's own inbox, mark-read) and the notifications admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import Notification
from accounts.notifications import notification_send
from tests.factories import AccountFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/notifications/"
MARK_READ_URL = "/api/v1/notifications/mark-read/"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _send(recipient, *, key: str, kind: str = "deal_stalled", at: datetime = T0, **extra):
    with time_machine.travel(at, tick=False):
        return notification_send(
            recipient=recipient, kind=kind, key=key, subject=f"About {key}", **extra
        )


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _unread_keys(user) -> list[str]:
    return sorted(
        Notification.objects.filter(recipient=user, read_at__isnull=True).values_list(
            "key", flat=True
        )
    )


def test_it_lists_only_the_callers_own_notifications_newest_first(rep_client, sales_rep, manager):
    _send(sales_rep, key="old", at=T0)
    _send(sales_rep, key="new", at=T0 + timedelta(hours=1))
    _send(manager, key="not-yours", at=T0 + timedelta(hours=2))

    response = rep_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [row["subject"] for row in body["results"]] == ["About new", "About old"]
    assert body["results"][0]["is_read"] is False


def test_it_shows_what_the_notification_is_about(rep_client, sales_rep):
    account = AccountFactory()
    _send(sales_rep, key="k", source=account, link="/admin/accounts/account/1/change/")

    row = rep_client.get(URL).json()["results"][0]

    assert (row["kind"], row["source_type"], row["source_id"], row["link"]) == (
        "deal_stalled",
        "accounts.account",
        account.pk,
        "/admin/accounts/account/1/change/",
    )


def test_it_filters_unread_ones(rep_client, sales_rep):
    _send(sales_rep, key="read")
    _send(sales_rep, key="unread")
    Notification.objects.filter(key="read").update(read_at=T0)

    unread = rep_client.get(URL, {"unread": "true"}).json()["results"]
    read = rep_client.get(URL, {"unread": "false"}).json()["results"]

    assert [row["subject"] for row in unread] == ["About unread"]
    assert [row["subject"] for row in read] == ["About read"]


def test_it_filters_by_kind(rep_client, sales_rep):
    _send(sales_rep, key="a", kind="deal_stalled")
    _send(sales_rep, key="b", kind="report_reminder")

    rows = rep_client.get(URL, {"kind": "report_reminder"}).json()["results"]

    assert [row["subject"] for row in rows] == ["About b"]


@pytest.mark.parametrize("query", [{"unread": "maybe"}, {"created_after": "yesterday"}])
def test_it_refuses_a_filter_it_cannot_read(rep_client, query):
    response = rep_client.get(URL, query)

    assert response.status_code == 400
    assert set(response.json()["errors"]) & {"unread", "created"}


@pytest.mark.parametrize("page_size", [5, 40])
def test_it_lists_in_a_fixed_number_of_queries_whatever_the_page_size(
    rep_client, sales_rep, page_size, django_assert_max_num_queries
):
    account = AccountFactory()
    for number in range(40):
        _send(sales_rep, key=f"k{number}", source=account, at=T0 + timedelta(minutes=number))

    with django_assert_max_num_queries(3):
        response = rep_client.get(URL, {"page_size": page_size})

    assert len(response.json()["results"]) == page_size


def test_it_does_not_show_someone_elses_notification(rep_client, manager):
    notification = _send(manager, key="theirs")

    response = rep_client.get(f"{URL}{notification.pk}/")

    assert response.status_code == 404


def test_it_lets_any_signed_in_staff_member_read_their_inbox_whatever_their_role():
    no_role = UserFactory()
    _send(no_role, key="k")

    response = _client(no_role).get(URL)

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_it_refuses_anonymous_callers(api_client):
    assert api_client.get(URL).status_code == 401
    assert api_client.post(MARK_READ_URL, {}, format="json").status_code == 401


def test_it_marks_the_given_notifications_read_and_skips_other_peoples(
    rep_client, sales_rep, manager
):
    mine = _send(sales_rep, key="mine")
    _send(sales_rep, key="other-mine")
    theirs = _send(manager, key="theirs")

    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        response = rep_client.post(MARK_READ_URL, {"ids": [mine.pk, theirs.pk]}, format="json")

    assert response.status_code == 200
    assert response.json() == {"marked": 1}
    mine.refresh_from_db()
    assert mine.read_at == T0 + timedelta(hours=1)
    assert _unread_keys(sales_rep) == ["other-mine"]
    assert _unread_keys(manager) == ["theirs"]


def test_it_marks_all_unread_ones_read_when_no_ids_are_given(rep_client, sales_rep, manager):
    _send(sales_rep, key="a")
    _send(sales_rep, key="b")
    _send(sales_rep, key="already")
    Notification.objects.filter(key="already").update(read_at=T0)
    _send(manager, key="theirs")

    response = rep_client.post(MARK_READ_URL, {}, format="json")

    assert response.json() == {"marked": 2}
    assert _unread_keys(sales_rep) == []
    assert _unread_keys(manager) == ["theirs"]
    assert Notification.objects.get(key="already").read_at == T0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": ["x"]}, "ids"),
        ({"ids": [0]}, "ids"),
        ({"ids": [1.5]}, "ids"),
        ({"ids": "1"}, "ids"),
        ({"ids": [10**30]}, "ids"),
        ({"all": True}, "all"),
    ],
)
def test_it_refuses_bad_mark_read_input_with_a_field_message(rep_client, sales_rep, body, field):
    _send(sales_rep, key="k")

    response = rep_client.post(MARK_READ_URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert _unread_keys(sales_rep) == ["k"]


# --- Admin --------------------------------------------------------------------------------------


@pytest.fixture
def superuser_browser():
    client = Client()
    client.force_login(UserFactory(username="root", is_superuser=True))
    return client


def test_it_lists_notifications_in_the_admin_with_filters(
    superuser_browser, sales_rep, django_assert_max_num_queries
):
    for number in range(30):
        _send(sales_rep, key=f"k{number}")

    with django_assert_max_num_queries(15):
        response = superuser_browser.get(
            "/admin/accounts/notification/", {"kind": "deal_stalled", "read_at__isempty": "1"}
        )

    assert response.status_code == 200
    assert response.context["cl"].result_count == 30


def test_it_keeps_notifications_read_only_in_the_admin(superuser_browser, sales_rep):
    notification = _send(sales_rep, key="k")

    add = superuser_browser.get("/admin/accounts/notification/add/")
    change = superuser_browser.post(
        f"/admin/accounts/notification/{notification.pk}/change/", {"subject": "Changed"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    notification.refresh_from_db()
    assert notification.subject == "About k"
