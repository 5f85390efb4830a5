"""Recognising a person: normalised email, phone and domain, and contact_resolve (one Contact
per person, matched on email, then phone, then name within the company's domain)."""

from __future__ import annotations

import pytest

from accounts.identity import company_domain_of, normalize_domain, normalize_email, normalize_phone
from accounts.models import Account, Contact, JourneyTransition
from accounts.services import contact_create, contact_merge, contact_resolve
from frontoffice.errors import ApplicationError
from tests.factories import AccountFactory, UserFactory

# --- normalize_email ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("taro@acme.co.jp", "taro@acme.co.jp"),
        ("  Taro.Yamada@Example.CO.JP ", "taro.yamada@example.co.jp"),
        ("HANAKO@ACME.COM", "hanako@acme.com"),
        ("\tsato+news@acme.co.jp\n", "sato+news@acme.co.jp"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_it_normalises_an_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["not-an-email", "taro @acme.co.jp", "taro@", "@acme.co.jp", "taro@@acme.co.jp", "taro@acme"],
)
def test_it_refuses_a_malformed_email(raw):
    with pytest.raises(ApplicationError) as excinfo:
        normalize_email(raw)

    assert excinfo.value.errors == {"email": ["Enter a valid email address."]}


def test_it_names_the_given_field_in_an_email_error():
    with pytest.raises(ApplicationError) as excinfo:
        normalize_email("nobody", field="sender")

    assert list(excinfo.value.errors) == ["sender"]


# --- normalize_phone ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03-1234-5678", "+81312345678"),
        ("03 1234 5678", "+81312345678"),
        ("(03) 1234-5678", "+81312345678"),
        ("0312345678", "+81312345678"),
        ("+81 3 1234 5678", "+81312345678"),
        ("+81-3-1234-5678", "+81312345678"),
        ("+81 (3) 1234 5678", "+81312345678"),
        ("+81 (0)3-1234-5678", "+81312345678"),
        ("0081-3-1234-5678", "+81312345678"),
        ("090-1234-5678", "+819012345678"),
        ("０３－１２３４－５６７８", "+81312345678"),  # noqa: RUF001 (full-width input on purpose)
        ("０３ー１２３４ー５６７８", "+81312345678"),
        ("＋８１　３－１２３４－５６７８", "+81312345678"),  # noqa: RUF001 (full-width input on purpose)
        ("+1 (415) 555-0100", "+14155550100"),
        ("", ""),
        ("1234", ""),
        ("n/a", ""),
    ],
)
def test_it_normalises_a_phone_number(raw, expected):
    assert normalize_phone(raw) == expected


def test_it_keeps_national_digits_when_no_default_country_code_is_set(settings):
    settings.FRONTOFFICE_DEFAULT_COUNTRY_CODE = ""

    assert normalize_phone("03-1234-5678") == "0312345678"


# --- normalize_domain and company_domain_of -----------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Example.co.jp/about", "example.co.jp"),
        ("example.co.jp", "example.co.jp"),
        ("  EXAMPLE.COM  ", "example.com"),
        ("www.example.com", "example.com"),
        ("http://example.com:8080/path?q=1", "example.com"),
        ("https://example.com#contact", "example.com"),
        ("example.com.", "example.com"),
        ("mail.example.co.jp", "mail.example.co.jp"),
        ("例え.jp", "xn--r8jz45g.jp"),
        ("https://www.例え.JP/会社概要", "xn--r8jz45g.jp"),
        ("xn--r8jz45g.jp", "xn--r8jz45g.jp"),
        ("", ""),
    ],
)
def test_it_normalises_a_domain(raw, expected):
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    "raw", ["not a domain", "example", "exa_mple.com", "example..com", "-example.com"]
)
def test_it_refuses_a_malformed_domain(raw):
    with pytest.raises(ApplicationError) as excinfo:
        normalize_domain(raw)

    assert excinfo.value.errors == {"domain": ["Enter a valid domain name."]}


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("taro@acme.co.jp", "acme.co.jp"),
        ("taro@sales.acme.co.jp", "sales.acme.co.jp"),
        ("taro@例え.jp", "xn--r8jz45g.jp"),
        ("taro@gmail.com", ""),
        ("taro@yahoo.co.jp", ""),
        ("taro@docomo.ne.jp", ""),
        ("ops@localhost", ""),
        ("ops@[192.0.2.1]", ""),
        ("", ""),
    ],
)
def test_it_finds_the_company_domain_of_an_address(email, expected):
    assert company_domain_of(email) == expected


# --- contact_resolve ----------------------------------------------------------------------------


@pytest.fixture
def actor(db, settings):
    return UserFactory(username="marketer")


def _counts() -> tuple[int, int, int]:
    return Contact.objects.count(), Account.objects.count(), JourneyTransition.objects.count()


@pytest.mark.django_db
def test_it_creates_a_contact_and_its_account_for_a_new_person(actor):
    resolved = contact_resolve(
        email=" Taro.Yamada@Acme.co.jp ",
        phone="03-1234-5678",
        name="Taro Yamada",
        company="Acme Corp",
        title="Manager",
        stage="lead",
        actor=actor,
    )

    assert (resolved.created, resolved.matched_on) == (True, "")
    contact = Contact.objects.get()
    assert contact == resolved.contact
    assert (contact.email, contact.phone, contact.phone_normalized, contact.name) == (
        "taro.yamada@acme.co.jp",
        "03-1234-5678",
        "+81312345678",
        "Taro Yamada",
    )
    assert (contact.account.name, contact.account.domain) == ("Acme Corp", "acme.co.jp")
    assert list(
        JourneyTransition.objects.values_list("contact_id", "from_stage", "to_stage", "actor_id")
    ) == [(contact.pk, "", "lead", actor.pk)]
    assert JourneyTransition.objects.get().cause == "identity resolution"


@pytest.mark.django_db
def test_it_matches_on_the_normalised_email():
    existing = contact_create(name="Taro Yamada", email="taro@gmail.com")

    resolved = contact_resolve(email="  TARO@GMAIL.COM", name="Taro Y.")

    assert (resolved.contact.pk, resolved.created, resolved.matched_on) == (
        existing.pk,
        False,
        "email",
    )
    assert _counts() == (1, 0, 1)


@pytest.mark.django_db
def test_it_matches_on_the_normalised_phone_when_the_email_is_unknown():
    existing = contact_create(name="Taro Yamada", phone="03-1234-5678")

    resolved = contact_resolve(email="taro@gmail.com", phone="+81 (0)3 1234 5678")

    assert (resolved.contact.pk, resolved.matched_on) == (existing.pk, "phone")
    assert _counts() == (1, 0, 1)


@pytest.mark.django_db
def test_it_matches_a_full_width_phone_number():
    existing = contact_create(name="Taro Yamada", phone="03-1234-5678")

    resolved = contact_resolve(phone="０３－１２３４－５６７８")  # noqa: RUF001 (full-width input on purpose)

    assert (resolved.contact.pk, resolved.matched_on) == (existing.pk, "phone")


@pytest.mark.django_db
def test_it_prefers_the_email_match_over_the_phone_match():
    by_email = contact_create(name="Taro Yamada", email="taro@acme.co.jp")
    contact_create(name="Front desk", phone="03-1234-5678")

    resolved = contact_resolve(email="taro@acme.co.jp", phone="03-1234-5678")

    assert (resolved.contact.pk, resolved.matched_on) == (by_email.pk, "email")


@pytest.mark.django_db
def test_it_matches_the_same_name_within_the_company_domain():
    account = AccountFactory(name="Acme Corp", domain="acme.co.jp")
    existing = contact_create(name="Taro Yamada", email="taro@acme.co.jp", account=account)

    resolved = contact_resolve(name="taro yamada", email="t.yamada@acme.co.jp")

    assert (resolved.contact.pk, resolved.matched_on) == (existing.pk, "name")
    assert Contact.objects.get(pk=existing.pk).email == "taro@acme.co.jp"
    assert _counts() == (1, 1, 1)


@pytest.mark.django_db
def test_it_matches_the_same_name_within_a_domain_given_as_a_web_address():
    account = AccountFactory(name="Acme Corp", domain="acme.co.jp")
    existing = contact_create(name="Taro Yamada", account=account)

    resolved = contact_resolve(name="Taro Yamada", domain="https://www.acme.co.jp/contact")

    assert (resolved.contact.pk, resolved.matched_on) == (existing.pk, "name")


@pytest.mark.django_db
def test_it_matches_the_same_name_within_an_international_domain():
    account = AccountFactory(name="例え株式会社", domain="xn--r8jz45g.jp")
    existing = contact_create(name="山田太郎", email="yamada@例え.jp", account=account)

    resolved = contact_resolve(name="山田太郎", email="taro.yamada@例え.jp")

    assert (resolved.contact.pk, resolved.matched_on) == (existing.pk, "name")
    assert _counts() == (1, 1, 1)


@pytest.mark.django_db
def test_it_does_not_match_the_same_name_in_another_company():
    acme = AccountFactory(name="Acme Corp", domain="acme.co.jp")
    existing = contact_create(name="Taro Yamada", email="taro@acme.co.jp", account=acme)

    resolved = contact_resolve(name="Taro Yamada", email="taro@globex.co.jp")

    assert resolved.created is True
    assert resolved.contact.pk != existing.pk
    assert resolved.contact.account.domain == "globex.co.jp"
    assert _counts() == (2, 2, 2)


@pytest.mark.django_db
def test_it_does_not_match_on_a_name_alone():
    contact_create(name="Taro Yamada", email="taro@gmail.com")

    resolved = contact_resolve(name="Taro Yamada", email="yamada.t@gmail.com")

    assert resolved.created is True
    assert _counts() == (2, 0, 2)


@pytest.mark.django_db
def test_it_resolves_a_merged_duplicates_email_to_the_survivor():
    survivor = contact_create(name="Taro Yamada", email="taro@acme.co.jp")
    duplicate = contact_create(name="T. Yamada", email="yamada@acme.co.jp")
    contact_merge(survivor=survivor, duplicate=duplicate)

    resolved = contact_resolve(email="Yamada@Acme.co.jp")

    assert (resolved.contact.pk, resolved.created, resolved.matched_on) == (
        survivor.pk,
        False,
        "merged_email",
    )
    assert Contact.objects.count() == 1


@pytest.mark.django_db
def test_it_resolves_a_merged_duplicates_phone_to_the_survivor():
    survivor = contact_create(name="Taro Yamada", phone="03-1111-2222")
    duplicate = contact_create(name="T. Yamada", phone="090-3333-4444")
    contact_merge(survivor=survivor, duplicate=duplicate)

    resolved = contact_resolve(phone="09033334444")

    assert (resolved.contact.pk, resolved.matched_on) == (survivor.pk, "merged_phone")
    assert Contact.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["taro@gmail.com", "taro@yahoo.co.jp", "taro@docomo.ne.jp"])
def test_it_never_creates_an_account_from_a_free_mail_address(email):
    resolved = contact_resolve(email=email, name="Taro Yamada")

    assert resolved.created is True
    assert resolved.contact.account is None
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_it_never_creates_an_account_from_a_free_mail_domain_given_as_the_company_site():
    resolved = contact_resolve(email="taro@gmail.com", name="Taro Yamada", domain="gmail.com")

    assert resolved.contact.account is None
    assert Account.objects.count() == 0


@pytest.mark.django_db
def test_it_does_not_match_names_across_a_free_mail_domain_given_as_the_company_site():
    first = contact_resolve(name="Taro Yamada", email="taro@gmail.com", domain="gmail.com")

    second = contact_resolve(name="Taro Yamada", email="yamada@gmail.com", domain="gmail.com")

    assert (second.created, second.matched_on) == (True, "")
    assert second.contact.pk != first.contact.pk
    assert _counts() == (2, 0, 2)


@pytest.mark.django_db
@pytest.mark.parametrize("email", ["ops@localhost", "ops@[192.0.2.1]"])
def test_it_creates_no_account_for_a_valid_address_without_a_company_domain(email):
    resolved = contact_resolve(email=email, name="Ops")

    assert (resolved.created, resolved.contact.email, resolved.contact.account) == (
        True,
        email,
        None,
    )
    assert _counts() == (1, 0, 1)


@pytest.mark.django_db
def test_it_creates_an_account_by_company_name_for_a_free_mail_address():
    resolved = contact_resolve(email="taro@gmail.com", name="Taro Yamada", company="Acme Corp")

    account = Account.objects.get()
    assert resolved.contact.account == account
    assert (account.name, account.domain) == ("Acme Corp", "")


@pytest.mark.django_db
def test_it_reuses_the_account_with_the_email_domain():
    acme = AccountFactory(name="Acme Corp", domain="acme.co.jp")

    resolved = contact_resolve(email="hanako@acme.co.jp", company="ACME Corporation")

    assert resolved.contact.account == acme
    assert list(Account.objects.values_list("name", "domain")) == [("Acme Corp", "acme.co.jp")]


@pytest.mark.django_db
def test_it_reuses_an_account_by_company_name_when_no_domain_is_known():
    acme = AccountFactory(name="Acme Corp", domain="")

    resolved = contact_resolve(email="hanako@gmail.com", company="acme corp")

    assert resolved.contact.account == acme
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_it_reuses_an_account_with_a_domain_by_company_name_when_no_domain_is_known():
    acme = AccountFactory(name="Acme Corp", domain="acme.co.jp")

    resolved = contact_resolve(email="hanako@gmail.com", company="Acme Corp")

    assert resolved.contact.account == acme
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_it_gives_an_account_found_by_name_the_email_domain():
    acme = AccountFactory(name="Acme Corp", domain="")

    resolved = contact_resolve(email="hanako@acme.co.jp", company="Acme Corp")

    assert resolved.contact.account == acme
    assert Account.objects.get().domain == "acme.co.jp"


@pytest.mark.django_db
def test_it_creates_a_new_account_when_a_same_named_one_has_another_domain():
    acme = AccountFactory(name="Acme Corp", domain="acme.co.jp")

    resolved = contact_resolve(email="hanako@acme.com", company="Acme Corp")

    assert resolved.contact.account != acme
    assert list(Account.objects.order_by("id").values_list("name", "domain")) == [
        ("Acme Corp", "acme.co.jp"),
        ("Acme Corp", "acme.com"),
    ]


@pytest.mark.django_db
def test_it_fills_blank_details_and_overwrites_nothing(actor):
    existing = contact_create(name="Taro Yamada", email="taro@acme.co.jp", title="Manager")

    resolved = contact_resolve(
        email="taro@acme.co.jp",
        name="T. Yamada",
        phone="03-1234-5678",
        title="Director",
        department="Sales",
        company="Acme Corp",
        owner=actor,
    )

    stored = Contact.objects.select_related("account").get(pk=existing.pk)
    assert resolved.contact.pk == existing.pk
    assert (stored.name, stored.title) == ("Taro Yamada", "Manager")
    assert (stored.phone, stored.phone_normalized, stored.department, stored.owner) == (
        "03-1234-5678",
        "+81312345678",
        "Sales",
        actor,
    )
    assert (stored.account.name, stored.account.domain) == ("Acme Corp", "acme.co.jp")


@pytest.mark.django_db
def test_it_gives_a_found_contact_without_an_account_the_account_of_its_email_domain():
    existing = contact_create(name="Taro Yamada", email="taro@acme.co.jp")

    contact_resolve(email="taro@acme.co.jp")

    account = Account.objects.get()
    assert (account.name, account.domain) == ("acme.co.jp", "acme.co.jp")
    assert Contact.objects.get(pk=existing.pk).account == account


@pytest.mark.django_db
def test_it_fills_a_blank_email_on_a_contact_found_by_phone():
    existing = contact_create(name="Taro Yamada", phone="03-1234-5678")

    contact_resolve(email="Taro@Acme.co.jp", phone="03-1234-5678")

    assert Contact.objects.get(pk=existing.pk).email == "taro@acme.co.jp"


@pytest.mark.django_db
def test_it_keeps_the_account_a_found_contact_already_has():
    globex = AccountFactory(name="Globex", domain="globex.co.jp")
    existing = contact_create(name="Taro Yamada", email="taro@gmail.com", account=globex)

    contact_resolve(email="taro@gmail.com", company="Acme Corp", domain="acme.co.jp")

    assert Contact.objects.get(pk=existing.pk).account == globex
    assert Account.objects.count() == 1


@pytest.mark.django_db
def test_it_does_not_move_the_journey_of_a_found_contact():
    existing = contact_create(name="Taro Yamada", email="taro@acme.co.jp", stage="customer")

    contact_resolve(email="taro@acme.co.jp", stage="lead", cause="web form")

    assert Contact.objects.get(pk=existing.pk).stage == "customer"
    assert JourneyTransition.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "given", [{}, {"company": "Acme Corp"}, {"phone": "12"}, {"name": "   ", "email": "  "}]
)
def test_it_refuses_input_without_any_identity_and_writes_nothing(given):
    with pytest.raises(ApplicationError) as excinfo:
        contact_resolve(**given)

    message = "Give at least an email, a phone number or a name."
    assert excinfo.value.errors == {"email": [message], "phone": [message], "name": [message]}
    assert _counts() == (0, 0, 0)


@pytest.mark.django_db
def test_it_refuses_a_malformed_email_and_writes_nothing():
    with pytest.raises(ApplicationError) as excinfo:
        contact_resolve(email="taro at acme.co.jp", name="Taro Yamada", company="Acme Corp")

    assert excinfo.value.errors == {"email": ["Enter a valid email address."]}
    assert _counts() == (0, 0, 0)


@pytest.mark.django_db
def test_it_refuses_a_malformed_domain_and_writes_nothing():
    with pytest.raises(ApplicationError) as excinfo:
        contact_resolve(name="Taro Yamada", company="Acme Corp", domain="acme corp")

    assert excinfo.value.errors == {"domain": ["Enter a valid domain name."]}
    assert _counts() == (0, 0, 0)


@pytest.mark.django_db
def test_it_rolls_back_the_new_account_when_the_contact_is_refused():
    with pytest.raises(ApplicationError) as excinfo:
        contact_resolve(email="taro@acme.co.jp", name="x" * 201, company="Acme Corp")

    assert list(excinfo.value.errors) == ["name"]
    assert _counts() == (0, 0, 0)
