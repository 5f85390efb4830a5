"""Lead list import (pipeline.imports.leads_import): reading, checks, identity, journey, writes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from accounts import services as accounts_services
from accounts.models import (
    Account,
    Contact,
    CustomerMerge,
    JourneyStage,
    JourneyTransition,
    Touchpoint,
)
from accounts.signals import touchpoints_recorded
from frontoffice.errors import ApplicationError
from pipeline.imports import leads_import
from pipeline.models import Campaign, LeadImport
from tests.factories import AccountFactory, CampaignFactory, ContactFactory

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
HEADER = "email,name,company,title,department,phone,date"
FULL_WIDTH = {ord(char): ord(char) + 0xFEE0 for char in "0123456789-"}


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


@pytest.fixture
def campaign():
    return CampaignFactory(name="Japan IT Week 2025", kind=Campaign.Kind.EXHIBITION)


def run_import(content: bytes, campaign, **options):
    return leads_import(content=content, file_name="visitors.csv", campaign=campaign, **options)


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Account,
            Contact,
            Touchpoint,
            JourneyTransition,
            CustomerMerge,
            Campaign,
            LeadImport,
        )
    }


# --- A good list --------------------------------------------------------------------------------


def test_it_imports_each_row_as_a_lead_with_account_touchpoint_and_history(campaign):
    content = csv_bytes(
        HEADER,
        "hanako@kaisha.co.jp,Hanako Yamada,Kaisha KK,CTO,IT,03-1234-5678,2025-10-21",
        "taro@example.org,Taro Sato,Example Org,,Sales,,2025/10/22 14:30",
    )

    outcome = run_import(content, campaign)

    run = outcome.lead_import
    assert (run.status, run.total_rows, run.created_contacts, run.matched_contacts) == (
        "imported",
        2,
        2,
        0,
    )
    assert (run.merged_rows, run.rejected_rows, run.errors, run.encoding) == (0, 0, [], "utf-8")
    hanako = Contact.objects.get(email="hanako@kaisha.co.jp")
    assert (hanako.name, hanako.title, hanako.department, hanako.phone_normalized) == (
        "Hanako Yamada",
        "CTO",
        "IT",
        "+81312345678",
    )
    assert (hanako.account.name, hanako.account.domain) == ("Kaisha KK", "kaisha.co.jp")
    assert hanako.stage == JourneyStage.LEAD
    assert hanako.stage_changed_at == datetime(2025, 10, 21, tzinfo=TOKYO)
    history = list(hanako.journey_transitions.values_list("from_stage", "to_stage", "cause"))
    assert history == [("", "lead", f"lead import #{run.pk} (Japan IT Week 2025)")]
    touchpoint = Touchpoint.objects.get(contact=hanako)
    assert (touchpoint.kind, touchpoint.channel, touchpoint.campaign, touchpoint.account) == (
        "event_visit",
        "in_person",
        campaign,
        hanako.account,
    )
    assert touchpoint.occurred_at == datetime(2025, 10, 21, tzinfo=TOKYO)
    assert touchpoint.source == run
    taro = Touchpoint.objects.get(contact__email="taro@example.org")
    assert taro.occurred_at == datetime(2025, 10, 22, 14, 30, tzinfo=TOKYO)
    assert sorted(Account.objects.values_list("domain", flat=True)) == [
        "example.org",
        "kaisha.co.jp",
    ]


def test_it_announces_the_new_leads_once_after_commit(campaign, django_capture_on_commit_callbacks):
    received: list[list[int]] = []

    def listener(sender, contact_ids, **kwargs):
        received.append(contact_ids)

    touchpoints_recorded.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_import(csv_bytes("email", "a@one.example", "b@two.example"), campaign)
    finally:
        touchpoints_recorded.disconnect(listener)

    assert received == [sorted(Contact.objects.values_list("pk", flat=True))]


def test_it_finds_the_account_by_domain_then_by_name(campaign):
    by_domain = AccountFactory(name="Kaisha Holdings", domain="kaisha.co.jp")
    by_name = AccountFactory(name="Nameonly KK", domain="")

    run_import(
        csv_bytes(
            "email,company",
            "a@kaisha.co.jp,Kaisha KK",
            "b@gmail.com,nameonly kk",
            "c@yahoo.co.jp,Brand New KK",
        ),
        campaign,
    )

    assert Contact.objects.get(email="a@kaisha.co.jp").account == by_domain
    assert Contact.objects.get(email="b@gmail.com").account == by_name
    new = Contact.objects.get(email="c@yahoo.co.jp").account
    assert (new.name, new.domain) == ("Brand New KK", "")
    assert Account.objects.count() == 3


# --- Encodings and headers ----------------------------------------------------------------------


def test_it_reads_a_shift_jis_list_with_japanese_headers(campaign):
    content = csv_bytes(
        "姓,名,会社名,部署,役職,メールアドレス,電話番号,来場日",
        # A full-width phone number, as Japanese input methods type it.
        "山田,花子,株式会社カイシャ,情報システム部,部長,hanako@kaisha.co.jp,"
        + "03-1234-5678".translate(FULL_WIDTH)
        + ",2025年10月21日",
        encoding="cp932",
    )

    outcome = run_import(content, campaign)

    assert outcome.lead_import.encoding == "cp932"
    contact = Contact.objects.get()
    assert (contact.name, contact.department, contact.title, contact.phone_normalized) == (
        "山田 花子",
        "情報システム部",
        "部長",
        "+81312345678",
    )
    assert contact.account.name == "株式会社カイシャ"
    assert Touchpoint.objects.get().occurred_at == datetime(2025, 10, 21, tzinfo=TOKYO)


def test_it_reads_utf8_with_a_byte_order_mark(campaign):
    content = b"\xef\xbb\xbf" + csv_bytes("E-mail,お名前", "hanako@kaisha.co.jp,山田 花子")

    outcome = run_import(content, campaign)

    assert outcome.lead_import.encoding == "utf-8-sig"
    assert Contact.objects.get().name == "山田 花子"


def test_it_reads_tab_separated_utf16_from_excel(campaign):
    content = "Email\tFirst Name\tLast Name\r\nann@example.org\tAnn\tLee\r\n".encode("utf-16")

    run_import(content, campaign)

    assert Contact.objects.get().name == "Ann Lee"


def test_it_lists_the_columns_it_does_not_know(campaign):
    outcome = run_import(csv_bytes("email,フリガナ,Badge", "a@b.example,ヤマダ,123"), campaign)

    assert outcome.parsed.ignored_columns == ["フリガナ", "Badge"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (csv_bytes("email"), "The file has a header but no rows."),
        (
            csv_bytes("visitor,company", "x,y"),
            "No usable header: line 1 needs a column for email or phone "
            "(found: 'visitor', 'company').",
        ),
        (
            csv_bytes("email,E-mail", "a@b.example,c@d.example"),
            "The columns 'email' and 'E-mail' both mean email.",
        ),
        (
            b"email\r\nok@x.example\r\n\x81 @x.example\r\n",
            "The file cannot be read as text: not utf-8 (line 3); not cp932 (line 3). "
            "Save it as UTF-8 or Shift_JIS CSV.",
        ),
    ],
)
def test_it_refuses_a_file_it_cannot_use_and_records_nothing(campaign, content, message):
    before = table_counts()

    with pytest.raises(ApplicationError) as raised:
        run_import(content, campaign)

    assert raised.value.errors == {"file": [message]}
    assert table_counts() == before


def test_it_needs_a_campaign_that_is_not_cancelled(campaign):
    with pytest.raises(ApplicationError) as missing:
        run_import(csv_bytes("email", "a@b.example"), None)
    campaign.status = Campaign.Status.CANCELLED
    with pytest.raises(ApplicationError) as cancelled:
        run_import(csv_bytes("email", "a@b.example"), campaign)

    assert list(missing.value.errors) == ["campaign"]
    assert cancelled.value.errors == {
        "campaign": ["The campaign 'Japan IT Week 2025' is cancelled."]
    }


# --- Bad rows -----------------------------------------------------------------------------------

BAD_LIST = csv_bytes(
    "email,name,phone,date,note",
    "good@kaisha.co.jp,Good One,,2025-10-21,",
    "not-an-email,Bad Email,,,",
    '"multi@kaisha.co.jp","Multi Line",,,"first line',
    'second line"',
    ",No Identity,,,",
    "",
    "late@kaisha.co.jp,Bad Date,,21/10/2025,",
    f"long@kaisha.co.jp,{'x' * 201},12,,",
    "ok@kaisha.co.jp,Ok,,,,extra",
)
BAD_LINES = [
    {"line": 3, "reason": "email: Enter a valid email address."},
    {"line": 6, "reason": "email: Give an email address or a phone number."},
    {
        "line": 8,
        "reason": "date: '21/10/2025' is not a date (use YYYY-MM-DD, optionally with HH:MM).",
    },
    {
        "line": 9,
        "reason": "name: At most 200 characters (it has 201). "
        "phone: Not a phone number (fewer than 5 digits).",
    },
    {"line": 10, "reason": "row: 6 values for 5 header columns."},
]


def test_it_reports_every_bad_row_with_its_line_in_the_file(campaign):
    outcome = run_import(BAD_LIST, campaign)

    run = outcome.lead_import
    assert (run.status, run.total_rows, run.rejected_rows) == ("refused", 7, 5)
    assert run.errors == BAD_LINES


def test_it_writes_nothing_but_the_refused_run_when_a_row_is_bad(campaign):
    ContactFactory(email="good@kaisha.co.jp", stage=JourneyStage.AWARENESS)
    before = table_counts()

    outcome = run_import(BAD_LIST, campaign)

    assert table_counts() == {**before, "LeadImport": before["LeadImport"] + 1}
    assert LeadImport.objects.get() == outcome.lead_import
    assert Contact.objects.get(email="good@kaisha.co.jp").stage == JourneyStage.AWARENESS


def test_it_imports_the_good_rows_in_partial_mode_and_gives_back_the_bad_ones(campaign):
    outcome = run_import(BAD_LIST, campaign, partial=True)

    run = outcome.lead_import
    assert (run.status, run.created_contacts, run.rejected_rows) == ("partial", 2, 5)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "good@kaisha.co.jp",
        "multi@kaisha.co.jp",
    ]
    assert Touchpoint.objects.get(contact__email="multi@kaisha.co.jp").summary == (
        "first line\r\nsecond line"
    )
    assert outcome.reject_file().decode("utf-8").split("\r\n") == [
        "email,name,phone,date,note,reason",
        "not-an-email,Bad Email,,,,line 3: email: Enter a valid email address.",
        ",No Identity,,,,line 6: email: Give an email address or a phone number.",
        "late@kaisha.co.jp,Bad Date,,21/10/2025,,"
        "\"line 8: date: '21/10/2025' is not a date (use YYYY-MM-DD, optionally with HH:MM).\"",
        f"long@kaisha.co.jp,{'x' * 201},12,,,line 9: name: At most 200 characters "
        "(it has 201). phone: Not a phone number (fewer than 5 digits).",
        "ok@kaisha.co.jp,Ok,,,,extra,line 10: row: 6 values for 5 header columns.",
        "",
    ]


def test_it_gives_back_bad_rows_in_the_encoding_of_the_file(campaign):
    content = csv_bytes("メールアドレス,氏名", "bad,山田 花子", encoding="cp932")

    outcome = run_import(content, campaign, partial=True)

    assert outcome.reject_file().decode("cp932").split("\r\n")[1] == (
        "bad,山田 花子,line 2: メールアドレス: Enter a valid email address."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-21", datetime(2025, 10, 21, tzinfo=TOKYO)),
        ("2025/10/21 9:05", datetime(2025, 10, 21, 9, 5, tzinfo=TOKYO)),
        ("2025.1.2 09:05:30", datetime(2025, 1, 2, 9, 5, 30, tzinfo=TOKYO)),
        ("2025年10月21日", datetime(2025, 10, 21, tzinfo=TOKYO)),
        (
            "2025年10月21日 10時30分".translate(FULL_WIDTH),
            datetime(2025, 10, 21, 10, 30, tzinfo=TOKYO),
        ),
        ("2025-10-21T10:00:00+00:00", datetime(2025, 10, 21, 19, 0, tzinfo=TOKYO)),
    ],
)
def test_it_reads_the_documented_date_forms(campaign, text, expected):
    run_import(csv_bytes("email,来場日", f"a@b.example,{text}"), campaign)

    assert Touchpoint.objects.get().occurred_at == expected


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("a@b.example,2099-01-01,", "date: '2099-01-01' is in the future."),
        ("a@b.example,1899-12-31,", "date: '1899-12-31' is too long ago."),
        ("a@b.example,,not a site", "URL: Enter a valid domain name."),
        (
            "a@b.example,,,fax",
            "kind: 'fax' is not one of event_visit, web_visit, content_download, "
            "email, call, visit, meeting, chat, inquiry_message, demo, proposal, deal_update, "
            "quote, order, survey, form, note.",
        ),
    ],
)
def test_it_refuses_a_date_out_of_range_a_bad_website_and_an_unknown_kind(campaign, row, reason):
    outcome = run_import(csv_bytes("email,date,URL,kind", row), campaign)

    assert outcome.lead_import.errors == [{"line": 2, "reason": reason}]


# --- One customer -------------------------------------------------------------------------------


def test_it_merges_rows_of_the_same_person_and_fills_blanks_from_later_rows(campaign):
    content = csv_bytes(
        HEADER,
        "Hanako@Kaisha.co.jp,Hanako Yamada,,,,,2025-10-22",
        "hanako@kaisha.co.jp,,Kaisha KK,CTO,,03-1234-5678,2025-10-21",
        ",Hanako Y.,,,IT,+81 3 1234 5678,2025-10-23",
        "taro@kaisha.co.jp,Taro,,,,,2025-10-21",
    )

    outcome = run_import(content, campaign)

    run = outcome.lead_import
    assert (run.total_rows, run.created_contacts, run.merged_rows) == (4, 2, 2)
    hanako = Contact.objects.get(email="hanako@kaisha.co.jp")
    assert (hanako.name, hanako.title, hanako.department, hanako.phone) == (
        "Hanako Yamada",
        "CTO",
        "IT",
        "03-1234-5678",
    )
    # The earliest of her rows dates her first stage; each row is a touchpoint.
    assert hanako.stage_changed_at == datetime(2025, 10, 21, tzinfo=TOKYO)
    assert hanako.touchpoints.count() == 3
    assert hanako.journey_transitions.count() == 1
    assert Account.objects.get().domain == "kaisha.co.jp"


def test_it_matches_known_contacts_by_email_phone_and_a_merged_address(campaign):
    by_email = ContactFactory(email="known@kaisha.co.jp", name="Known")
    by_phone = ContactFactory(email="", phone="03-1111-2222", phone_normalized="+81311112222")
    survivor = ContactFactory(email="new@kaisha.co.jp")
    duplicate = ContactFactory(email="old@kaisha.co.jp")
    accounts_services.contact_merge(survivor=survivor, duplicate=duplicate)
    before = Contact.objects.count()

    outcome = run_import(
        csv_bytes(
            "email,phone,title",
            "KNOWN@kaisha.co.jp,,Director",
            "phoned@kaisha.co.jp,(03) 1111-2222,",
            "old@kaisha.co.jp,,",
        ),
        campaign,
    )

    run = outcome.lead_import
    assert (run.created_contacts, run.matched_contacts, run.merged_rows) == (0, 3, 0)
    assert Contact.objects.count() == before
    by_email.refresh_from_db()
    by_phone.refresh_from_db()
    assert by_email.title == "Director"
    assert by_phone.email == "phoned@kaisha.co.jp"
    assert survivor.touchpoints.get().campaign == campaign
    assert [c.stage for c in (by_email, by_phone)] == ["lead", "lead"]


def test_it_matches_a_known_person_by_name_within_the_company_domain(campaign):
    account = AccountFactory(domain="kaisha.co.jp")
    card = ContactFactory(name="Hanako Yamada", email="", phone="", account=account)

    run_import(csv_bytes("email,name", "hanako@kaisha.co.jp,hanako yamada"), campaign)

    card.refresh_from_db()
    assert (card.email, Contact.objects.count()) == ("hanako@kaisha.co.jp", 1)


def test_it_moves_the_journey_forward_only_and_reactivates_dormant_contacts(campaign):
    aware = ContactFactory(email="aware@kaisha.co.jp", stage=JourneyStage.AWARENESS)
    customer = ContactFactory(email="customer@kaisha.co.jp", stage=JourneyStage.CUSTOMER)
    dormant = ContactFactory(email="dormant@kaisha.co.jp", stage=JourneyStage.DORMANT)

    outcome = run_import(
        csv_bytes(
            "email,date",
            "aware@kaisha.co.jp,2025-10-21",
            "customer@kaisha.co.jp,2025-10-21",
            "dormant@kaisha.co.jp,2025-10-21",
        ),
        campaign,
    )

    cause = f"lead import #{outcome.lead_import.pk} (Japan IT Week 2025)"
    for contact in (aware, customer, dormant):
        contact.refresh_from_db()
    assert [aware.stage, customer.stage, dormant.stage] == ["lead", "customer", "lead"]
    moves = JourneyTransition.objects.filter(cause=cause).order_by("contact_id")
    assert list(moves.values_list("contact_id", "from_stage", "to_stage")) == [
        (aware.pk, "awareness", "lead"),
        (dormant.pk, "dormant", "lead"),
    ]
    # The factory's contacts entered their stage now: the move is dated no earlier.
    assert aware.stage_changed_at == moves[0].created_at >= aware.created_at
    assert customer.touchpoints.count() == 1


def test_it_dry_run_counts_new_and_known_people_and_writes_only_the_run(campaign):
    ContactFactory(email="known@kaisha.co.jp")
    before = table_counts()

    outcome = run_import(
        csv_bytes("email", "known@kaisha.co.jp", "new@kaisha.co.jp", "NEW@kaisha.co.jp", "bad"),
        campaign,
        dry_run=True,
    )

    run = outcome.lead_import
    assert (run.status, run.total_rows, run.created_contacts, run.matched_contacts) == (
        "dry_run",
        4,
        1,
        1,
    )
    assert (run.merged_rows, run.rejected_rows, outcome.new_accounts) == (1, 1, 1)
    assert table_counts() == {**before, "LeadImport": before["LeadImport"] + 1}


# --- Fast ---------------------------------------------------------------------------------------


def _rows(count: int, *, prefix: str) -> bytes:
    return csv_bytes(
        "email,name,company,phone",
        *(
            f"{prefix}{i}@{prefix}{i % 7}.example,{prefix} {i},{prefix} Company {i % 7},"
            f"03-5{i:03d}-{count:04d}"
            for i in range(count)
        ),
    )


def test_it_makes_the_same_small_number_of_queries_for_50_or_500_rows(
    campaign, django_assert_max_num_queries
):
    # Each list has one known person (moved along the journey) and new ones with new accounts.
    ContactFactory(email="small1@small1.example")
    ContactFactory(email="large1@large1.example")
    run_import(csv_bytes("email", "warm@up.example"), campaign)  # caches the content type
    counts = []
    for count, prefix in ((50, "small"), (500, "large")):
        with django_assert_max_num_queries(25) as queries:
            outcome = run_import(_rows(count, prefix=prefix), campaign)
        counts.append(len(queries))
        assert (outcome.lead_import.created_contacts, outcome.lead_import.matched_contacts) == (
            count - 1,
            1,
        )

    assert counts[0] == counts[1]
    assert Touchpoint.objects.count() == 551
