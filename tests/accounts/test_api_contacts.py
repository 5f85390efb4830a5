"""/api/v1/contacts/: CRUD, filters and ordering, the journey (`move`, `journey`), identity
resolution (`resolve`), merges (`merge`) and the timeline (`timeline`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts import journey, services
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


URL = "/api/v1/contacts/"
JAN_10 = datetime(2024, 1, 10, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo, the project's time zone


# --- Create, read, update, delete ---------------------------------------------------------------


def test_it_creates_a_contact_with_normalised_keys(rep_client, sales_rep):
    account = AccountFactory(name="Acme")

    response = rep_client.post(
        URL,
        {
            "name": " Hanako Sato ",
            "email": "Hanako.Sato@Acme.Example.com",
            "phone": "03-1234-5678",
            "title": "Buyer",
            "department": "Purchasing",
            "account": account.pk,
            "owner": sales_rep.pk,
        },
    )

    assert response.status_code == 201
    body = response.json()
    contact = Contact.objects.get()
    assert body["id"] == contact.pk
    assert body["name"] == "Hanako Sato"
    assert body["email"] == "hanako.sato@acme.example.com"
    assert body["account_name"] == "Acme"
    assert body["owner_name"] == sales_rep.get_full_name()
    assert body["stage"] == "awareness"
    assert contact.phone_normalized == "+81312345678"


def test_it_writes_the_first_journey_row_when_it_creates_a_contact(rep_client, sales_rep):
    response = rep_client.post(URL, {"name": "Hanako Sato", "stage": "lead"})

    assert response.status_code == 201
    assert response.json()["stage"] == "lead"
    row = JourneyTransition.objects.get()
    assert row.contact_id == response.json()["id"]
    assert (row.from_stage, row.to_stage) == ("", "lead")
    assert row.actor == sales_rep
    assert row.cause == "created via API"


def test_it_reads_one_contact(rep_client, sales_rep):
    account = AccountFactory(name="Acme")
    contact = ContactFactory(name="Ken Ito", email="ken@acme.example.com", account=account)
    contact.owner = sales_rep
    contact.save()

    response = rep_client.get(f"{URL}{contact.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("name", "email", "account", "account_name", "owner")} == {
        "name": "Ken Ito",
        "email": "ken@acme.example.com",
        "account": account.pk,
        "account_name": "Acme",
        "owner": sales_rep.pk,
    }


def test_it_updates_a_contact_with_patch(rep_client):
    contact = ContactFactory(name="Ken Ito", email="ken@acme.example.com", title="")

    response = rep_client.patch(
        f"{URL}{contact.pk}/", {"title": "CTO", "email": "KEN.ITO@Acme.Example.com"}
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.title, contact.email, contact.name) == (
        "CTO",
        "ken.ito@acme.example.com",
        "Ken Ito",
    )
    assert response.json()["email"] == "ken.ito@acme.example.com"


def test_it_replaces_a_contact_with_put(rep_client):
    account = AccountFactory()
    contact = ContactFactory(name="Ken Ito", title="CTO", account=account)

    response = rep_client.put(
        f"{URL}{contact.pk}/", {"name": "Ken Itō", "phone": "+81 90 1111 2222"}
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert (contact.name, contact.phone_normalized) == ("Ken Itō", "+819011112222")
    # Omitted optional fields keep their values: the service only changes what it is given.
    assert (contact.title, contact.account_id) == ("CTO", account.pk)


def test_it_refuses_a_stage_change_on_update_and_points_to_move(rep_client):
    """The stage changes only through `move`, which writes history: an update saying otherwise
    is a 400, not a silently ignored field."""
    contact = ContactFactory(stage="lead")

    response = rep_client.patch(f"{URL}{contact.pk}/", {"stage": "customer"})

    assert response.status_code == 400
    assert response.json()["errors"] == {
        "stage": ["The journey stage changes only through POST /api/v1/contacts/{id}/move/."]
    }
    contact.refresh_from_db()
    assert contact.stage == "lead"
    assert JourneyTransition.objects.filter(contact=contact).count() == 1


def test_it_deletes_a_contact(admin_client_api):
    contact = ContactFactory()
    other = ContactFactory()

    response = admin_client_api.delete(f"{URL}{contact.pk}/")

    assert response.status_code == 204
    assert list(Contact.objects.values_list("pk", flat=True)) == [other.pk]
    assert list(JourneyTransition.objects.values_list("contact_id", flat=True)) == [other.pk]


# --- List, filters, ordering --------------------------------------------------------------------


def test_it_lists_contacts_by_name_without_a_query_per_row(
    rep_client, django_assert_max_num_queries
):
    owner = UserFactory()
    account = AccountFactory()
    for number in range(40):
        contact = ContactFactory(name=f"Person {number:02d}", account=account)
        contact.owner = owner
        contact.save()

    # 2 permission look-ups, the count, the page (account and owner are joined).
    with django_assert_max_num_queries(4):
        response = rep_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 40
    assert result_names(response) == [f"Person {number:02d}" for number in range(40)]
    assert {row["account_name"] for row in body["results"]} == {account.name}


def test_it_filters_contacts_by_several_stages(rep_client):
    ContactFactory(name="A", stage="awareness")
    ContactFactory(name="L", stage="lead")
    ContactFactory(name="C", stage="customer")

    response = rep_client.get(URL, {"stage": ["lead", "customer"]})

    assert response.status_code == 200
    assert result_names(response) == ["C", "L"]


def test_it_filters_contacts_by_owner(rep_client, sales_rep):
    mine = ContactFactory(name="Mine")
    mine.owner = sales_rep
    mine.save()
    ContactFactory(name="Nobody's")

    response = rep_client.get(URL, {"owner": sales_rep.pk})

    assert result_names(response) == ["Mine"]


def test_it_filters_contacts_by_the_owners_team(rep_client):
    east, west = TeamFactory(name="East"), TeamFactory(name="West")
    in_both, in_west = UserFactory(), UserFactory()
    east.members.add(in_both)
    west.members.add(in_both, in_west)
    for name, owner in (("Both", in_both), ("West only", in_west), ("Unowned", None)):
        contact = ContactFactory(name=name)
        contact.owner = owner
        contact.save()

    east_response = rep_client.get(URL, {"team": east.pk})
    west_response = rep_client.get(URL, {"team": west.pk})

    assert result_names(east_response) == ["Both"]
    # The owner is in two teams: still one row per contact.
    assert result_names(west_response) == ["Both", "West only"]


def test_it_filters_contacts_by_account(rep_client):
    acme, other = AccountFactory(), AccountFactory()
    ContactFactory(name="At Acme", account=acme)
    ContactFactory(name="Elsewhere", account=other)

    response = rep_client.get(URL, {"account": acme.pk})

    assert result_names(response) == ["At Acme"]


@pytest.mark.parametrize(("has_account", "expected"), [("true", ["With"]), ("false", ["Without"])])
def test_it_filters_contacts_by_whether_they_have_an_account(rep_client, has_account, expected):
    ContactFactory(name="With", account=AccountFactory())
    ContactFactory(name="Without", account=None)

    response = rep_client.get(URL, {"has_account": has_account})

    assert result_names(response) == expected


def test_it_filters_contacts_by_creation_days_both_days_included(rep_client):
    tokyo_day_start = datetime(2024, 1, 9, 15, 0, tzinfo=UTC)  # 2024-01-10 00:00 in Tokyo
    ContactFactory(name="Just before", created_at=tokyo_day_start - timedelta(seconds=1))
    ContactFactory(name="First moment", created_at=tokyo_day_start)
    ContactFactory(name="Last day late", created_at=datetime(2024, 1, 20, 14, 59, tzinfo=UTC))
    ContactFactory(name="Day after", created_at=datetime(2024, 1, 20, 15, 0, tzinfo=UTC))

    response = rep_client.get(
        URL, {"created_at_after": "2024-01-10", "created_at_before": "2024-01-20"}
    )

    assert result_names(response) == ["First moment", "Last day late"]


def test_it_filters_contacts_by_stage_change_days(rep_client):
    ContactFactory(name="Moved in January", stage_changed_at=JAN_10)
    ContactFactory(name="Moved in March", stage_changed_at=datetime(2024, 3, 1, 3, tzinfo=UTC))

    response = rep_client.get(URL, {"stage_changed_at_before": "2024-01-31"})

    assert result_names(response) == ["Moved in January"]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("hanako", ["Hanako Sato"]),  # name, any case
        ("@globex.example", ["Taro Suzuki"]),  # email
        ("5678", ["Hanako Sato"]),  # phone
        ("procure", ["Taro Suzuki"]),  # department
        ("engineer", ["Hanako Sato"]),  # title
        ("ACME", ["Hanako Sato"]),  # the account's name
        ("nobody", []),
    ],
)
def test_it_searches_contacts_by_text(rep_client, q, expected):
    ContactFactory(
        name="Hanako Sato",
        email="hanako@acme.example.com",
        phone="03-1234-5678",
        title="Engineer",
        account=AccountFactory(name="Acme Corp"),
    )
    ContactFactory(name="Taro Suzuki", email="taro@globex.example.com", department="Procurement")

    response = rep_client.get(URL, {"q": q})

    assert result_names(response) == expected


def test_it_finds_a_contact_by_exact_email(rep_client):
    ContactFactory(name="Exact", email="ken@acme.example.com")
    ContactFactory(name="Longer", email="ken@acme.example.com.au")

    response = rep_client.get(URL, {"email": "ken@acme.example.com"})

    assert result_names(response) == ["Exact"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-name", ["Cora", "Bea", "Abe"]),
        ("stage", ["Cora", "Abe", "Bea"]),  # alphabetical: awareness, customer, lead
        ("created_at", ["Bea", "Cora", "Abe"]),
        ("-created_at", ["Abe", "Cora", "Bea"]),
        ("unknown_field", ["Abe", "Bea", "Cora"]),  # ignored: the default order
    ],
)
def test_it_orders_contacts(rep_client, ordering, expected):
    ContactFactory(name="Abe", stage="customer", created_at=JAN_10 + timedelta(days=2))
    ContactFactory(name="Bea", stage="lead", created_at=JAN_10)
    ContactFactory(name="Cora", stage="awareness", created_at=JAN_10 + timedelta(days=1))

    response = rep_client.get(URL, {"ordering": ordering})

    assert response.status_code == 200
    assert result_names(response) == expected


# --- Journey: move ------------------------------------------------------------------------------


def test_it_moves_a_contact_forward_and_writes_the_transition(rep_client, sales_rep):
    contact = ContactFactory(stage="lead")

    response = rep_client.post(f"{URL}{contact.pk}/move/", {"to_stage": "customer"})

    assert response.status_code == 200
    assert response.json()["stage"] == "customer"
    contact.refresh_from_db()
    assert contact.stage == "customer"
    row = JourneyTransition.objects.filter(contact=contact).first()
    assert (row.from_stage, row.to_stage, row.actor, row.cause) == (
        "lead",
        "customer",
        sales_rep,
        "",
    )
    assert contact.stage_changed_at == row.created_at


def test_it_refuses_a_backward_move_without_a_cause_and_writes_nothing(rep_client):
    contact = ContactFactory(stage="customer")

    response = rep_client.post(f"{URL}{contact.pk}/move/", {"to_stage": "lead"})

    assert response.status_code == 400
    message = "Moving from 'customer' to 'lead' needs a reason."
    assert response.json() == {"detail": message, "errors": {"cause": [message]}}
    contact.refresh_from_db()
    assert contact.stage == "customer"
    assert JourneyTransition.objects.filter(contact=contact).count() == 1


def test_it_moves_a_contact_backward_with_a_cause(rep_client, sales_rep):
    contact = ContactFactory(stage="customer")

    response = rep_client.post(
        f"{URL}{contact.pk}/move/", {"to_stage": "lead", "cause": "  Contract cancelled  "}
    )

    assert response.status_code == 200
    assert response.json()["stage"] == "lead"
    row = JourneyTransition.objects.filter(contact=contact).first()
    assert (row.from_stage, row.to_stage, row.cause, row.actor) == (
        "customer",
        "lead",
        "Contract cancelled",
        sales_rep,
    )


def test_it_refuses_a_move_to_lost_without_a_cause(rep_client):
    contact = ContactFactory(stage="prospect")

    response = rep_client.post(f"{URL}{contact.pk}/move/", {"to_stage": "lost"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["cause"]
    assert JourneyTransition.objects.filter(contact=contact).count() == 1


def test_it_reactivates_a_lost_contact_without_a_cause(rep_client):
    contact = ContactFactory(stage="lost")

    response = rep_client.post(f"{URL}{contact.pk}/move/", {"to_stage": "lead"})

    assert response.status_code == 200
    assert JourneyTransition.objects.filter(contact=contact).first().from_stage == "lost"


def test_it_refuses_a_move_when_someone_moved_the_contact_meanwhile(rep_client, monkeypatch):
    contact = ContactFactory(stage="lead")
    can_transition = journey.can_transition

    def someone_else_moves_first(from_stage, to_stage, *, has_reason):
        # Between the view reading the contact and the service writing: a concurrent move.
        Contact.objects.filter(pk=contact.pk).update(stage="customer")
        return can_transition(from_stage, to_stage, has_reason=has_reason)

    monkeypatch.setattr(journey, "can_transition", someone_else_moves_first)

    response = rep_client.post(f"{URL}{contact.pk}/move/", {"to_stage": "prospect"})

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The contact's stage was changed by someone else; reload and try again.",
        "errors": {"to_stage": ["The stage changed meanwhile."]},
    }
    contact.refresh_from_db()
    assert contact.stage == "customer"
    assert not JourneyTransition.objects.filter(contact=contact, to_stage="prospect").exists()


def test_it_shows_the_journey_newest_first(rep_client, sales_rep):
    contact = ContactFactory(stage="awareness", stage_changed_at=JAN_10)
    services.journey_move(contact=contact, to_stage="lead", at=JAN_10 + timedelta(days=1))
    services.journey_move(
        contact=contact,
        to_stage="customer",
        actor=sales_rep,
        cause="won",
        at=JAN_10 + timedelta(days=2),
    )

    response = rep_client.get(f"{URL}{contact.pk}/journey/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["from_stage"], row["to_stage"]) for row in rows] == [
        ("lead", "customer"),
        ("awareness", "lead"),
        ("", "awareness"),
    ]
    assert (rows[0]["actor"], rows[0]["actor_name"], rows[0]["cause"]) == (
        sales_rep.pk,
        sales_rep.get_full_name(),
        "won",
    )


@pytest.mark.parametrize("moves", [2, 25])
def test_it_reads_the_journey_in_a_fixed_number_of_queries(
    rep_client, moves, django_assert_num_queries
):
    contact = ContactFactory(stage="awareness")
    actors = [UserFactory(), UserFactory()]
    for number in range(moves):
        stage = "lead" if number % 2 == 0 else "awareness"
        services.journey_move(contact=contact, to_stage=stage, actor=actors[number % 2], cause="x")

    # 2 permission look-ups, the contact, the count, the page (actors are joined).
    with django_assert_num_queries(5):
        response = rep_client.get(f"{URL}{contact.pk}/journey/")

    assert response.json()["count"] == moves + 1


# --- Timeline -----------------------------------------------------------------------------------


def test_it_shows_the_timeline_newest_first_ties_by_id(rep_client):
    contact = ContactFactory()
    first = TouchpointFactory(contact=contact, occurred_at=JAN_10)
    noon = TouchpointFactory(contact=contact, occurred_at=JAN_10 + timedelta(hours=2))
    noon_later_row = TouchpointFactory(contact=contact, occurred_at=JAN_10 + timedelta(hours=2))
    middle = TouchpointFactory(contact=contact, occurred_at=JAN_10 + timedelta(hours=1))
    TouchpointFactory(contact=ContactFactory(), occurred_at=JAN_10)  # someone else's

    response = rep_client.get(f"{URL}{contact.pk}/timeline/")

    assert response.status_code == 200
    assert response.json()["count"] == 4
    assert result_ids(response) == [noon_later_row.pk, noon.pk, middle.pk, first.pk]


def test_it_pages_the_timeline(rep_client):
    contact = ContactFactory()
    rows = [
        TouchpointFactory(contact=contact, occurred_at=JAN_10 + timedelta(hours=hour))
        for hour in range(5)
    ]

    first_page = rep_client.get(f"{URL}{contact.pk}/timeline/", {"page_size": 2})
    last_page = rep_client.get(f"{URL}{contact.pk}/timeline/", {"page_size": 2, "page": 3})

    assert first_page.json()["count"] == 5
    assert result_ids(first_page) == [rows[4].pk, rows[3].pk]
    assert first_page.json()["next"].endswith(f"{URL}{contact.pk}/timeline/?page=2&page_size=2")
    assert result_ids(last_page) == [rows[0].pk]
    assert last_page.json()["next"] is None


@pytest.mark.parametrize("touchpoints", [3, 30])
def test_it_reads_the_timeline_in_a_fixed_number_of_queries(
    rep_client, touchpoints, django_assert_num_queries
):
    account = AccountFactory()
    contact = ContactFactory(account=account)
    handler = UserFactory()
    for number in range(touchpoints):
        TouchpointFactory(
            contact=contact,
            account=account,
            actor=handler,
            occurred_at=JAN_10 + timedelta(minutes=number),
        )

    # 2 permission look-ups, the contact, the count, the page (contact, account, campaign and
    # actor are joined): the same for 3 rows as for 30.
    with django_assert_num_queries(5):
        response = rep_client.get(f"{URL}{contact.pk}/timeline/")

    assert response.json()["count"] == touchpoints
    assert {row["actor_name"] for row in response.json()["results"]} == {handler.get_full_name()}


# --- Identity resolution ------------------------------------------------------------------------


def test_it_creates_a_contact_and_its_account_when_resolving_someone_new(rep_client, sales_rep):
    response = rep_client.post(
        f"{URL}resolve/",
        {"email": "Hanako@Acme.co.jp", "name": "Hanako Sato", "company": "Acme"},
    )

    assert response.status_code == 201
    body = response.json()
    contact = Contact.objects.get()
    assert (body["created"], body["matched_on"], body["contact"]["id"]) == (True, "", contact.pk)
    assert (contact.email, contact.name) == ("hanako@acme.co.jp", "Hanako Sato")
    assert (contact.account.name, contact.account.domain) == ("Acme", "acme.co.jp")
    assert body["contact"]["account_name"] == "Acme"
    row = JourneyTransition.objects.get()
    assert (row.to_stage, row.actor, row.cause) == ("awareness", sales_rep, "resolved via API")


def test_it_matches_a_known_contact_on_email_when_resolving(rep_client):
    first = rep_client.post(f"{URL}resolve/", {"email": "hanako@acme.co.jp", "name": "Hanako"})

    again = rep_client.post(f"{URL}resolve/", {"email": " HANAKO@acme.co.jp ", "title": "Buyer"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert (again.json()["created"], again.json()["matched_on"]) == (False, "email")
    assert again.json()["contact"]["id"] == first.json()["contact"]["id"]
    assert Contact.objects.count() == 1
    # Blanks are filled in, nothing known is overwritten.
    assert again.json()["contact"]["title"] == "Buyer"
    assert again.json()["contact"]["name"] == "Hanako"


def test_it_matches_a_known_contact_on_phone_when_resolving(rep_client):
    first = rep_client.post(f"{URL}resolve/", {"phone": "03-1234-5678", "name": "Ken"})

    again = rep_client.post(f"{URL}resolve/", {"phone": "+81 3 1234 5678"})

    assert (first.status_code, again.status_code) == (201, 200)
    assert (again.json()["created"], again.json()["matched_on"]) == (False, "phone")
    assert again.json()["contact"]["id"] == first.json()["contact"]["id"]
    assert Contact.objects.count() == 1


def test_it_resolves_a_merged_away_email_to_the_survivor(manager_client):
    survivor = ContactFactory(email="ken@acme.example.com")
    duplicate = ContactFactory(email="ken.ito@acme.example.com")
    manager_client.post(f"{URL}{survivor.pk}/merge/", {"duplicate": duplicate.pk})

    response = manager_client.post(f"{URL}resolve/", {"email": "ken.ito@acme.example.com"})

    assert response.status_code == 200
    assert (response.json()["matched_on"], response.json()["contact"]["id"]) == (
        "merged_email",
        survivor.pk,
    )
    assert Contact.objects.count() == 1


@pytest.mark.parametrize("email", ["ops@localhost", "ops@[192.0.2.1]"])
def test_it_resolves_a_valid_email_whose_host_is_not_a_company_domain(rep_client, email):
    """validate_email accepts these hosts; they name no organisation: no account, and no 400 on
    a `domain` the client never sent."""
    response = rep_client.post(f"{URL}resolve/", {"email": email, "name": "Ops"})

    assert response.status_code == 201
    assert response.json()["contact"]["account"] is None


# --- Merge --------------------------------------------------------------------------------------


def test_it_merges_a_duplicate_contact_into_the_survivor(manager_client, manager):
    survivor = ContactFactory(name="Ken Ito", email="", stage="lead")
    duplicate = ContactFactory(name="K. Ito", email="ken@acme.example.com", stage="customer")
    duplicate_history = list(duplicate.journey_transitions.values_list("pk", flat=True))
    touchpoints = TouchpointFactory.create_batch(2, contact=duplicate)
    duplicate_pk = duplicate.pk

    response = manager_client.post(
        f"{URL}{survivor.pk}/merge/", {"duplicate": duplicate_pk, "reason": "same person"}
    )

    assert response.status_code == 200
    merge = CustomerMerge.objects.get()
    assert response.json() == {
        "merge_id": merge.pk,
        "survivor": survivor.pk,
        "duplicate": duplicate_pk,
        "moved": {"accounts.JourneyTransition.contact": 1, "accounts.Touchpoint.contact": 2},
    }
    assert not Contact.objects.filter(pk=duplicate_pk).exists()
    assert set(Touchpoint.objects.values_list("contact_id", flat=True)) == {survivor.pk}
    assert {t.pk for t in touchpoints} == set(Touchpoint.objects.values_list("pk", flat=True))
    assert JourneyTransition.objects.get(pk=duplicate_history[0]).contact_id == survivor.pk
    assert (merge.kind, merge.survivor_contact_id, merge.duplicate_id) == (
        "contact",
        survivor.pk,
        duplicate_pk,
    )
    assert (merge.actor, merge.reason, merge.duplicate_email) == (
        manager,
        "same person",
        "ken@acme.example.com",
    )
    survivor.refresh_from_db()
    # Blanks filled from the duplicate; the furthest stage kept.
    assert (survivor.name, survivor.email, survivor.stage) == (
        "Ken Ito",
        "ken@acme.example.com",
        "customer",
    )


def test_it_refuses_to_merge_a_contact_into_itself(manager_client):
    contact = ContactFactory()

    response = manager_client.post(f"{URL}{contact.pk}/merge/", {"duplicate": contact.pk})

    assert response.status_code == 400
    message = "A contact cannot be merged into itself."
    assert response.json() == {"detail": message, "errors": {"duplicate": [message]}}
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert CustomerMerge.objects.count() == 0


def test_it_keeps_the_account_when_merging_contacts(manager_client):
    account = AccountFactory()
    survivor = ContactFactory(account=None)
    duplicate = ContactFactory(account=account)

    manager_client.post(f"{URL}{survivor.pk}/merge/", {"duplicate": duplicate.pk})

    survivor.refresh_from_db()
    assert survivor.account_id == account.pk
    assert Account.objects.count() == 1
