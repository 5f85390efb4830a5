"""Broken input at every door: each import command, the lead import API and the inbound
endpoints get the files of `corpus/` (wrong encodings, truncated files, huge cells, NUL bytes,
binary files, malformed MIME, invalid JSON, unknown keys, wrong types, formula cells).

For each: a clear error (the command's non-zero exit with the reason and the line, or a 400 with
field messages), never a traceback, and nothing half-written (the row counts of every table the
input could touch are unchanged); an inbound email that cannot be read is quarantined, not lost.
Formula cells (`=cmd|' /C calc'!A0`) are not an error: they are stored as the text they are and
come out of every CSV export escaped (`frontoffice/csv_safety.py`).
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Account, Contact, JourneyTransition, Team, Touchpoint
from inquiries.models import (
    InboundChannel,
    Inquiry,
    InquiryStatusChange,
    MailboxCursor,
    Message,
    QuarantinedEmail,
)
from pipeline.models import Deal, DealStageChange, LeadForm, LeadImport, Product
from tests.factories import CampaignFactory, TeamFactory

# The IMAP poller's own test fixture: a private Dovecot server (the test skips without one).
from tests.inquiries.test_mailbox_dovecot import (
    deliver,
    dovecot,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "corpus"
CALC = "=cmd|' /C calc'!A0"


def corpus(relative: str) -> bytes:
    """A corpus file's bytes; big ones are stored gzipped (`.gz`)."""
    path = CORPUS / relative
    content = path.read_bytes()
    return gzip.decompress(content) if path.suffix == ".gz" else content


def plain_name(relative: str) -> str:
    return Path(relative).name.removesuffix(".gz")


def table_counts() -> dict[str, int]:
    tables = (
        Account,
        Contact,
        Touchpoint,
        JourneyTransition,
        Deal,
        DealStageChange,
        Product,
        Team,
        get_user_model(),
        Inquiry,
        InquiryStatusChange,
        Message,
        QuarantinedEmail,
    )
    return {model.__name__: model.objects.count() for model in tables}


def changed(before: dict[str, int]) -> dict[str, int]:
    after = table_counts()
    return {name: after[name] - count for name, count in before.items() if after[name] != count}


# --- Lead lists: manage.py import_leads and POST /api/v1/lead-imports/ -------------------------

LEAD_FILES = [
    ("leads/latin1.csv", "The file cannot be read as text: not utf-8 (line 2); not cp932"),
    ("leads/utf16_without_bom.csv", "Line 1 holds a NUL character: this is not a text CSV"),
    ("leads/truncated_in_a_character.csv", "The file cannot be read as text: not utf-8 (line 3)"),
    ("leads/truncated_in_a_quoted_cell.csv", "Line 3: the CSV is malformed (unexpected end"),
    ("leads/huge_cell.csv.gz", "the CSV is malformed (field larger than field limit (131072))"),
    ("leads/nul_byte.csv", "Line 2 holds a NUL character: this is not a text CSV"),
    ("leads/image.png", "The file cannot be read as text: not utf-8 (line 1)"),
    ("leads/empty.csv", "The file is empty."),
    ("leads/header_only.csv", "The file has a header but no rows."),
    ("leads/no_email_or_phone_column.csv", "line 1 needs a column for email or phone"),
    ("leads/bad_rows.csv", "line 3: email: Enter a valid email address."),
]
LEAD_IDS = [plain_name(name) for name, _message in LEAD_FILES]
# The upload's own check speaks first for these.
LEAD_UPLOAD_MESSAGES = {"leads/empty.csv": "The submitted file is empty."}


@pytest.fixture
def campaign():
    return CampaignFactory(name="Japan IT Week")


@pytest.mark.parametrize(("relative", "message"), LEAD_FILES, ids=LEAD_IDS)
def test_it_refuses_a_broken_lead_list_on_the_command_line(relative, message, campaign, tmp_path):
    path = tmp_path / plain_name(relative)
    path.write_bytes(corpus(relative))
    before = table_counts()

    with pytest.raises(CommandError) as refused:
        call_command(
            "import_leads",
            str(path),
            "--campaign",
            str(campaign.pk),
            "--no-progress",
            stdout=io.StringIO(),
        )

    assert message in str(refused.value)
    assert changed(before) == {}
    # Only a file whose rows were read leaves a run, and it says it was refused.
    assert set(LeadImport.objects.values_list("status", flat=True)) <= {"refused"}


@pytest.mark.parametrize(("relative", "message"), LEAD_FILES, ids=LEAD_IDS)
def test_it_refuses_a_broken_lead_list_over_the_api(relative, message, campaign, marketer_client):
    upload = SimpleUploadedFile(plain_name(relative), corpus(relative), content_type="text/csv")
    before = table_counts()

    response = marketer_client.post(
        "/api/v1/lead-imports/", {"file": upload, "campaign": campaign.pk}, format="multipart"
    )

    assert response.status_code == 400
    body = response.json()
    reasons = body["errors"].get("file", []) + body["errors"].get("rows", [])
    message = LEAD_UPLOAD_MESSAGES.get(relative, message)
    assert any(message in reason for reason in reasons), body
    assert changed(before) == {}


def test_it_refuses_a_lead_upload_with_an_unknown_field_and_writes_nothing(
    campaign, marketer_client
):
    upload = SimpleUploadedFile("leads.csv", b"email\r\na@example.com\r\n")
    before = table_counts()

    response = marketer_client.post(
        "/api/v1/lead-imports/",
        {"file": upload, "campaign": campaign.pk, "overwrite": "yes"},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == {"overwrite": ["Unknown field."]}
    assert changed(before) == {}
    assert LeadImport.objects.count() == 0


# --- Deal data: manage.py import_deals FOLDER ---------------------------------------------------

DEAL_FILES = [
    ("deals/broken/sales_pipeline.shift_jis.csv", "sales_pipeline.csv: not UTF-8 text"),
    (
        "deals/broken/sales_pipeline.truncated_in_a_quoted_cell.csv",
        "sales_pipeline.csv line 3: unreadable CSV (unexpected end of data)",
    ),
    (
        "deals/broken/sales_pipeline.huge_cell.csv.gz",
        "sales_pipeline.csv line 3: unreadable CSV (field larger than field limit (131072))",
    ),
    (
        "deals/broken/sales_pipeline.nul_byte.csv",
        "sales_pipeline.csv line 3: a NUL character: not a text CSV",
    ),
    (
        "deals/broken/sales_pipeline.bad_values.csv",
        "sales_pipeline.csv line 4: close_value 'NaN' is not an amount",
    ),
    ("deals/broken/accounts.image.png", "accounts.csv: not UTF-8 text"),
    ("deals/broken/products.empty.csv", "products.csv line 1: missing column(s)"),
]


def _deal_folder(tmp_path: Path, relative: str | None = None) -> Path:
    for valid in (CORPUS / "deals/valid").iterdir():
        shutil.copy(valid, tmp_path / valid.name)
    if relative is not None:
        target = Path(relative).name.split(".", 1)[0] + ".csv"  # sales_pipeline.x.csv
        (tmp_path / target).write_bytes(corpus(relative))
    return tmp_path


@pytest.mark.parametrize(
    ("relative", "message"), DEAL_FILES, ids=[Path(n).name for n, _m in DEAL_FILES]
)
def test_it_refuses_broken_deal_data_with_the_line_and_writes_nothing(relative, message, tmp_path):
    folder = _deal_folder(tmp_path, relative)
    before = table_counts()

    with pytest.raises(CommandError) as refused:
        call_command("import_deals", str(folder), "--no-progress", stdout=io.StringIO())

    assert message in str(refused.value)
    assert "nothing was imported" in str(refused.value)
    assert changed(before) == {}


def test_it_imports_the_valid_deal_folder_the_broken_ones_are_made_from(tmp_path):
    call_command("import_deals", str(_deal_folder(tmp_path)), "--no-progress", stdout=io.StringIO())

    assert sorted(Deal.objects.values_list("external_id", flat=True)) == ["AAA", "BBB"]


def test_it_stores_formula_cells_in_deal_data_as_text(tmp_path):
    folder = _deal_folder(tmp_path, "deals/broken/sales_teams.formula_cells.csv")

    call_command("import_deals", str(folder), "--no-progress", stdout=io.StringIO())

    team = Team.objects.get(supervisor__last_name="")
    assert (team.name, team.supervisor.first_name) == ("+Central (@Boss)", "@Boss")
    agent = get_user_model().objects.get(first_name=CALC.split(" ")[0])
    assert f"{agent.first_name} {agent.last_name}" == CALC


# --- Support tickets: manage.py import_tickets FILE ---------------------------------------------

TICKET_FILES = [
    ("tickets/shift_jis.csv", "the file is not UTF-8 text (invalid start byte)"),
    ("tickets/truncated_in_a_quoted_cell.csv", "line 3: unreadable CSV (unexpected end of data)"),
    ("tickets/huge_cell.csv.gz", "line 3: unreadable CSV (field larger than field limit"),
    ("tickets/nul_byte.csv", "line 3: a NUL character (not a text CSV)."),
    ("tickets/missing_columns.csv", "line 1: missing column(s): Product Purchased"),
    ("tickets/bad_rows.csv", "line 4: unknown Ticket Channel 'Pigeon'."),
    ("tickets/image.png", "the file is not UTF-8 text (invalid start byte)"),
    ("tickets/empty.csv", "line 1: missing column(s): Ticket ID"),
]


@pytest.mark.parametrize(
    ("relative", "message"), TICKET_FILES, ids=[plain_name(n) for n, _m in TICKET_FILES]
)
def test_it_refuses_a_broken_ticket_file_with_the_line_and_writes_nothing(
    relative, message, tmp_path
):
    path = tmp_path / plain_name(relative)
    path.write_bytes(corpus(relative))
    before = table_counts()

    with pytest.raises(CommandError) as refused:
        call_command("import_tickets", str(path), "--no-progress", stdout=io.StringIO())

    assert message in str(refused.value)
    assert changed(before) == {}


def test_it_stores_formula_cells_of_a_ticket_as_text(tmp_path):
    path = tmp_path / "formula_cells.csv"
    path.write_bytes(corpus("tickets/formula_cells.csv"))

    call_command("import_tickets", str(path), "--no-progress", stdout=io.StringIO())

    inquiry = Inquiry.objects.get()
    assert (inquiry.contact.name, inquiry.subject) == (CALC, '=HYPERLINK("http://evil.example")')
    assert inquiry.messages.order_by("pk").first().body == "@SUM(1+1)"


# --- Inbound email: POST /api/v1/inbound/email/ and the IMAP poller -----------------------------

INBOUND_KEY = "inbound-secret"
EMAILS = [
    ("email/wrong_boundary.eml", "quarantined"),
    ("email/no_closing_boundary.eml", "opened"),
    ("email/truncated_in_the_headers.eml", "opened"),
    ("email/wrong_charset.eml", "opened"),
    ("email/unknown_charset.eml", "opened"),
    ("email/broken_base64.eml", "opened"),
    ("email/huge_subject.eml.gz", "opened"),
    ("email/no_from.eml", "quarantined"),
    ("email/nul_bytes.eml", "opened"),
    ("email/eight_bit_headers.eml", "opened"),
    ("email/binary_garbage.eml", "quarantined"),
    ("email/image.png", "quarantined"),
]


@pytest.mark.parametrize(("relative", "outcome"), EMAILS, ids=[plain_name(n) for n, _o in EMAILS])
def test_it_keeps_every_broken_email_posted_to_the_webhook(relative, outcome, api_client, settings):
    settings.FRONTOFFICE_INBOUND_EMAIL_KEY = INBOUND_KEY
    raw = corpus(relative)

    response = api_client.generic(
        "POST",
        "/api/v1/inbound/email/",
        raw,
        content_type="message/rfc822",
        HTTP_X_INBOUND_KEY=INBOUND_KEY,
    )

    assert response.status_code == 202
    assert response.json()["status"] == outcome
    if outcome == "quarantined":
        assert bytes(QuarantinedEmail.objects.get().raw) == raw
        assert Message.objects.count() == 0
    else:
        message = Message.objects.get()
        assert "\x00" not in message.body + message.inquiry.subject
        assert QuarantinedEmail.objects.count() == 0


def test_it_refuses_an_email_over_the_size_cap_before_writing_anything(api_client, settings):
    settings.FRONTOFFICE_INBOUND_EMAIL_KEY = INBOUND_KEY
    settings.FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES = 10_000
    raw = corpus("email/huge_subject.eml.gz")
    before = table_counts()

    response = api_client.generic(
        "POST",
        "/api/v1/inbound/email/",
        raw,
        content_type="message/rfc822",
        HTTP_X_INBOUND_KEY=INBOUND_KEY,
    )

    assert response.status_code == 413
    assert response.json() == {
        "detail": "The message is larger than 10000 bytes.",
        "errors": {},
    }
    assert changed(before) == {}


def test_it_keeps_every_broken_email_the_imap_poller_reads(dovecot):  # noqa: F811
    deliver(dovecot, *(corpus(relative) for relative, _outcome in EMAILS))
    output = io.StringIO()

    call_command("fetch_mail", stdout=output)

    quarantined = sum(1 for _name, outcome in EMAILS if outcome == "quarantined")
    assert output.getvalue().strip() == (
        f"fetched {len(EMAILS)}, opened {len(EMAILS) - quarantined}, threaded 0, "
        f"duplicate 0, quarantined {quarantined}"
    )
    assert Message.objects.count() + QuarantinedEmail.objects.count() == len(EMAILS)
    assert set(QuarantinedEmail.objects.values_list("source", flat=True)) == {"imap"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("pop3://support@mail.example/INBOX", "IMAP_URL must start with imap:// or imaps://"),
        ("imap://support:pw@mail.example:99999/INBOX", "IMAP_URL has a bad port"),
        ("imap://mail.example/INBOX", "IMAP_URL needs a user and a host"),
        ("imap://support:pw@127.0.0.1:1/INBOX", "Cannot reach 127.0.0.1:1"),
    ],
    ids=["not-imap", "bad-port", "no-user", "unreachable"],
)
def test_it_refuses_a_broken_imap_setting_with_a_clear_error(url, message, settings):
    settings.IMAP_URL = url
    settings.IMAP_TIMEOUT = 2

    with pytest.raises(CommandError, match=message):
        call_command("fetch_mail", stdout=io.StringIO())

    assert MailboxCursor.objects.count() == 0


# --- JSON at the public inbound endpoints: chat, web form, lead capture -------------------------

JSON_BODIES = [
    ("json/truncated.json", "JSON parse error - Unterminated string"),
    ("json/not_an_object.json", "Invalid data. Expected a dictionary, but got list."),
    ("json/bad_utf8.json", "JSON parse error - 'utf-8' codec can't decode byte 0xff"),
    ("json/deeply_nested.json.gz", "JSON parse error - nested too deeply."),
    ("json/unknown_keys.json", "Unknown field."),
    ("json/wrong_types.json", "Not a valid string."),
    ("json/huge_fields.json.gz", "Ensure this field has no more than"),
    ("json/nul_bytes.json", "Null characters are not allowed."),
    ("json/empty.json", ("This field is required.", "Give an email address or a phone number.")),
]
ENDPOINTS = ["/api/v1/inbound/chat/", "/api/v1/inbound/web-form/", "/api/v1/leads/capture/"]


@pytest.fixture
def keys() -> dict[str, dict[str, str]]:
    team = TeamFactory(name="Support", kind=Team.Kind.SUPPORT)
    chat = InboundChannel.objects.create(name="Chat", kind="chat", team=team)
    web_form = InboundChannel.objects.create(name="Form", kind="web_form", team=team)
    lead_form = LeadForm.objects.create(name="Booth", campaign=CampaignFactory())
    return {
        "/api/v1/inbound/chat/": {"HTTP_X_CHANNEL_KEY": chat.key},
        "/api/v1/inbound/web-form/": {"HTTP_X_CHANNEL_KEY": web_form.key},
        "/api/v1/leads/capture/": {"HTTP_X_FORM_KEY": lead_form.key},
    }


def _messages(body: dict) -> list[str]:
    found = [body["detail"]]
    for messages in body["errors"].values():
        found += [str(message) for message in messages]
    return found


@pytest.mark.parametrize("url", ENDPOINTS)
@pytest.mark.parametrize(
    ("relative", "message"), JSON_BODIES, ids=[plain_name(n) for n, _m in JSON_BODIES]
)
def test_it_refuses_broken_json_at_an_inbound_endpoint(relative, message, url, keys, api_client):
    before = table_counts()

    response = api_client.generic(
        "POST", url, corpus(relative), content_type="application/json", **keys[url]
    )

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"}
    expected = message if isinstance(message, tuple) else (message,)
    assert any(one in text for one in expected for text in _messages(body)), body
    assert changed(before) == {}


def test_it_stores_a_formula_sent_to_lead_capture_as_text(keys, api_client):
    response = api_client.post(
        "/api/v1/leads/capture/",
        {"email": "calc@example.com", "name": "=1+1", "company": CALC},
        **keys["/api/v1/leads/capture/"],
    )

    assert response.status_code == 201
    contact = Contact.objects.get(email="calc@example.com")
    assert (contact.name, contact.account.name) == ("=1+1", CALC)


# --- Formula cells: imported as text, exported escaped ------------------------------------------


def _admin_browser(admin_user) -> Client:
    browser = Client()
    browser.force_login(admin_user)
    return browser


def _exported_rows(response) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(content.removeprefix("\ufeff"), newline="")))


def test_it_imports_a_formula_cell_as_text_and_exports_it_escaped(campaign, admin_user, tmp_path):
    path = tmp_path / "formula_cells.csv"
    path.write_bytes(corpus("leads/formula_cells.csv"))
    call_command(
        "import_leads",
        str(path),
        "--campaign",
        str(campaign.pk),
        "--no-progress",
        stdout=io.StringIO(),
    )
    contact = Contact.objects.get(email="calc@example.com")
    assert (contact.name, contact.account.name, contact.title) == ("=1+1", CALC, "@SUM(A1)")

    response = _admin_browser(admin_user).post(
        "/admin/accounts/contact/",
        {"action": "export_csv", "_selected_action": [contact.pk]},
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    [row] = _exported_rows(response)
    assert (row["name"], row["company"], row["title"], row["phone"]) == (
        "'=1+1",
        f"'{CALC}",
        "'@SUM(A1)",
        "'+81 3 1234 5678",
    )
    assert (row["email"], row["stage"]) == ("calc@example.com", "lead")


def test_it_escapes_formula_cells_in_the_reject_file_of_a_partial_import(campaign, tmp_path):
    path = tmp_path / "visitors.csv"
    path.write_bytes(
        b"email,name,company\r\n"
        b"good@example.com,Good,Good KK\r\n"
        b"not-an-email,=2+2,\"=cmd|' /C calc'!A0\"\r\n"
    )
    reject = tmp_path / "rejected.csv"

    call_command(
        "import_leads",
        str(path),
        "--campaign",
        str(campaign.pk),
        "--partial",
        "--reject-file",
        str(reject),
        "--no-progress",
        stdout=io.StringIO(),
    )

    rows = list(csv.reader(io.StringIO(reject.read_text(encoding="utf-8"), newline="")))
    assert rows == [
        ["email", "name", "company", "reason"],
        ["not-an-email", "'=2+2", f"'{CALC}", "line 3: email: Enter a valid email address."],
    ]
