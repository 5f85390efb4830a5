"""Bad input on every endpoint is a 400 (or a 404 for ids in the path and page numbers) with a
JSON body `{"detail": ..., "errors": {field: [messages]}}`, never a 500, and nothing is written.

Requests are made as an Admin (every permission), so a refusal comes from the input alone.
Expected messages may name world objects: `{w.account.pk}` is formatted with the `world`.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.cache import cache
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

HUGE = 10**30
API = "/api/v1"

REQUIRED = "This field is required."
BLANK = "This field may not be blank."
NOT_A_STRING = "Not a valid string."
UNKNOWN = "Unknown field."
NO_SUCH_PK = f'Invalid pk "{HUGE}" - object does not exist.'
NOT_A_DICT = "Invalid data. Expected a dictionary, but got {kind}."
BAD_EMAIL = "Enter a valid email address."
BAD_DOMAIN = "Enter a valid domain name."
BAD_CHOICE = "Select a valid choice. That choice is not one of the available choices."
BAD_DATE = "Enter a valid date."
NEEDS_IDENTITY = "A contact needs at least a name, an email or a phone number."
RESOLVE_NEEDS_IDENTITY = "Give at least an email, a phone number or a name."


def _too_long(limit: int) -> str:
    return f"Ensure this field has no more than {limit} characters."


def _incorrect_type(kind: str) -> str:
    return f"Incorrect type. Expected pk value, received {kind}."


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The token endpoint throttles anonymous clients through the (process-wide) cache.
    cache.clear()


@pytest.fixture
def world(admin_user):
    """One of everything the requests point at."""
    account = AccountFactory(name="Acme", domain="acme.example.com")
    other_account = AccountFactory(name="Globex", domain="globex.example.com")
    contact = ContactFactory(
        name="Ken", email="ken@acme.example.com", account=account, stage="customer"
    )
    other = ContactFactory(name="Aiko", email="aiko@globex.example.com", account=other_account)
    team = TeamFactory(name="Tokyo")
    other_team = TeamFactory(name="Osaka")
    touchpoint = TouchpointFactory(contact=contact)
    inactive = UserFactory(username="retired", is_active=False)
    return SimpleNamespace(
        account=account,
        other_account=other_account,
        contact=contact,
        other=other,
        team=team,
        other_team=other_team,
        touchpoint=touchpoint,
        inactive=inactive,
        admin=admin_user,
    )


def _fill(value: Any, world: SimpleNamespace) -> Any:
    """Format `{w.…}` placeholders in every string of a (nested) value."""
    if isinstance(value, str):
        return value.format(w=world) if "{w." in value else value
    if isinstance(value, dict):
        return {key: _fill(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, world) for item in value]
    return value


def _database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row the accounts API can write, to prove a refused request wrote nothing."""
    models = {
        "accounts": Account,
        "contacts": Contact,
        "transitions": JourneyTransition,
        "touchpoints": Touchpoint,
        "teams": Team,
        "memberships": Team.members.through,
        "merges": CustomerMerge,
        "tokens": Token,
    }
    return {name: list(model.objects.order_by("pk").values()) for name, model in models.items()}


def _send(client, method: str, url: str, body: Any):
    """`body` as JSON; a str is sent as it is (malformed JSON, numbers JSON cannot round-trip)."""
    raw = body if isinstance(body, str) else json.dumps(body)
    return getattr(client, method)(url, data=raw, content_type="application/json")


# --- Bodies: wrong types, unknown keys, over-long strings, bad enums, missing FKs, duplicates ----

BODY_CASES = [
    # (method, url, body, expected errors)
    # Accounts: create.
    ("post", "/accounts/", {}, {"name": [REQUIRED]}),
    ("post", "/accounts/", {"name": ""}, {"name": [BLANK]}),
    ("post", "/accounts/", {"name": ["Acme"]}, {"name": [NOT_A_STRING]}),
    ("post", "/accounts/", {"name": True}, {"name": [NOT_A_STRING]}),
    ("post", "/accounts/", {"name": "A" * 201}, {"name": [_too_long(200)]}),
    ("post", "/accounts/", {"name": "New", "region": "R" * 101}, {"region": [_too_long(100)]}),
    ("post", "/accounts/", {"name": "New", "domain": "not a domain"}, {"domain": [BAD_DOMAIN]}),
    ("post", "/accounts/", {"name": "New", "domain": "a..example.com"}, {"domain": [BAD_DOMAIN]}),
    ("post", "/accounts/", {"name": "New", "domain": "d" * 254}, {"domain": [_too_long(253)]}),
    (
        "post",
        "/accounts/",
        {"name": "New", "size": "huge"},
        {"size": ['"huge" is not a valid choice.']},
    ),
    (
        "post",
        "/accounts/",
        {"name": "New", "size": None},
        {"size": ["This field may not be null."]},
    ),
    ("post", "/accounts/", {"name": "New", "owner": HUGE}, {"owner": [NO_SUCH_PK]}),
    ("post", "/accounts/", {"name": "New", "owner": "abc"}, {"owner": [_incorrect_type("str")]}),
    ("post", "/accounts/", {"name": "New", "owner": 1.5}, {"owner": [_incorrect_type("float")]}),
    (
        "post",
        "/accounts/",
        '{"name": "New", "owner": 1e400}',
        {"owner": [_incorrect_type("float")]},
    ),
    ("post", "/accounts/", {"name": "New", "owner": True}, {"owner": [_incorrect_type("bool")]}),
    ("post", "/accounts/", {"name": "New", "owner": [1]}, {"owner": [_incorrect_type("list")]}),
    (
        "post",
        "/accounts/",
        {"name": "New", "owner": "{w.inactive.pk}"},
        {"owner": ['Invalid pk "{w.inactive.pk}" - object does not exist.']},
    ),
    ("post", "/accounts/", {"name": "New", "website": "x"}, {"website": [UNKNOWN]}),
    (
        "post",
        "/accounts/",
        {"name": "Acme again", "domain": "https://WWW.Acme.Example.com/"},
        {"domain": ["An account with this domain already exists (#{w.account.pk} Acme)."]},
    ),
    # Accounts: update.
    ("patch", "/accounts/{w.other_account.pk}/", {"name": ""}, {"name": [BLANK]}),
    (
        "patch",
        "/accounts/{w.other_account.pk}/",
        {"size": "XL"},
        {"size": ['"XL" is not a valid choice.']},
    ),
    ("patch", "/accounts/{w.other_account.pk}/", {"owner": HUGE}, {"owner": [NO_SUCH_PK]}),
    ("patch", "/accounts/{w.other_account.pk}/", {"bogus": 1}, {"bogus": [UNKNOWN]}),
    ("put", "/accounts/{w.other_account.pk}/", {"region": "Kanto"}, {"name": [REQUIRED]}),
    (
        "patch",
        "/accounts/{w.other_account.pk}/",
        {"domain": "acme.example.com"},
        {"domain": ["An account with this domain already exists (#{w.account.pk} Acme)."]},
    ),
    # Contacts: create.
    ("post", "/contacts/", {}, {key: [NEEDS_IDENTITY] for key in ("name", "email", "phone")}),
    ("post", "/contacts/", {"email": "not-an-email"}, {"email": [BAD_EMAIL]}),
    ("post", "/contacts/", {"email": ["a@b.example.com"]}, {"email": [BAD_EMAIL]}),
    ("post", "/contacts/", {"email": "a" * 250 + "@x.com"}, {"email": [_too_long(254)]}),
    ("post", "/contacts/", {"name": "N" * 201}, {"name": [_too_long(200)]}),
    ("post", "/contacts/", {"phone": "1" * 41}, {"phone": [_too_long(40)]}),
    ("post", "/contacts/", {"name": "Ken", "title": "T" * 121}, {"title": [_too_long(120)]}),
    (
        "post",
        "/contacts/",
        {"name": "Ken", "stage": "nope"},
        {"stage": ['"nope" is not a valid choice.']},
    ),
    ("post", "/contacts/", {"name": "Ken", "account": HUGE}, {"account": [NO_SUCH_PK]}),
    (
        "post",
        "/contacts/",
        {"name": "Ken", "account": "abc"},
        {"account": [_incorrect_type("str")]},
    ),
    ("post", "/contacts/", {"name": "Ken", "owner": HUGE}, {"owner": [NO_SUCH_PK]}),
    ("post", "/contacts/", {"name": "Ken", "nickname": "K"}, {"nickname": [UNKNOWN]}),
    (
        "post",
        "/contacts/",
        {"name": "Ken", "owner": "{w.inactive.pk}"},
        {"owner": ['Invalid pk "{w.inactive.pk}" - object does not exist.']},
    ),
    (
        "post",
        "/contacts/",
        {"name": "Ken 2", "email": "KEN@Acme.Example.com"},
        {"email": ["A contact with this email already exists (#{w.contact.pk})."]},
    ),
    # Contacts: update.
    (
        "patch",
        "/contacts/{w.contact.pk}/",
        {"email": "Aiko@Globex.Example.com"},
        {"email": ["A contact with this email already exists (#{w.other.pk})."]},
    ),
    (
        "patch",
        "/contacts/{w.contact.pk}/",
        {"name": "", "email": ""},
        {key: [NEEDS_IDENTITY] for key in ("name", "email", "phone")},
    ),
    ("patch", "/contacts/{w.contact.pk}/", {"email": "ken@"}, {"email": [BAD_EMAIL]}),
    ("patch", "/contacts/{w.contact.pk}/", {"account": HUGE}, {"account": [NO_SUCH_PK]}),
    ("patch", "/contacts/{w.contact.pk}/", {"emial": "x@y.example.com"}, {"emial": [UNKNOWN]}),
    # Journey move (the contact is a customer).
    ("post", "/contacts/{w.contact.pk}/move/", {}, {"to_stage": [REQUIRED]}),
    (
        "post",
        "/contacts/{w.contact.pk}/move/",
        {"to_stage": "nope"},
        {"to_stage": ['"nope" is not a valid choice.']},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/move/",
        {"to_stage": ["lead"]},
        {"to_stage": ["\"['lead']\" is not a valid choice."]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/move/",
        {"to_stage": "customer"},
        {"to_stage": ["The contact is already at 'customer'."]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/move/",
        {"to_stage": "lead"},
        {"cause": ["Moving from 'customer' to 'lead' needs a reason."]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/move/",
        {"to_stage": "lead", "cause": "c" * 501},
        {"cause": [_too_long(500)]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/move/",
        {"to_stage": "promoter", "why": "happy"},
        {"why": [UNKNOWN]},
    ),
    # Contact merge.
    ("post", "/contacts/{w.contact.pk}/merge/", {}, {"duplicate": [REQUIRED]}),
    (
        "post",
        "/contacts/{w.contact.pk}/merge/",
        {"duplicate": HUGE},
        {"duplicate": [f"No contact with id {HUGE}."]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/merge/",
        {"duplicate": "abc"},
        {"duplicate": ["A valid integer is required."]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/merge/",
        '{"duplicate": 1e400}',
        {"duplicate": ["A valid integer is required."]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/merge/",
        {"duplicate": 0},
        {"duplicate": ["Ensure this value is greater than or equal to 1."]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/merge/",
        {"duplicate": "{w.contact.pk}"},
        {"duplicate": ["A contact cannot be merged into itself."]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/merge/",
        {"duplicate": "{w.other.pk}", "reason": "r" * 501},
        {"reason": [_too_long(500)]},
    ),
    (
        "post",
        "/contacts/{w.contact.pk}/merge/",
        {"duplicate": "{w.other.pk}", "keep": "survivor"},
        {"keep": [UNKNOWN]},
    ),
    # Account merge.
    ("post", "/accounts/{w.account.pk}/merge/", {}, {"duplicate": [REQUIRED]}),
    (
        "post",
        "/accounts/{w.account.pk}/merge/",
        {"duplicate": HUGE},
        {"duplicate": [f"No account with id {HUGE}."]},
    ),
    (
        "post",
        "/accounts/{w.account.pk}/merge/",
        {"duplicate": "{w.account.pk}"},
        {"duplicate": ["An account cannot be merged into itself."]},
    ),
    (
        "post",
        "/accounts/{w.account.pk}/merge/",
        {"duplicate": "{w.other_account.pk}", "dry_run": True},
        {"dry_run": [UNKNOWN]},
    ),
    # Identity resolution.
    (
        "post",
        "/contacts/resolve/",
        {},
        {k: [RESOLVE_NEEDS_IDENTITY] for k in ("email", "phone", "name")},
    ),
    (
        "post",
        "/contacts/resolve/",
        {"phone": "12"},
        {k: [RESOLVE_NEEDS_IDENTITY] for k in ("email", "phone", "name")},
    ),
    ("post", "/contacts/resolve/", {"email": "not-an-email"}, {"email": [BAD_EMAIL]}),
    ("post", "/contacts/resolve/", {"email": {"a": 1}}, {"email": [NOT_A_STRING]}),
    (
        "post",
        "/contacts/resolve/",
        {"name": "Ken", "domain": "no domain"},
        {"domain": [BAD_DOMAIN]},
    ),
    ("post", "/contacts/resolve/", {"name": "N" * 201}, {"name": [_too_long(200)]}),
    ("post", "/contacts/resolve/", {"email": "e" * 250 + "@x.com"}, {"email": [_too_long(254)]}),
    ("post", "/contacts/resolve/", {"name": "Ken", "source": "web"}, {"source": [UNKNOWN]}),
    # Touchpoints.
    ("post", "/touchpoints/", {}, {"kind": [REQUIRED], "channel": [REQUIRED]}),
    (
        "post",
        "/touchpoints/",
        {"kind": "tweet", "channel": "web", "contact": "{w.contact.pk}"},
        {"kind": ['"tweet" is not a valid choice.']},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "call", "channel": "pigeon", "contact": "{w.contact.pk}"},
        {"channel": ['"pigeon" is not a valid choice.']},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "call", "channel": "phone"},
        {
            "contact": ["A touchpoint needs a contact or an account."],
            "account": ["A touchpoint needs a contact or an account."],
        },
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "call", "channel": "phone", "contact": HUGE},
        {"contact": [NO_SUCH_PK]},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "call", "channel": "phone", "account": HUGE},
        {"account": [NO_SUCH_PK]},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "call", "channel": "phone", "contact": "{w.contact.pk}", "campaign": HUGE},
        {"campaign": [NO_SUCH_PK]},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "call", "channel": "phone", "contact": 2.0},
        {"contact": [_incorrect_type("float")]},
    ),
    (
        "post",
        "/touchpoints/",
        {
            "kind": "order",
            "channel": "web",
            "contact": "{w.contact.pk}",
            "amount": HUGE,
            "currency": "JPY",
        },
        {"amount": ["Ensure that there are no more than 14 digits in total."]},
    ),
    (
        "post",
        "/touchpoints/",
        {
            "kind": "order",
            "channel": "web",
            "contact": "{w.contact.pk}",
            "amount": "abc",
            "currency": "JPY",
        },
        {"amount": ["A valid number is required."]},
    ),
    (
        "post",
        "/touchpoints/",
        {
            "kind": "order",
            "channel": "web",
            "contact": "{w.contact.pk}",
            "amount": "NaN",
            "currency": "JPY",
        },
        {"amount": ["A valid number is required."]},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "order", "channel": "web", "contact": "{w.contact.pk}", "amount": "100"},
        {"currency": ["An amount needs its currency."]},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "order", "channel": "web", "contact": "{w.contact.pk}", "currency": "yen!"},
        {"currency": ["This value does not match the required pattern."]},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "note", "channel": "other", "contact": "{w.contact.pk}", "summary": "s" * 301},
        {"summary": [_too_long(300)]},
    ),
    (
        "post",
        "/touchpoints/",
        {
            "kind": "note",
            "channel": "other",
            "contact": "{w.contact.pk}",
            "occurred_at": "notadate",
        },
        {
            "occurred_at": [
                "Datetime has wrong format. Use one of these formats instead: "
                "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
            ]
        },
    ),
    (
        "post",
        "/touchpoints/",
        {
            "kind": "note",
            "channel": "other",
            "contact": "{w.contact.pk}",
            "occurred_at": "0001-01-01T00:00:00+09:00",
        },
        {"occurred_at": ["Datetime value out of range."]},
    ),
    (
        "post",
        "/touchpoints/",
        {
            "kind": "call",
            "channel": "phone",
            "contact": "{w.contact.pk}",
            "account": "{w.other_account.pk}",
        },
        {"account": ["The contact belongs to another account."]},
    ),
    (
        "post",
        "/touchpoints/",
        {"kind": "call", "channel": "phone", "contact": "{w.contact.pk}", "actor": "{w.admin.pk}"},
        {"actor": [UNKNOWN]},  # the actor is whoever sends the request
    ),
    # Teams.
    ("post", "/teams/", {}, {"name": [REQUIRED], "kind": [REQUIRED]}),
    (
        "post",
        "/teams/",
        {"name": "Ops", "kind": "nope"},
        {"kind": ['"nope" is not a valid choice.']},
    ),
    ("post", "/teams/", {"name": "N" * 121, "kind": "sales"}, {"name": [_too_long(120)]}),
    (
        "post",
        "/teams/",
        {"name": " TOKYO ", "kind": "sales"},
        {"name": ["A team with this name exists."]},
    ),
    (
        "post",
        "/teams/",
        {"name": "Ops", "kind": "sales", "members": "abc"},
        {"members": ['Expected a list of items but got type "str".']},
    ),
    (
        "post",
        "/teams/",
        {"name": "Ops", "kind": "sales", "members": [HUGE]},
        {"members": [NO_SUCH_PK]},
    ),
    (
        "post",
        "/teams/",
        {"name": "Ops", "kind": "sales", "supervisor": HUGE},
        {"supervisor": [NO_SUCH_PK]},
    ),
    (
        "post",
        "/teams/",
        {"name": "Ops", "kind": "sales", "supervisor": "{w.inactive.pk}"},
        {"supervisor": ['Invalid pk "{w.inactive.pk}" - object does not exist.']},
    ),
    ("post", "/teams/", {"name": "Ops", "kind": "sales", "lead": 1}, {"lead": [UNKNOWN]}),
    (
        "patch",
        "/teams/{w.other_team.pk}/",
        {"name": "tokyo"},
        {"name": ["A team with this name exists."]},
    ),
    ("patch", "/teams/{w.other_team.pk}/", {"members": [HUGE]}, {"members": [NO_SUCH_PK]}),
    ("put", "/teams/{w.other_team.pk}/", {"name": "Kobe"}, {"kind": [REQUIRED]}),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "errors"),
    BODY_CASES,
    ids=[f"{method} {url} {sorted(errors)}" for method, url, _body, errors in BODY_CASES],
)
def test_it_refuses_a_bad_body_with_field_messages_and_writes_nothing(
    admin_client_api, world, method, url, body, errors
):
    before = _database_state()

    response = _send(admin_client_api, method, API + _fill(url, world), _fill(body, world))

    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["errors"] == _fill(errors, world)
    assert _database_state() == before


def test_it_accepts_a_number_as_a_phone(admin_client_api, world):
    """Not bad input: a JSON number is a fine value for a string field."""
    response = admin_client_api.patch(f"{API}/contacts/{world.contact.pk}/", {"phone": 5})

    assert response.status_code == 200
    assert response.json()["phone"] == "5"


WRITE_ENDPOINTS = [
    ("post", "/accounts/"),
    ("patch", "/accounts/{w.account.pk}/"),
    ("put", "/accounts/{w.account.pk}/"),
    ("post", "/accounts/{w.account.pk}/merge/"),
    ("post", "/contacts/"),
    ("patch", "/contacts/{w.contact.pk}/"),
    ("put", "/contacts/{w.contact.pk}/"),
    ("post", "/contacts/{w.contact.pk}/move/"),
    ("post", "/contacts/{w.contact.pk}/merge/"),
    ("post", "/contacts/resolve/"),
    ("post", "/touchpoints/"),
    ("post", "/teams/"),
    ("patch", "/teams/{w.team.pk}/"),
    ("put", "/teams/{w.team.pk}/"),
    ("post", "/auth/token/"),
]


@pytest.mark.parametrize(("method", "url"), WRITE_ENDPOINTS)
def test_it_refuses_malformed_json(admin_client_api, world, method, url):
    before = _database_state()

    response = _send(admin_client_api, method, API + _fill(url, world), '{"name": "Acme",')

    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("JSON parse error - ")
    assert body["errors"] == {}
    assert _database_state() == before


@pytest.mark.parametrize(("method", "url"), WRITE_ENDPOINTS)
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[1, 2]", NOT_A_DICT.format(kind="list")),
        ('"Acme"', NOT_A_DICT.format(kind="str")),
        ("42", NOT_A_DICT.format(kind="int")),
        ("null", "No data provided"),
    ],
    ids=["list", "string", "number", "null"],
)
def test_it_refuses_a_json_body_that_is_not_an_object(
    admin_client_api, world, method, url, raw, message
):
    before = _database_state()

    response = _send(admin_client_api, method, API + _fill(url, world), raw)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {"non_field_errors": [message]},
    }
    assert _database_state() == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"username": [REQUIRED], "password": [REQUIRED]}),
        ({"username": "admin"}, {"password": [REQUIRED]}),
        (
            {"username": "admin", "password": "wrong"},
            {"non_field_errors": ["Unable to log in with provided credentials."]},
        ),
        (
            {"username": "a\x00", "password": "x"},
            {"username": ["Null characters are not allowed."]},
        ),
    ],
    ids=["empty", "no password", "wrong password", "null character"],
)
def test_it_refuses_bad_credentials_for_a_token(api_client, admin_user, body, errors):
    response = api_client.post(f"{API}/auth/token/", body)

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", "errors": errors}
    assert Token.objects.count() == 0


# --- Filters ------------------------------------------------------------------------------------

IN_RANGE = "Ensure this value is less than or equal to 9223372036854775807."

FILTER_CASES = [
    # (list url, query, expected errors)
    (
        "/contacts/",
        {"stage": "nope"},
        {"stage": ["Select a valid choice. nope is not one of the available choices."]},
    ),
    (
        "/contacts/",
        {"stage": ["lead", "nope"]},
        {"stage": ["Select a valid choice. nope is not one of the available choices."]},
    ),
    ("/contacts/", {"created_at_after": "notadate"}, {"created_at": [BAD_DATE]}),
    ("/contacts/", {"created_at_before": "2024-02-30"}, {"created_at": [BAD_DATE]}),
    ("/contacts/", {"created_at_after": "0001-01-01"}, {"created_at": ["Date out of range."]}),
    ("/contacts/", {"stage_changed_at_after": "yesterday"}, {"stage_changed_at": [BAD_DATE]}),
    ("/contacts/", {"owner": "abc"}, {"owner": [BAD_CHOICE]}),
    ("/contacts/", {"owner": str(HUGE)}, {"owner": [BAD_CHOICE]}),
    ("/contacts/", {"owner": "1.5"}, {"owner": [BAD_CHOICE]}),
    ("/contacts/", {"account": str(HUGE)}, {"account": [BAD_CHOICE]}),
    ("/contacts/", {"team": "abc"}, {"team": [BAD_CHOICE]}),
    ("/contacts/", {"has_account": "maybe"}, {"has_account": ["Enter true or false."]}),
    (
        "/contacts/",
        {"q": "q" * 201},
        {"q": ["Ensure this value has at most 200 characters (it has 201)."]},
    ),
    ("/contacts/", {"q": "a\x00b"}, {"q": ["Null characters are not allowed."]}),
    ("/contacts/", {"email": "a\x00b"}, {"email": ["Null characters are not allowed."]}),
    (
        "/accounts/",
        {"size": "huge"},
        {"size": ["Select a valid choice. huge is not one of the available choices."]},
    ),
    ("/accounts/", {"owner": "-1"}, {"owner": [BAD_CHOICE]}),
    ("/accounts/", {"team": str(HUGE)}, {"team": [BAD_CHOICE]}),
    ("/accounts/", {"created_at_before": "31/12/2024"}, {"created_at": [BAD_DATE]}),
    (
        "/accounts/",
        {"industry": "i" * 101},
        {"industry": ["Ensure this value has at most 100 characters (it has 101)."]},
    ),
    (
        "/touchpoints/",
        {"kind": "tweet"},
        {"kind": ["Select a valid choice. tweet is not one of the available choices."]},
    ),
    (
        "/touchpoints/",
        {"channel": "pigeon"},
        {"channel": ["Select a valid choice. pigeon is not one of the available choices."]},
    ),
    ("/touchpoints/", {"contact": "abc"}, {"contact": [BAD_CHOICE]}),
    ("/touchpoints/", {"account": str(HUGE)}, {"account": [BAD_CHOICE]}),
    ("/touchpoints/", {"campaign": str(HUGE)}, {"campaign": [IN_RANGE]}),
    ("/touchpoints/", {"campaign": "1.5"}, {"campaign": ["Enter a whole number."]}),
    ("/touchpoints/", {"campaign": "abc"}, {"campaign": ["Enter a whole number."]}),
    (
        "/touchpoints/",
        {"campaign": "0"},
        {"campaign": ["Ensure this value is greater than or equal to 1."]},
    ),
    ("/touchpoints/", {"actor": "abc"}, {"actor": [BAD_CHOICE]}),
    ("/touchpoints/", {"team": str(HUGE)}, {"team": [BAD_CHOICE]}),
    ("/touchpoints/", {"occurred_at_after": "2024-13-01"}, {"occurred_at": [BAD_DATE]}),
    (
        "/teams/",
        {"kind": "nope"},
        {"kind": ["Select a valid choice. nope is not one of the available choices."]},
    ),
    ("/teams/", {"member": "abc"}, {"member": [BAD_CHOICE]}),
    ("/teams/", {"supervisor": str(HUGE)}, {"supervisor": [BAD_CHOICE]}),
    ("/teams/", {"created_at_before": "notadate"}, {"created_at": [BAD_DATE]}),
    ("/users/", {"team": "abc"}, {"team": [BAD_CHOICE]}),
    (
        "/users/",
        {"role": "r" * 151},
        {"role": ["Ensure this value has at most 150 characters (it has 151)."]},
    ),
]


@pytest.mark.parametrize(
    ("url", "query", "errors"),
    FILTER_CASES,
    ids=[f"{url} {'&'.join(query)}" for url, query, _e in FILTER_CASES],
)
def test_it_refuses_a_bad_filter_value_with_field_messages(
    admin_client_api, world, url, query, errors
):
    response = admin_client_api.get(API + url, query)

    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", "errors": errors}


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/contacts/", {"ordering": "no_such_field"}),
        ("/contacts/", {"ordering": "-password"}),
        # A page size past the maximum is cut to it; one that is not a number is a 400
        # (tests/reliability/test_api_contract.py).
        ("/touchpoints/", {"page_size": str(HUGE)}),
        ("/accounts/", {"unknown_filter": "x"}),
    ],
)
def test_it_ignores_unknown_orderings_page_sizes_and_parameters(
    admin_client_api, world, url, query
):
    response = admin_client_api.get(API + url, query)

    assert response.status_code == 200


# --- Pages --------------------------------------------------------------------------------------

PAGED = [
    "/accounts/",
    "/contacts/",
    "/touchpoints/",
    "/teams/",
    "/users/",
    "/contacts/{w.contact.pk}/timeline/",
    "/contacts/{w.contact.pk}/journey/",
    "/accounts/{w.account.pk}/timeline/",
]


@pytest.mark.parametrize("url", PAGED)
@pytest.mark.parametrize("page", ["abc", "0", "-1", "2", str(HUGE), "1e400", "last2"])
def test_it_answers_a_bad_page_number_with_a_json_404(admin_client_api, world, url, page):
    response = admin_client_api.get(API + _fill(url, world), {"page": page})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page.", "errors": {}}


# --- Ids in the path ----------------------------------------------------------------------------

PATHS = [
    ("get", "/accounts/{id}/"),
    ("patch", "/accounts/{id}/"),
    ("put", "/accounts/{id}/"),
    ("delete", "/accounts/{id}/"),
    ("get", "/accounts/{id}/timeline/"),
    ("post", "/accounts/{id}/merge/"),
    ("get", "/contacts/{id}/"),
    ("patch", "/contacts/{id}/"),
    ("delete", "/contacts/{id}/"),
    ("get", "/contacts/{id}/timeline/"),
    ("get", "/contacts/{id}/journey/"),
    ("post", "/contacts/{id}/move/"),
    ("post", "/contacts/{id}/merge/"),
    ("get", "/touchpoints/{id}/"),
    ("get", "/teams/{id}/"),
    ("patch", "/teams/{id}/"),
    ("delete", "/teams/{id}/"),
    ("get", "/users/{id}/"),
]


@pytest.mark.parametrize(("method", "url"), PATHS)
@pytest.mark.parametrize("pk", [str(HUGE), "abc", "0", "-1", "1e3", "999999"])
def test_it_answers_an_unknown_id_in_the_path_with_a_json_404(
    admin_client_api, world, method, url, pk
):
    before = _database_state()
    body = {"to_stage": "lead", "duplicate": world.other.pk} if method != "get" else None

    response = getattr(admin_client_api, method)(API + url.format(id=pk), body)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}
    assert _database_state() == before
