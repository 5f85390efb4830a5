"""The audit log: who changed what on customers, deals and inquiries.

Entries are written by the services (so the API, the admin and tasks are covered alike), inside
the transaction of the change: a change that is rolled back leaves no entry. The admin shows the
log read-only to the Admin role, with no query per row.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import roles, services
from accounts.models import Account, Contact
from frontoffice.audit.models import AuditEntry
from inquiries import channels, escalations
from inquiries import services as inquiry_services
from inquiries.models import Escalation, InboundChannel, Inquiry, SlaPolicy
from pipeline import deals, quotes
from pipeline.imports import leads_import
from pipeline.models import Deal
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    DealFactory,
    ProductFactory,
    TeamFactory,
    user_with_role,
)

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=TOKYO)
API = "/api/v1"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _entries(target=None) -> list[tuple]:
    """(action, actor label, changes) of the entries, oldest first (of one record's if given)."""
    entries = AuditEntry.objects.order_by("at", "id")
    if target is not None:
        entries = entries.filter(
            target_type=ContentType.objects.get_for_model(target), target_id=target.pk
        )
    return [(entry.action, entry.actor_label, entry.changes) for entry in entries]


def _browser(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


# --- Customers ----------------------------------------------------------------------------------


def test_it_records_who_created_an_account_over_the_api(rep_client, sales_rep):
    response = rep_client.post(
        f"{API}/accounts/", {"name": "Acme KK", "domain": "acme.example", "industry": "Retail"}
    )

    assert response.status_code == 201
    entry = AuditEntry.objects.get()
    assert entry.action == "create"
    assert entry.actor == sales_rep
    assert entry.actor_label == "rep"
    assert entry.target_type == ContentType.objects.get_for_model(Account)
    assert entry.target_id == response.json()["id"]
    assert entry.target_repr == "Acme KK"
    assert entry.changes == {
        "name": [None, "Acme KK"],
        "domain": [None, "acme.example"],
        "industry": [None, "Retail"],
    }
    assert entry.at == NOW


def test_it_says_a_change_came_with_an_api_token_and_keeps_the_request_id_and_address(
    sales_rep,
):
    client = APIClient(REMOTE_ADDR="203.0.113.7")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=sales_rep).key}")
    account = AccountFactory(name="Acme KK")

    response = client.patch(
        f"{API}/accounts/{account.pk}/", {"name": "Acme Japan"}, HTTP_X_REQUEST_ID="req-42"
    )

    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "req-42"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_label, entry.changes) == (
        "update",
        "rep (api token)",
        {"name": ["Acme KK", "Acme Japan"]},
    )
    assert (entry.request_id, entry.ip_address) == ("req-42", "203.0.113.7")


def test_it_gives_a_request_without_an_id_a_fresh_one(rep_client):
    account = AccountFactory(name="Acme KK")

    response = rep_client.patch(
        f"{API}/accounts/{account.pk}/", {"region": "Kansai"}, HTTP_X_REQUEST_ID="bad id; drop"
    )

    entry = AuditEntry.objects.get()
    assert entry.request_id == response.headers["X-Request-ID"]
    assert len(entry.request_id) == 32
    assert entry.request_id != "bad id; drop"


def test_an_update_that_changes_nothing_leaves_no_entry(rep_client):
    account = AccountFactory(name="Acme KK", region="Kanto")

    response = rep_client.patch(f"{API}/accounts/{account.pk}/", {"region": "Kanto"})

    assert response.status_code == 200
    assert AuditEntry.objects.count() == 0


def test_it_records_a_contact_from_creation_through_its_journey(sales_rep):
    account = AccountFactory(name="Acme KK")
    contact = services.contact_create(
        name="Hanako Sato",
        email="Hanako@Acme.example",
        account=account,
        stage="lead",
        actor=sales_rep,
    )
    services.contact_update(contact=contact, title="CTO", phone="", actor=sales_rep)
    services.journey_move(contact=contact, to_stage="prospect", actor=sales_rep)

    assert _entries(contact) == [
        (
            "create",
            "rep",
            {
                "name": [None, "Hanako Sato"],
                "email": [None, "hanako@acme.example"],
                "account": [None, account.pk],
                "stage": [None, "lead"],
            },
        ),
        ("update", "rep", {"title": ["", "CTO"]}),
        ("state_change", "rep", {"stage": ["lead", "prospect"]}),
    ]


def test_it_records_both_sides_of_a_merge(manager):
    survivor = ContactFactory(name="Hanako Sato", email="hanako@acme.example", phone="")
    duplicate = ContactFactory(name="H. Sato", email="sato@acme.example", phone="03-1234-5678")
    duplicate_id = duplicate.pk

    services.contact_merge(survivor=survivor, duplicate=duplicate, actor=manager, reason="same")

    assert _entries(survivor) == [
        (
            "merge",
            "manager",
            {"phone": ["", "03-1234-5678"], "merged_from": [None, duplicate_id]},
        )
    ]
    gone = AuditEntry.objects.get(target_id=duplicate_id)
    assert (gone.action, gone.changes, gone.target_repr) == (
        "merge",
        {"merged_into": [None, survivor.pk]},
        "H. Sato",
    )


def test_it_records_what_a_deleted_contact_held(admin_client_api, admin_user):
    contact = ContactFactory(name="Taro Yamada", email="taro@example.jp", stage="lead")
    contact_id = contact.pk

    response = admin_client_api.delete(f"{API}/contacts/{contact_id}/")

    assert response.status_code == 204
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_id, entry.target_repr) == (
        "delete",
        admin_user,
        contact_id,
        "Taro Yamada",
    )
    assert entry.changes == {
        "name": ["Taro Yamada", None],
        "email": ["taro@example.jp", None],
        "stage": ["lead", None],
    }


def test_a_refused_delete_leaves_no_entry(admin_client_api, sales_rep):
    deal = DealFactory(owner=sales_rep)  # a deal's account is protected

    response = admin_client_api.delete(f"{API}/accounts/{deal.account_id}/")

    assert response.status_code == 409
    assert Account.objects.filter(pk=deal.account_id).exists()
    assert AuditEntry.objects.count() == 0


def _qualify_then_fail(contact, actor) -> None:
    with transaction.atomic():
        services.journey_move(contact=contact, to_stage="prospect", actor=actor)
        services.contact_update(contact=contact, title="CTO", actor=actor)
        raise RuntimeError("the caller fails after the services wrote")


def test_a_change_rolled_back_with_its_transaction_leaves_no_entry(sales_rep):
    contact = ContactFactory(stage="lead")

    with pytest.raises(RuntimeError):
        _qualify_then_fail(contact, sales_rep)

    assert AuditEntry.objects.count() == 0
    contact.refresh_from_db()
    assert (contact.stage, contact.title) == ("lead", "")


# --- Deals --------------------------------------------------------------------------------------


def test_it_records_a_deal_created_edited_and_moved(sales_rep):
    team = TeamFactory(name="Sales East")
    account = AccountFactory(name="Acme KK")
    deal = deals.deal_create(
        name="Acme ERP",
        owner=sales_rep,
        account=account,
        team=team,
        amount=Decimal("1200000"),
        currency="jpy",
        actor=sales_rep,
    )
    deals.deal_update(
        deal=deal, amount=Decimal("1500000"), name="Acme ERP", actor=sales_rep
    )  # the name is given but not changed: only the amount is recorded
    deals.deal_move(deal=deal, to_stage="proposal", actor=sales_rep)

    assert _entries(deal) == [
        (
            "create",
            "rep",
            {
                "name": [None, "Acme ERP"],
                "account": [None, account.pk],
                "owner": [None, sales_rep.pk],
                "team": [None, team.pk],
                "amount": [None, "1200000.00"],
                "currency": [None, "JPY"],
                "probability": [None, 10],
                "stage": [None, "list"],
            },
        ),
        ("update", "rep", {"amount": ["1200000.00", "1500000.00"]}),
        ("state_change", "rep", {"stage": ["list", "proposal"]}),
    ]


def test_an_accepted_quote_records_the_amount_the_win_and_the_new_customer(sales_rep):
    account = AccountFactory(name="Acme KK")
    contact = ContactFactory(account=account, stage="prospect")
    deal = DealFactory(
        owner=sales_rep, account=account, contact=contact, stage="opportunity", amount=100
    )
    product = ProductFactory(unit_price=Decimal("30000"))
    quote = quotes.quote_create(
        deal=deal, lines=[{"product": product, "quantity": 2}], actor=sales_rep
    )
    quotes.quote_send(quote=quote, actor=sales_rep)
    AuditEntry.objects.all().delete()

    quotes.quote_accept(quote=quote, actor=sales_rep)

    assert _entries() == [
        ("update", "rep", {"amount": ["100.00", "60000.00"]}),
        ("state_change", "rep", {"stage": ["quote", "won"]}),
        ("state_change", "rep", {"stage": ["prospect", "customer"]}),
        ("state_change", "rep", {"customer_since": [None, "2026-11-20T01:00:00+00:00"]}),
    ]
    targets = list(AuditEntry.objects.order_by("id").values_list("target_id", flat=True))
    assert targets == [deal.pk, deal.pk, contact.pk, account.pk]


def test_only_the_deal_delete_that_happened_is_recorded(admin_client_api, sales_rep):
    deal = DealFactory(name="Acme ERP", owner=sales_rep, amount=500, account=None, contact=None)
    deal_id = deal.pk

    response = admin_client_api.delete(f"{API}/deals/{deal_id}/")

    assert response.status_code == 204
    assert not Deal.objects.filter(pk=deal_id).exists()
    assert _entries() == [
        (
            "delete",
            "admin",
            {
                "name": ["Acme ERP", None],
                "owner": [sales_rep.pk, None],
                "amount": ["500.00", None],
                "currency": ["JPY", None],
                "probability": [10, None],
                "stage": ["list", None],
            },
        )
    ]


# --- Inquiries ----------------------------------------------------------------------------------


@pytest.fixture
def support(manager, support_agent):
    team = TeamFactory(name="Support", kind="support", supervisor=manager)
    team.members.add(support_agent, manager)
    return team


def test_it_records_an_inquiry_through_its_life(support, support_agent, manager):
    contact = ContactFactory(name="Hanako Sato")
    inquiry = channels.inquiry_log(
        actor=support_agent,
        channel="phone",
        customer=inquiry_services.Customer(contact=contact),
        subject="Invoice missing",
        body="The invoice for October never came.",
        team=support,
    )
    inquiry_services.inquiry_update(inquiry=inquiry, category="billing", actor=support_agent)
    escalation = escalations.escalate(
        inquiry=inquiry, kind="instructions", reason="Refund?", actor=support_agent
    )
    escalations.escalation_answer(escalation=escalation, actor=manager, text="Yes, refund.")
    inquiry.refresh_from_db()
    inquiry_services.inquiry_move(inquiry=inquiry, to_status="resolved", actor=support_agent)

    assert _entries(inquiry) == [
        (
            "create",
            "agent",
            {
                "subject": [None, "Invoice missing"],
                "channel": [None, "phone"],
                "priority": [None, "normal"],
                "status": [None, "new"],
                "contact": [None, contact.pk],
                "team": [None, support.pk],
            },
        ),
        # An agent who logs an inquiry nobody was routed to has it.
        ("assign", "agent", {"assignee": [None, support_agent.pk]}),
        ("update", "agent", {"category": ["", "billing"]}),
        (
            "escalate",
            "agent",
            {
                "escalation": [None, escalation.pk],
                "kind": [None, "instructions"],
                "owner": [None, manager.pk],
            },
        ),
        ("state_change", "agent", {"status": ["new", "escalated"]}),
        ("state_change", "manager", {"status": ["escalated", "open"]}),
        ("state_change", "agent", {"status": ["open", "resolved"]}),
    ]
    assert _entries(Escalation.objects.get()) == [
        ("state_change", "manager", {"status": ["open", "answered"]})
    ]


def test_a_priority_change_records_the_due_times_it_moved(support, support_agent):
    SlaPolicy.objects.create(
        name="Urgent", priority="urgent", first_response_minutes=60, resolution_minutes=480
    )
    inquiry = channels.inquiry_log(
        actor=support_agent,
        channel="phone",
        customer=inquiry_services.Customer(contact=ContactFactory()),
        subject="Broken",
        body="It does not start.",
        team=support,
    )

    inquiry_services.inquiry_update(inquiry=inquiry, priority="urgent", actor=support_agent)
    inquiry_services.inquiry_update(inquiry=inquiry, priority="urgent", actor=support_agent)

    updates = AuditEntry.objects.filter(action="update")
    assert [entry.changes for entry in updates] == [
        {
            "priority": ["normal", "urgent"],
            "first_response_due_at": [None, "2026-11-20T02:00:00+00:00"],
            "resolution_due_at": [None, "2026-11-20T09:00:00+00:00"],
        }
    ]  # the second update changed nothing


def test_a_routing_rule_and_a_customer_on_a_public_endpoint_are_named_as_such(
    support, support_agent
):
    from inquiries.models import AssignmentRule

    AssignmentRule.objects.create(
        name="Chat to support", team=support, channel="chat", strategy="round_robin"
    )
    chat = InboundChannel.objects.create(name="Website chat", kind="chat")
    client = APIClient(REMOTE_ADDR="198.51.100.20")

    response = client.post(
        f"{API}/inbound/chat/",
        {
            "conversation_id": "c-1",
            "message": "Hello?",
            "customer": {"email": "new.person@example.jp", "name": "New Person"},
        },
        HTTP_X_CHANNEL_KEY=chat.key,
    )

    assert response.status_code == 201
    inquiry = Inquiry.objects.get()
    labels = [(action, label) for action, label, _changes in _entries(inquiry)]
    assert labels == [("create", "anonymous request"), ("assign", "routing rule: Chat to support")]
    assert set(AuditEntry.objects.values_list("ip_address", flat=True)) == {"198.51.100.20"}
    contact_entry = AuditEntry.objects.get(target_type__model="contact")
    assert contact_entry.changes["email"] == [None, "new.person@example.jp"]


def test_work_done_outside_a_request_is_the_systems(support, support_agent):
    inquiry = channels.inquiry_log(
        actor=support_agent,
        channel="phone",
        customer=inquiry_services.Customer(contact=ContactFactory()),
        subject="Broken",
        body="It does not start.",
        team=support,
    )
    AuditEntry.objects.all().delete()

    inquiry_services.inquiry_move(inquiry=inquiry, to_status="open", actor=None)

    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_label, entry.request_id, entry.ip_address) == (
        None,
        "system",
        "",
        None,
    )


# --- Bulk paths: one entry per batch ------------------------------------------------------------


def test_a_lead_import_is_one_entry_for_the_whole_file(marketer):
    campaign = CampaignFactory(name="Expo 2026")
    rows = "\n".join(f"person{n}@expo.example,Person {n}" for n in range(50))

    outcome = leads_import(
        content=f"email,name\n{rows}\n".encode(),
        file_name="expo.csv",
        campaign=campaign,
        actor=marketer,
    )

    assert Contact.objects.count() == 50
    assert _entries() == [
        (
            "import",
            "marketer",
            {
                "created_contacts": [None, 50],
                "matched_contacts": [None, 0],
                "new_accounts": [None, 1],
            },
        )
    ]
    assert AuditEntry.objects.get().target_id == outcome.lead_import.pk


def test_a_dry_run_import_records_nothing(marketer):
    leads_import(
        content=b"email,name\na@expo.example,A\n",
        file_name="expo.csv",
        campaign=CampaignFactory(),
        actor=marketer,
        dry_run=True,
    )

    assert AuditEntry.objects.count() == 0


# --- Admin --------------------------------------------------------------------------------------


def test_an_admin_edit_and_delete_are_recorded_with_the_admin_user(admin_user):
    contact = ContactFactory(name="Taro Yamada", email="taro@example.jp", title="")
    browser = _browser(admin_user)

    response = browser.post(
        f"/admin/accounts/contact/{contact.pk}/change/",
        {
            "name": "Taro Yamada",
            "email": "taro@example.jp",
            "phone": "",
            "title": "Buyer",
            "department": "",
            "account": "",
            "owner": "",
            "journey_transitions-TOTAL_FORMS": "1",
            "journey_transitions-INITIAL_FORMS": "1",
            "journey_transitions-0-id": contact.journey_transitions.get().pk,
            "journey_transitions-0-contact": contact.pk,
            "touchpoints-TOTAL_FORMS": "0",
            "touchpoints-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content
    response = browser.post(f"/admin/accounts/contact/{contact.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302

    assert [(action, label) for action, label, _changes in _entries()] == [
        ("update", "admin"),
        ("delete", "admin"),
    ]
    assert AuditEntry.objects.order_by("id").first().changes == {"title": ["", "Buyer"]}


@pytest.fixture
def many_entries(admin_user, sales_rep):
    for n in range(30):
        account = services.account_create(name=f"Company {n}", actor=sales_rep)
        services.account_update(account=account, region="Kanto", actor=admin_user)
    return AuditEntry.objects.count()


def test_the_admin_lists_the_log_without_a_query_per_row(
    admin_user, many_entries, django_assert_max_num_queries
):
    browser = _browser(admin_user)

    # Sixty rows; a query per row would be sixty more.
    with django_assert_max_num_queries(20):
        response = browser.get("/admin/frontoffice/auditentry/")

    assert response.status_code == 200
    assert many_entries == 60
    assert response.content.decode().count('class="field-action"') == 60


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("action__exact=update", 30),
        ("q=%22Company+7%22", 2),
        ("at__gte=2026-11-20+00:00:00%2B09:00", 60),
    ],
)
def test_the_admin_filters_the_log(admin_user, many_entries, query, count):
    response = _browser(admin_user).get(f"/admin/frontoffice/auditentry/?{query}")

    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == count


def test_the_admin_filters_the_log_by_model_actor_and_record(admin_user, sales_rep, many_entries):
    account = Account.objects.get(name="Company 3")
    account_type = ContentType.objects.get_for_model(Account)
    browser = _browser(admin_user)

    by_actor = browser.get(f"/admin/frontoffice/auditentry/?actor__id__exact={sales_rep.pk}")
    by_record = browser.get(
        "/admin/frontoffice/auditentry/"
        f"?target_type__id__exact={account_type.pk}&target_id={account.pk}"
    )
    by_id_search = browser.get(f"/admin/frontoffice/auditentry/?q={account.pk}")

    assert {entry.action for entry in by_actor.context["cl"].result_list} == {"create"}
    assert len(by_actor.context["cl"].result_list) == 30
    assert [entry.action for entry in by_record.context["cl"].result_list] == ["update", "create"]
    assert account.pk in {entry.target_id for entry in by_id_search.context["cl"].result_list}


@pytest.mark.parametrize(
    "role", [roles.SALES_REP, roles.SUPPORT_AGENT, roles.MANAGER, roles.MARKETER]
)
def test_other_roles_cannot_see_the_audit_log(role, many_entries):
    user = user_with_role(role, username=f"staff-{role.lower().replace(' ', '-')}")
    browser = _browser(user)
    entry = AuditEntry.objects.first()

    assert browser.get("/admin/frontoffice/auditentry/").status_code == 403
    assert browser.get(f"/admin/frontoffice/auditentry/{entry.pk}/change/").status_code == 403


def test_nobody_edits_or_deletes_the_log_in_the_admin(admin_user, many_entries):
    browser = _browser(admin_user)
    entry = AuditEntry.objects.first()

    assert browser.get("/admin/frontoffice/auditentry/add/").status_code == 403
    assert browser.get(f"/admin/frontoffice/auditentry/{entry.pk}/delete/").status_code == 403
    response = browser.post(
        f"/admin/frontoffice/auditentry/{entry.pk}/change/", {"actor_label": "someone else"}
    )
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.actor_label != "someone else"


def test_history_opens_the_records_audit_trail_for_the_admin(admin_user, manager):
    account = services.account_create(name="Acme KK", actor=admin_user)
    account_type = ContentType.objects.get_for_model(Account)

    response = _browser(admin_user).get(f"/admin/accounts/account/{account.pk}/history/")
    others = _browser(manager).get(f"/admin/accounts/account/{account.pk}/history/")

    assert response.status_code == 302
    assert response.url == (
        "/admin/frontoffice/auditentry/"
        f"?target_type__id__exact={account_type.pk}&target_id={account.pk}"
    )
    assert others.status_code == 200  # Django's own change history for those without the log
