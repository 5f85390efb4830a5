"""The admin: every model's pages, writes through services, merge and journey actions, and the
same role permissions as the API."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Account, Contact, CustomerMerge, JourneyTransition, Touchpoint
from tests.factories import AccountFactory, CampaignFactory, ContactFactory, TouchpointFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "/admin/accounts/account/",
    "/admin/accounts/contact/",
    "/admin/accounts/touchpoint/",
    "/admin/accounts/journeytransition/",
    "/admin/accounts/customermerge/",
    "/admin/accounts/team/",
    "/admin/pipeline/campaign/",
]


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_browser(admin_user):
    return _browser(admin_user)


@pytest.mark.parametrize("url", CHANGELISTS)
def test_it_shows_every_changelist_without_a_query_per_row(
    url, admin_browser, django_assert_max_num_queries
):
    account = AccountFactory()
    campaign = CampaignFactory()
    for _ in range(30):
        contact = ContactFactory(account=account)
        TouchpointFactory(contact=contact, campaign=campaign)

    with django_assert_max_num_queries(25):
        response = admin_browser.get(url)

    assert response.status_code == 200


def test_it_shows_a_contact_with_its_journey_and_timeline(admin_browser):
    contact = ContactFactory(name="Hanako Yamada")
    TouchpointFactory(contact=contact, summary="Visited booth at Japan IT Week")

    response = admin_browser.get(f"/admin/accounts/contact/{contact.pk}/change/")

    assert response.status_code == 200
    assert "Visited booth at Japan IT Week" in response.content.decode()
    assert "journey history" in response.content.decode().lower()


def test_it_creates_a_contact_in_the_admin_through_the_service(admin_browser, admin_user):
    response = admin_browser.post(
        "/admin/accounts/contact/add/",
        {
            "name": "Taro Sato",
            "email": "  Taro.Sato@Example.CO.JP ",
            "phone": "03-1234-5678",
            "journey_transitions-TOTAL_FORMS": 0,
            "journey_transitions-INITIAL_FORMS": 0,
            "touchpoints-TOTAL_FORMS": 0,
            "touchpoints-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    contact = Contact.objects.get()
    assert (contact.email, contact.phone_normalized) == ("taro.sato@example.co.jp", "+81312345678")
    row = JourneyTransition.objects.get(contact=contact)
    assert (row.from_stage, row.to_stage, row.actor, row.cause) == (
        "",
        "awareness",
        admin_user,
        "created in admin",
    )


def test_it_refuses_a_duplicate_email_in_the_admin_with_a_field_error(admin_browser):
    ContactFactory(email="dup@example.com")

    response = admin_browser.post(
        "/admin/accounts/contact/add/",
        {
            "name": "Other",
            "email": "DUP@example.com",
            "journey_transitions-TOTAL_FORMS": 0,
            "journey_transitions-INITIAL_FORMS": 0,
            "touchpoints-TOTAL_FORMS": 0,
            "touchpoints-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"]
    assert Contact.objects.count() == 1


def test_it_normalises_an_account_domain_in_the_admin(admin_browser):
    response = admin_browser.post(
        "/admin/accounts/account/add/",
        {
            "name": "Example KK",
            "domain": "https://www.Example.co.jp/about",
            "contacts-TOTAL_FORMS": 0,
            "contacts-INITIAL_FORMS": 0,
            "touchpoints-TOTAL_FORMS": 0,
            "touchpoints-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302
    assert Account.objects.get().domain == "example.co.jp"


def test_it_merges_selected_contacts_after_confirmation(admin_browser, admin_user):
    survivor = ContactFactory(email="keep@example.com", phone="")
    duplicate = ContactFactory(email="dupe@example.com", phone="090-1111-2222")
    TouchpointFactory(contact=duplicate)
    selection = {"action": "merge_selected", "_selected_action": [survivor.pk, duplicate.pk]}

    confirm = admin_browser.post("/admin/accounts/contact/", selection)
    assert confirm.status_code == 200
    assert "Keep this record" in confirm.content.decode()

    done = admin_browser.post(
        "/admin/accounts/contact/",
        {**selection, "apply": "1", "survivor": survivor.pk, "reason": "same person"},
    )

    assert done.status_code == 302
    assert not Contact.objects.filter(pk=duplicate.pk).exists()
    assert Touchpoint.objects.filter(contact=survivor).count() == 1
    merge = CustomerMerge.objects.get()
    assert (merge.survivor_contact, merge.duplicate_id, merge.actor, merge.reason) == (
        survivor,
        duplicate.pk,
        admin_user,
        "same person",
    )
    survivor.refresh_from_db()
    assert survivor.phone == "090-1111-2222"


def test_it_moves_the_journey_of_selected_contacts(admin_browser):
    forward = ContactFactory(stage="lead")
    backward = ContactFactory(stage="customer")

    response = admin_browser.post(
        "/admin/accounts/contact/",
        {
            "action": "move_journey",
            "_selected_action": [forward.pk, backward.pk],
            "apply": "1",
            "to_stage": "prospect",
            "cause": "",
        },
    )

    assert response.status_code == 302
    forward.refresh_from_db()
    backward.refresh_from_db()
    assert (forward.stage, backward.stage) == ("prospect", "customer")
    assert JourneyTransition.objects.filter(contact=backward).count() == 1


def test_it_hides_merge_and_move_from_a_support_agent(support_agent):
    ContactFactory()
    response = _browser(support_agent).get("/admin/accounts/contact/")

    assert response.status_code == 200
    action_form = response.context["action_form"]
    actions = [name for name, _label in action_form.fields["action"].choices] if action_form else []
    assert "merge_selected" not in actions
    assert "move_journey" not in actions


def test_it_lets_a_manager_merge_but_not_a_sales_rep(manager, sales_rep):
    ContactFactory()
    manager_actions = _browser(manager).get("/admin/accounts/contact/").context["action_form"]
    rep_actions = _browser(sales_rep).get("/admin/accounts/contact/").context["action_form"]

    assert "merge_selected" in dict(manager_actions.fields["action"].choices)
    assert "merge_selected" not in dict(rep_actions.fields["action"].choices)
    assert "move_journey" in dict(rep_actions.fields["action"].choices)


def test_it_keeps_history_read_only(admin_browser):
    contact = ContactFactory()
    touchpoint = TouchpointFactory(contact=contact)

    assert admin_browser.get("/admin/accounts/touchpoint/add/").status_code == 403
    page = admin_browser.get(f"/admin/accounts/touchpoint/{touchpoint.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
