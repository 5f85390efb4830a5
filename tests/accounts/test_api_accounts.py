"""/api/v1/accounts/: CRUD, filters and ordering, the timeline, merges, and delete refused while
contacts reference the account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Account, Contact, CustomerMerge, JourneyTransition, Touchpoint
from tests.api_helpers import result_ids, result_names
from tests.factories import (
    AccountFactory,
    ContactFactory,
    TeamFactory,
    TouchpointFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounts/"
JAN_10 = datetime(2024, 1, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo, the project's time zone


def _counts() -> dict[str, int]:
    return {
        "accounts": Account.objects.count(),
        "contacts": Contact.objects.count(),
        "touchpoints": Touchpoint.objects.count(),
        "transitions": JourneyTransition.objects.count(),
        "merges": CustomerMerge.objects.count(),
    }


# --- Create, read, update, delete ---------------------------------------------------------------


def test_it_creates_an_account_with_a_normalised_domain(rep_client, sales_rep):
    response = rep_client.post(
        URL,
        {
            "name": "Acme Japan",
            "domain": "https://www.Acme.co.jp/about",
            "industry": "Manufacturing",
            "size": "50-249",
            "region": "Kanto",
            "owner": sales_rep.pk,
        },
    )

    assert response.status_code == 201
    account = Account.objects.get()
    body = response.json()
    assert {
        key: value for key, value in body.items() if key not in ("created_at", "updated_at")
    } == {
        "id": account.pk,
        "name": "Acme Japan",
        "domain": "acme.co.jp",
        "industry": "Manufacturing",
        "size": "50-249",
        "region": "Kanto",
        "owner": sales_rep.pk,
        "owner_name": sales_rep.get_full_name(),
        "contact_count": 0,
    }
    assert account.domain == "acme.co.jp"


def test_it_reads_one_account_with_its_contact_count(rep_client):
    account = AccountFactory(name="Acme")
    ContactFactory.create_batch(3, account=account)
    ContactFactory(account=AccountFactory())

    response = rep_client.get(f"{URL}{account.pk}/")

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["contact_count"]) == ("Acme", 3)


def test_it_updates_an_account_with_patch(rep_client):
    account = AccountFactory(name="Acme", domain="acme.example.com", industry="Retail")

    response = rep_client.patch(
        f"{URL}{account.pk}/", {"domain": "WWW.ACME.CO.JP", "size": "1000+"}
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.name, account.domain, account.size, account.industry) == (
        "Acme",
        "acme.co.jp",
        "1000+",
        "Retail",
    )
    assert response.json()["domain"] == "acme.co.jp"


def test_it_keeps_its_own_domain_on_update(rep_client):
    account = AccountFactory(domain="acme.example.com")

    response = rep_client.patch(f"{URL}{account.pk}/", {"domain": "acme.example.com"})

    assert response.status_code == 200


def test_it_replaces_an_account_with_put(rep_client):
    account = AccountFactory(name="Acme", region="Kanto")

    response = rep_client.put(f"{URL}{account.pk}/", {"name": "Acme Holdings", "region": "Kansai"})

    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.name, account.region) == ("Acme Holdings", "Kansai")


def test_it_deletes_an_account_nobody_references(admin_client_api):
    account = AccountFactory()
    other = AccountFactory()

    response = admin_client_api.delete(f"{URL}{account.pk}/")

    assert response.status_code == 204
    assert list(Account.objects.values_list("pk", flat=True)) == [other.pk]


def test_it_refuses_to_delete_an_account_with_contacts_and_deletes_nothing(admin_client_api):
    account = AccountFactory()
    contact = ContactFactory(account=account)
    TouchpointFactory(contact=contact, account=account)
    TouchpointFactory(contact=None, account=account)
    before = _counts()

    response = admin_client_api.delete(f"{URL}{account.pk}/")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "This record is still referenced by other records and cannot be deleted.",
        "errors": {},
    }
    assert _counts() == before


def test_it_refuses_to_delete_an_account_with_a_timeline(admin_client_api):
    account = AccountFactory()
    TouchpointFactory(contact=None, account=account)

    response = admin_client_api.delete(f"{URL}{account.pk}/")

    assert response.status_code == 409
    assert Touchpoint.objects.filter(account=account).count() == 1


# --- List, filters, ordering --------------------------------------------------------------------


def test_it_lists_accounts_by_name_without_a_query_per_row(
    rep_client, django_assert_max_num_queries
):
    owner = UserFactory()
    for number in range(40):
        account = AccountFactory(name=f"Company {number:02d}", owner=owner)
        ContactFactory.create_batch(number % 3, account=account)

    # 2 permission look-ups, the count, the page (owner joined, contacts counted in SQL).
    with django_assert_max_num_queries(4):
        response = rep_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 40
    assert result_names(response) == [f"Company {number:02d}" for number in range(40)]
    assert [row["contact_count"] for row in body["results"]] == [n % 3 for n in range(40)]
    assert {row["owner_name"] for row in body["results"]} == {owner.get_full_name()}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("acme", ["Acme"]),  # name, any case
        ("globex.co", ["Globex"]),  # domain
        ("pharma", ["Globex"]),  # industry
        ("kansai", ["Acme"]),  # region
        ("nothing", []),
    ],
)
def test_it_searches_accounts_by_text(rep_client, q, expected):
    AccountFactory(name="Acme", domain="acme.example.com", industry="Retail", region="Kansai")
    AccountFactory(name="Globex", domain="globex.co.jp", industry="Pharma", region="Kanto")

    response = rep_client.get(URL, {"q": q})

    assert result_names(response) == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"industry": "RETAIL"}, ["Acme"]),
        ({"region": "kanto"}, ["Globex", "Initech"]),
        ({"size": ["1-9", "1000+"]}, ["Acme", "Initech"]),
        ({"domain": "globex.co.jp"}, ["Globex"]),
    ],
)
def test_it_filters_accounts_by_field(rep_client, params, expected):
    AccountFactory(name="Acme", industry="Retail", region="Kansai", size="1-9")
    AccountFactory(name="Globex", domain="globex.co.jp", region="Kanto", size="50-249")
    AccountFactory(name="Initech", region="Kanto", size="1000+")

    response = rep_client.get(URL, params)

    assert response.status_code == 200
    assert result_names(response) == expected


def test_it_filters_accounts_by_owner(rep_client, sales_rep):
    AccountFactory(name="Mine", owner=sales_rep)
    AccountFactory(name="Unowned")

    response = rep_client.get(URL, {"owner": sales_rep.pk})

    assert result_names(response) == ["Mine"]


def test_it_filters_accounts_by_the_owners_team_without_double_counting(rep_client):
    east, west = TeamFactory(name="East"), TeamFactory(name="West")
    in_both = UserFactory()
    east.members.add(in_both)
    west.members.add(in_both)
    account = AccountFactory(name="Acme", owner=in_both)
    ContactFactory.create_batch(2, account=account)
    AccountFactory(name="Unowned")

    response = rep_client.get(URL, {"team": west.pk})

    assert result_names(response) == ["Acme"]
    assert response.json()["results"][0]["contact_count"] == 2


def test_it_filters_accounts_by_creation_days(rep_client):
    AccountFactory(name="Before", created_at=JAN_10 - timedelta(days=2))
    AccountFactory(name="Inside", created_at=JAN_10)
    AccountFactory(name="After", created_at=JAN_10 + timedelta(days=2))

    response = rep_client.get(
        URL, {"created_at_after": "2024-01-09", "created_at_before": "2024-01-11"}
    )

    assert result_names(response) == ["Inside"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-name", ["Initech", "Globex", "Acme"]),
        ("domain", ["Globex", "Initech", "Acme"]),
        ("-created_at", ["Globex", "Acme", "Initech"]),
        ("region,name", ["Initech", "Acme", "Globex"]),
    ],
)
def test_it_orders_accounts(rep_client, ordering, expected):
    AccountFactory(name="Acme", domain="c.example.com", region="Kanto", created_at=JAN_10)
    AccountFactory(
        name="Globex",
        domain="a.example.com",
        region="Tohoku",
        created_at=JAN_10 + timedelta(days=1),
    )
    AccountFactory(
        name="Initech",
        domain="b.example.com",
        region="Kansai",
        created_at=JAN_10 - timedelta(days=1),
    )

    response = rep_client.get(URL, {"ordering": ordering})

    assert result_names(response) == expected


# --- Timeline -----------------------------------------------------------------------------------


def test_it_shows_the_account_timeline_with_its_peoples_touchpoints_newest_first(rep_client):
    account = AccountFactory()
    person = ContactFactory(account=account)
    visit = TouchpointFactory(contact=person, occurred_at=JAN_10)
    order = TouchpointFactory(contact=None, account=account, occurred_at=JAN_10)
    call = TouchpointFactory(contact=person, occurred_at=JAN_10 + timedelta(hours=1))
    TouchpointFactory(contact=ContactFactory(account=AccountFactory()), occurred_at=JAN_10)

    response = rep_client.get(f"{URL}{account.pk}/timeline/")

    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert result_ids(response) == [call.pk, order.pk, visit.pk]


def test_it_pages_the_account_timeline(rep_client):
    account = AccountFactory()
    rows = [
        TouchpointFactory(contact=None, account=account, occurred_at=JAN_10 + timedelta(hours=h))
        for h in range(3)
    ]

    response = rep_client.get(f"{URL}{account.pk}/timeline/", {"page_size": 2, "page": 2})

    assert response.status_code == 200
    assert result_ids(response) == [rows[0].pk]
    assert response.json()["previous"].endswith(f"{URL}{account.pk}/timeline/?page_size=2")


@pytest.mark.parametrize("touchpoints", [3, 30])
def test_it_reads_the_account_timeline_in_a_fixed_number_of_queries(
    rep_client, touchpoints, django_assert_num_queries
):
    account = AccountFactory()
    people = ContactFactory.create_batch(3, account=account)
    for number in range(touchpoints):
        TouchpointFactory(
            contact=people[number % 3],
            account=account,
            occurred_at=JAN_10 + timedelta(hours=number),
        )

    # 2 permission look-ups, the account, the count, the page: the same for 3 rows as for 30.
    with django_assert_num_queries(5):
        response = rep_client.get(f"{URL}{account.pk}/timeline/")

    assert response.json()["count"] == touchpoints
    assert {row["contact_name"] for row in response.json()["results"]} == {
        person.name for person in people
    }


# --- Merge --------------------------------------------------------------------------------------


def test_it_merges_a_duplicate_account_into_the_survivor(manager_client, manager):
    survivor = AccountFactory(name="Acme", domain="", industry="")
    duplicate = AccountFactory(name="ACME Corp", domain="acme.co.jp", industry="Retail")
    people = ContactFactory.create_batch(2, account=duplicate)
    TouchpointFactory(contact=None, account=duplicate)
    duplicate_pk = duplicate.pk

    response = manager_client.post(
        f"{URL}{survivor.pk}/merge/", {"duplicate": duplicate_pk, "reason": "same company"}
    )

    assert response.status_code == 200
    merge = CustomerMerge.objects.get()
    assert response.json() == {
        "merge_id": merge.pk,
        "survivor": survivor.pk,
        "duplicate": duplicate_pk,
        "moved": {"accounts.Contact.account": 2, "accounts.Touchpoint.account": 1},
    }
    assert not Account.objects.filter(pk=duplicate_pk).exists()
    assert set(Contact.objects.values_list("account_id", flat=True)) == {survivor.pk}
    assert {c.pk for c in people} == set(Contact.objects.values_list("pk", flat=True))
    assert set(Touchpoint.objects.values_list("account_id", flat=True)) == {survivor.pk}
    assert (
        merge.kind,
        merge.survivor_account_id,
        merge.duplicate_id,
        merge.actor,
        merge.reason,
    ) == (
        "account",
        survivor.pk,
        duplicate_pk,
        manager,
        "same company",
    )
    assert merge.duplicate_snapshot["name"] == "ACME Corp"
    survivor.refresh_from_db()
    assert (survivor.name, survivor.domain, survivor.industry) == ("Acme", "acme.co.jp", "Retail")


def test_it_refuses_to_merge_an_account_into_itself(manager_client):
    account = AccountFactory()

    response = manager_client.post(f"{URL}{account.pk}/merge/", {"duplicate": account.pk})

    assert response.status_code == 400
    message = "An account cannot be merged into itself."
    assert response.json() == {"detail": message, "errors": {"duplicate": [message]}}
    assert Account.objects.filter(pk=account.pk).exists()
    assert CustomerMerge.objects.count() == 0
