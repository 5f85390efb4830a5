"""Who may do what, through the API and through the admin: the roles of accounts/roles.py
(ACCOUNTS_ROLE_PERMISSIONS; Admin has every permission of the app) as two tables.

API: 401 = no credentials (TokenAuthentication answers with WWW-Authenticate: Token);
403 = signed in but the role may not;
405 = allowed by the role but not an operation the endpoint has (touchpoints are history; staff
users are read-only here).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import (
    Account,
    Contact,
    CustomerMerge,
    JourneyTransition,
    Team,
    Touchpoint,
)
from tests.factories import (
    AccountFactory,
    ContactFactory,
    TeamFactory,
    TouchpointFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

# Columns: anon = no credentials, rep = Sales rep, agent = Support agent, then Manager, Marketer
# and Admin (the groups of accounts/roles.py).
ROLES = ("anon", "rep", "agent", "manager", "marketer", "admin")

API_MATRIX = """
endpoint           op      anon  rep  agent  manager  marketer  admin
accounts           list    401   200  200    200      200       200
accounts           read    401   200  200    200      200       200
accounts           create  401   201  201    201      201       201
accounts           update  401   200  200    200      200       200
accounts           delete  401   403  403    403      403       204
accounts/timeline  read    401   200  200    200      200       200
accounts/merge     write   401   403  403    200      403       200
contacts           list    401   200  200    200      200       200
contacts           read    401   200  200    200      200       200
contacts           create  401   201  201    201      201       201
contacts           update  401   200  200    200      200       200
contacts           delete  401   403  403    403      403       204
contacts/timeline  read    401   200  200    200      200       200
contacts/journey   read    401   200  200    200      200       200
contacts/move      write   401   200  403    200      200       200
contacts/merge     write   401   403  403    200      403       200
contacts/resolve   write   401   201  201    201      201       201
touchpoints        list    401   200  200    200      200       200
touchpoints        read    401   200  200    200      200       200
touchpoints        create  401   201  201    201      201       201
touchpoints        update  401   403  403    403      403       405
touchpoints        delete  401   403  403    403      403       405
teams              list    401   200  200    200      200       200
teams              read    401   200  200    200      200       200
teams              create  401   403  403    201      403       201
teams              update  401   403  403    200      403       200
teams              delete  401   403  403    403      403       204
users              list    401   200  200    200      200       200
users              read    401   200  200    200      200       200
users/me           read    401   200  200    200      200       200
users              create  401   405  405    405      405       405
auth/token         write   200   200  200    200      200       200
"""

# A page of the admin per row; anonymous visitors are sent to the login page (302).
ADMIN_MATRIX = """
page                                             anon  rep  agent  manager  marketer  admin
/admin/                                          302   200  200    200      200       200
/admin/accounts/account/                         302   200  200    200      200       200
/admin/accounts/account/add/                     302   200  200    200      200       200
/admin/accounts/account/{account}/change/        302   200  200    200      200       200
/admin/accounts/account/{account}/delete/        302   403  403    403      403       200
/admin/accounts/contact/                         302   200  200    200      200       200
/admin/accounts/contact/add/                     302   200  200    200      200       200
/admin/accounts/contact/{contact}/change/        302   200  200    200      200       200
/admin/accounts/contact/{contact}/delete/        302   403  403    403      403       200
/admin/accounts/touchpoint/                      302   200  200    200      200       200
/admin/accounts/touchpoint/add/                  302   403  403    403      403       403
/admin/accounts/touchpoint/{touchpoint}/change/  302   200  200    200      200       200
/admin/accounts/touchpoint/{touchpoint}/delete/  302   403  403    403      403       200
/admin/accounts/journeytransition/               302   200  200    200      200       200
/admin/accounts/customermerge/                   302   403  403    200      403       200
/admin/accounts/team/                            302   200  200    200      200       200
/admin/accounts/team/add/                        302   403  403    200      403       200
/admin/accounts/team/{team}/change/              302   200  200    200      200       200
/admin/accounts/team/{team}/delete/              302   403  403    403      403       200
/admin/auth/user/                                302   403  403    403      403       200
"""


def _table(text: str, leading: int) -> list[tuple[Any, ...]]:
    """(key columns..., role, status) for every cell; `leading` key columns before the roles."""
    header, *rows = (line.split() for line in text.strip().splitlines())
    assert tuple(header[leading:]) == ROLES
    cases = []
    for row in rows:
        assert len(row) == leading + len(ROLES), row
        keys, cells = row[:leading], row[leading:]
        cases.extend((*keys, role, int(cell)) for role, cell in zip(ROLES, cells, strict=True))
    return cases


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The token endpoint throttles anonymous clients through the (process-wide) cache.
    cache.clear()


@pytest.fixture
def world():
    account = AccountFactory(name="Acme")
    empty_account = AccountFactory(name="No contacts")
    duplicate_account = AccountFactory(name="Acme (duplicate)", domain="")
    contact = ContactFactory(name="Ken", account=account, stage="lead")
    duplicate = ContactFactory(name="Ken (duplicate)")
    return SimpleNamespace(
        account=account,
        empty_account=empty_account,
        duplicate_account=duplicate_account,
        contact=contact,
        duplicate=duplicate,
        touchpoint=TouchpointFactory(contact=contact),
        team=TeamFactory(name="Tokyo"),
        colleague=UserFactory(username="colleague", password="open-sesame-42"),
    )


API = "/api/v1"
REQUESTS: dict[tuple[str, str], Callable[[SimpleNamespace], tuple[str, str, Any]]] = {
    ("accounts", "list"): lambda w: ("get", "/accounts/", None),
    ("accounts", "read"): lambda w: ("get", f"/accounts/{w.account.pk}/", None),
    ("accounts", "create"): lambda w: ("post", "/accounts/", {"name": "Initech"}),
    ("accounts", "update"): lambda w: ("patch", f"/accounts/{w.account.pk}/", {"region": "Kanto"}),
    ("accounts", "delete"): lambda w: ("delete", f"/accounts/{w.empty_account.pk}/", None),
    ("accounts/timeline", "read"): lambda w: ("get", f"/accounts/{w.account.pk}/timeline/", None),
    ("accounts/merge", "write"): lambda w: (
        "post",
        f"/accounts/{w.account.pk}/merge/",
        {"duplicate": w.duplicate_account.pk},
    ),
    ("contacts", "list"): lambda w: ("get", "/contacts/", None),
    ("contacts", "read"): lambda w: ("get", f"/contacts/{w.contact.pk}/", None),
    ("contacts", "create"): lambda w: ("post", "/contacts/", {"name": "Aiko"}),
    ("contacts", "update"): lambda w: ("patch", f"/contacts/{w.contact.pk}/", {"title": "CTO"}),
    ("contacts", "delete"): lambda w: ("delete", f"/contacts/{w.duplicate.pk}/", None),
    ("contacts/timeline", "read"): lambda w: ("get", f"/contacts/{w.contact.pk}/timeline/", None),
    ("contacts/journey", "read"): lambda w: ("get", f"/contacts/{w.contact.pk}/journey/", None),
    ("contacts/move", "write"): lambda w: (
        "post",
        f"/contacts/{w.contact.pk}/move/",
        {"to_stage": "prospect"},
    ),
    ("contacts/merge", "write"): lambda w: (
        "post",
        f"/contacts/{w.contact.pk}/merge/",
        {"duplicate": w.duplicate.pk},
    ),
    ("contacts/resolve", "write"): lambda w: (
        "post",
        "/contacts/resolve/",
        {"email": "new.person@initech.example.com"},
    ),
    ("touchpoints", "list"): lambda w: ("get", "/touchpoints/", None),
    ("touchpoints", "read"): lambda w: ("get", f"/touchpoints/{w.touchpoint.pk}/", None),
    ("touchpoints", "create"): lambda w: (
        "post",
        "/touchpoints/",
        {"kind": "call", "channel": "phone", "contact": w.contact.pk},
    ),
    ("touchpoints", "update"): lambda w: (
        "patch",
        f"/touchpoints/{w.touchpoint.pk}/",
        {"summary": "x"},
    ),
    ("touchpoints", "delete"): lambda w: ("delete", f"/touchpoints/{w.touchpoint.pk}/", None),
    ("teams", "list"): lambda w: ("get", "/teams/", None),
    ("teams", "read"): lambda w: ("get", f"/teams/{w.team.pk}/", None),
    ("teams", "create"): lambda w: ("post", "/teams/", {"name": "Osaka", "kind": "sales"}),
    ("teams", "update"): lambda w: ("patch", f"/teams/{w.team.pk}/", {"name": "Tokyo East"}),
    ("teams", "delete"): lambda w: ("delete", f"/teams/{w.team.pk}/", None),
    ("users", "list"): lambda w: ("get", "/users/", None),
    ("users", "read"): lambda w: ("get", f"/users/{w.colleague.pk}/", None),
    ("users/me", "read"): lambda w: ("get", "/users/me/", None),
    ("users", "create"): lambda w: ("post", "/users/", {"username": "intruder"}),
    ("auth/token", "write"): lambda w: (
        "post",
        "/auth/token/",
        {"username": "colleague", "password": "open-sesame-42"},
    ),
}

CLIENT_FIXTURES = {
    "anon": "api_client",
    "rep": "rep_client",
    "agent": "agent_client",
    "manager": "manager_client",
    "marketer": "marketer_client",
    "admin": "admin_client_api",
}
USER_FIXTURES = {
    "rep": "sales_rep",
    "agent": "support_agent",
    "manager": "manager",
    "marketer": "marketer",
    "admin": "admin_user",
}


def _database_state() -> dict[str, list[dict[str, Any]]]:
    models = (Account, Contact, JourneyTransition, Touchpoint, Team, CustomerMerge, Token)
    state = {model.__name__: list(model.objects.order_by("pk").values()) for model in models}
    state["members"] = list(Team.members.through.objects.order_by("pk").values())
    return state


def test_it_has_a_request_for_every_row_of_the_api_matrix():
    rows = {(endpoint, op) for endpoint, op, _role, _status in _table(API_MATRIX, 2)}
    assert rows == set(REQUESTS)


@pytest.mark.parametrize(("endpoint", "op", "role", "status"), _table(API_MATRIX, 2))
def test_it_applies_the_role_to_the_api(request, world, endpoint, op, role, status):
    client = request.getfixturevalue(CLIENT_FIXTURES[role])
    method, url, body = REQUESTS[(endpoint, op)](world)
    before = _database_state()

    response = getattr(client, method)(API + url, body)

    assert response.status_code == status, response.content
    if status == 403:
        detail = (
            "Authentication credentials were not provided."
            if role == "anon"
            else "You do not have permission to perform this action."
        )
        assert response.json() == {"detail": detail, "errors": {}}
    if status in (403, 405):
        assert _database_state() == before


def test_it_authenticates_with_a_token_from_the_token_endpoint(api_client, world):
    token = api_client.post(
        f"{API}/auth/token/", {"username": "colleague", "password": "open-sesame-42"}
    ).json()["token"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.get(f"{API}/users/me/")

    assert response.status_code == 200
    assert response.json()["username"] == "colleague"
    assert Token.objects.get().key == token


def test_it_refuses_an_unknown_token(api_client, world):
    api_client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    response = api_client.get(f"{API}/contacts/")

    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token.", "errors": {}}


def test_it_refuses_the_token_of_a_deactivated_user(api_client, world):
    token = Token.objects.create(user=world.colleague)
    world.colleague.is_active = False
    world.colleague.save()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = api_client.get(f"{API}/users/me/")

    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted.", "errors": {}}


def test_it_gives_a_user_without_a_role_nothing_but_the_staff_directory(world):
    client = Client()
    client.force_login(UserFactory(username="norole"))

    statuses = {
        url: client.get(API + url).status_code
        for url in ("/accounts/", "/contacts/", "/touchpoints/", "/teams/", "/users/me/")
    }

    assert statuses == {
        "/accounts/": 403,
        "/contacts/": 403,
        "/touchpoints/": 403,
        "/teams/": 403,
        "/users/me/": 200,
    }


# --- The admin ----------------------------------------------------------------------------------


def _browser(request, role: str) -> Client:
    client = Client()
    if role != "anon":
        client.force_login(request.getfixturevalue(USER_FIXTURES[role]))
    return client


def _admin_url(page: str, world: SimpleNamespace) -> str:
    return page.format(**{name: obj.pk for name, obj in vars(world).items()})


@pytest.mark.parametrize(("page", "role", "status"), _table(ADMIN_MATRIX, 1))
def test_it_applies_the_role_to_the_admin(request, world, page, role, status):
    client = _browser(request, role)

    response = client.get(_admin_url(page, world))

    assert response.status_code == status
    if status == 302:
        assert response.url.startswith("/admin/login/?next=")


@pytest.mark.parametrize(("role", "created"), [("rep", False), ("manager", True)])
def test_it_lets_only_a_manager_add_a_team_in_the_admin(request, world, role, created):
    client = _browser(request, role)

    response = client.post("/admin/accounts/team/add/", {"name": "Osaka", "kind": "sales"})

    assert response.status_code == (302 if created else 403)
    assert Team.objects.filter(name="Osaka").exists() is created


@pytest.mark.parametrize(("role", "merged"), [("rep", False), ("manager", True)])
def test_it_lets_only_a_manager_merge_contacts_in_the_admin(request, world, role, merged):
    client = _browser(request, role)

    client.post(
        "/admin/accounts/contact/",
        {
            "action": "merge_selected",
            "_selected_action": [world.contact.pk, world.duplicate.pk],
            "survivor": world.contact.pk,
            "apply": "1",
        },
    )

    assert Contact.objects.filter(pk=world.duplicate.pk).exists() is not merged
    assert CustomerMerge.objects.count() == (1 if merged else 0)


@pytest.mark.parametrize(("role", "moved"), [("agent", False), ("rep", True)])
def test_it_lets_only_roles_with_the_journey_permission_move_in_the_admin(
    request, world, role, moved
):
    client = _browser(request, role)

    client.post(
        "/admin/accounts/contact/",
        {
            "action": "move_journey",
            "_selected_action": [world.contact.pk],
            "to_stage": "prospect",
            "apply": "1",
        },
    )

    world.contact.refresh_from_db()
    assert world.contact.stage == ("prospect" if moved else "lead")
    assert JourneyTransition.objects.filter(contact=world.contact).count() == (2 if moved else 1)


def test_it_refuses_a_manager_contact_deletion_in_the_admin_as_in_the_api(request, world):
    """Deleting a person (and their history) is the Admin's alone; the API and admin agree."""
    browser = _browser(request, "manager")

    in_admin = browser.post(
        f"/admin/accounts/contact/{world.duplicate.pk}/delete/", {"post": "yes"}
    )

    assert in_admin.status_code == 403
    assert Contact.objects.filter(pk=world.duplicate.pk).exists()
