"""The three ways in to the lead import: `manage.py import_leads`, the API and the admin upload."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Contact, JourneyTransition, Touchpoint
from pipeline.models import Campaign, LeadImport
from tests.factories import CampaignFactory
from tests.pipeline.test_lead_import import csv_bytes

pytestmark = pytest.mark.django_db

GOOD = csv_bytes("email,name", "hanako@kaisha.co.jp,Hanako Yamada", "taro@kaisha.co.jp,Taro Sato")
ONE_BAD = csv_bytes("email,name", "hanako@kaisha.co.jp,Hanako Yamada", "broken,Broken")


@pytest.fixture
def campaign():
    return CampaignFactory(name="Japan IT Week 2025", kind=Campaign.Kind.EXHIBITION)


# --- Command ------------------------------------------------------------------------------------


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command("import_leads", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _written(tmp_path: Path, content: bytes, name: str = "visitors.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_it_imports_a_file_from_the_command_and_prints_a_summary(tmp_path, campaign):
    output = _command(str(_written(tmp_path, GOOD)), "--campaign", str(campaign.pk))

    run = LeadImport.objects.get()
    assert output.splitlines()[:8] == [
        f"Lead import #{run.pk}: Imported",
        "  file            visitors.csv (utf-8)",
        "  campaign        Japan IT Week 2025",
        "  rows            2 (2 good, 0 bad)",
        "  new contacts    2",
        "  known contacts  0",
        "  merged rows     0 (same person as an earlier row)",
        "  new accounts    1",
    ]
    assert Contact.objects.count() == 2


def test_it_dry_runs_from_the_command(tmp_path, campaign):
    _command(str(_written(tmp_path, GOOD)), "--campaign", str(campaign.pk), "--dry-run")

    assert (LeadImport.objects.get().status, Contact.objects.count()) == ("dry_run", 0)


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        (None, ["--campaign", "{campaign}"], "No such file: {path}"),
        (GOOD, ["--campaign", "999999"], "No campaign with id 999999."),
        (
            b"email\r\n\x81 @x.example\r\n",
            ["--campaign", "{campaign}"],
            "The file cannot be read as text: not utf-8 (line 2); not cp932 (line 2). "
            "Save it as UTF-8 or Shift_JIS CSV.",
        ),
        (
            csv_bytes("badge,company", "1,x"),
            ["--campaign", "{campaign}"],
            "No usable header: line 1 needs a column for email or phone "
            "(found: 'badge', 'company').",
        ),
        (GOOD, [], "Choose the campaign (the exhibition or event) the list comes from."),
        (GOOD, ["--campaign", "{campaign}", "--reject-file", "x.csv"], "--reject-file goes "),
    ],
)
def test_it_stops_the_command_with_a_clear_error(tmp_path, campaign, content, options, message):
    path = tmp_path / "visitors.csv"
    if content is not None:
        path.write_bytes(content)
    arguments = [option.format(campaign=campaign.pk) for option in options]

    with pytest.raises(CommandError) as raised:
        _command(str(path), *arguments)

    assert str(raised.value).startswith(message.format(path=path))
    assert Contact.objects.count() == 0


def test_it_refuses_bad_rows_from_the_command_listing_the_lines(tmp_path, campaign):
    with pytest.raises(CommandError) as raised:
        _command(str(_written(tmp_path, ONE_BAD)), "--campaign", str(campaign.pk))

    assert str(raised.value) == (
        "1 bad rows: nothing was imported. Fix them, or use --partial to import the good rows.\n"
        "Bad rows:\n"
        "  line 3: email: Enter a valid email address."
    )
    assert (Contact.objects.count(), LeadImport.objects.get().status) == (0, "refused")


def test_it_writes_the_reject_file_from_the_command_in_partial_mode(tmp_path, campaign):
    rejects = tmp_path / "out" / "rejects.csv"
    rejects.parent.mkdir()

    output = _command(
        str(_written(tmp_path, ONE_BAD)),
        "--campaign",
        str(campaign.pk),
        "--partial",
        "--reject-file",
        str(rejects),
    )

    assert rejects.read_text(encoding="utf-8").splitlines() == [
        "email,name,reason",
        "broken,Broken,line 3: email: Enter a valid email address.",
    ]
    assert f"1 rejected rows written to {rejects}" in output
    assert list(Contact.objects.values_list("email", flat=True)) == ["hanako@kaisha.co.jp"]


def test_it_puts_the_reject_file_beside_the_list_by_default(tmp_path, campaign):
    _command(str(_written(tmp_path, ONE_BAD)), "--campaign", str(campaign.pk), "--partial")

    assert (tmp_path / "visitors-rejected.csv").read_bytes().startswith(b"email,name,reason")


def test_it_checks_the_reject_folder_before_importing(tmp_path, campaign):
    with pytest.raises(CommandError, match="Cannot write the reject file in"):
        _command(
            str(_written(tmp_path, ONE_BAD)),
            "--campaign",
            str(campaign.pk),
            "--partial",
            "--reject-file",
            str(tmp_path / "missing" / "rejects.csv"),
        )

    assert Contact.objects.count() == 0


# --- API ----------------------------------------------------------------------------------------

URL = "/api/v1/lead-imports/"


def _upload(client, content: bytes = GOOD, **fields):
    body = {"file": SimpleUploadedFile("visitors.csv", content, content_type="text/csv"), **fields}
    return client.post(URL, body, format="multipart")


def test_it_imports_an_upload_for_a_marketer(marketer_client, marketer, campaign):
    response = _upload(marketer_client, campaign=campaign.pk)

    assert response.status_code == 201
    run = LeadImport.objects.get()
    body = response.json()
    assert {key: body[key] for key in ("id", "status", "total_rows", "created_contacts")} == {
        "id": run.pk,
        "status": "imported",
        "total_rows": 2,
        "created_contacts": 2,
    }
    assert (body["campaign_name"], body["errors"], run.created_by) == (
        "Japan IT Week 2025",
        [],
        marketer,
    )
    transition = JourneyTransition.objects.filter(to_stage="lead").first()
    assert transition.actor == marketer
    assert Touchpoint.objects.filter(actor=marketer).count() == 2


def test_it_answers_a_dry_run_with_200_and_writes_no_contact(marketer_client, campaign):
    response = _upload(marketer_client, campaign=campaign.pk, dry_run="true")

    assert (response.status_code, response.json()["status"]) == (200, "dry_run")
    assert Contact.objects.count() == 0


def test_it_refuses_bad_rows_with_400_and_the_lines(marketer_client, campaign):
    response = _upload(marketer_client, ONE_BAD, campaign=campaign.pk)

    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {"rows": ["line 3: email: Enter a valid email address."]}
    assert body["lead_import"]["status"] == "refused"
    assert body["lead_import"]["errors"] == [
        {"line": 3, "reason": "email: Enter a valid email address."}
    ]
    assert Contact.objects.count() == 0


def test_it_imports_the_good_rows_of_an_upload_in_partial_mode(marketer_client, campaign):
    response = _upload(marketer_client, ONE_BAD, campaign=campaign.pk, partial="true")

    assert (response.status_code, response.json()["status"]) == (201, "partial")
    assert Contact.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"campaign": "999999"}, {"campaign": ['Invalid pk "999999" - object does not exist.']}),
        (
            {"campaign": "{campaign}", "encoding": "latin-1"},
            {"encoding": ['"latin-1" is not a valid choice.']},
        ),
        ({"campaign": "{campaign}", "color": "red"}, {"color": ["Unknown field."]}),
        (
            {"campaign": "{campaign}", "content": b"\x00\x81 \xff"},
            {
                "file": [
                    "The file cannot be read as text: not utf-8 (line 1); not cp932 (line 1). "
                    "Save it as UTF-8 or Shift_JIS CSV."
                ]
            },
        ),
        (
            {"content": GOOD},
            {"campaign": ["Choose the campaign (the exhibition or event) the list comes from."]},
        ),
    ],
)
def test_it_refuses_a_bad_upload_with_field_messages(marketer_client, campaign, fields, errors):
    fields = {
        k: v.format(campaign=campaign.pk) if isinstance(v, str) else v for k, v in fields.items()
    }
    content = fields.pop("content", GOOD)

    response = _upload(marketer_client, content, **fields)

    assert (response.status_code, response.json()["errors"]) == (400, errors)
    assert LeadImport.objects.count() == 0


def test_it_refuses_a_missing_file(marketer_client, campaign):
    response = marketer_client.post(URL, {"campaign": campaign.pk}, format="multipart")

    assert (response.status_code, response.json()["errors"]) == (
        400,
        {"file": ["No file was submitted."]},
    )


def test_it_refuses_a_file_over_the_size_limit(marketer_client, campaign, settings):
    settings.FRONTOFFICE_LEAD_IMPORT_MAX_BYTES = 1024 * 1024

    response = _upload(marketer_client, GOOD + b"x@y.example,z\r\n" * 80_000, campaign=campaign.pk)

    assert (response.status_code, response.json()["errors"]) == (
        400,
        {"file": ["The file is larger than 1 MB."]},
    )
    assert LeadImport.objects.count() == 0


def test_it_lets_a_sales_rep_read_imports_but_not_upload(rep_client, campaign):
    assert _upload(rep_client, campaign=campaign.pk).status_code == 403
    assert rep_client.get(URL).status_code == 200


def test_it_lets_a_manager_upload_and_refuses_a_support_agent(
    manager_client, agent_client, campaign
):
    assert _upload(manager_client, campaign=campaign.pk).status_code == 201
    assert _upload(agent_client, campaign=campaign.pk).status_code == 403
    assert agent_client.get(URL).status_code == 403


def test_it_lists_filters_and_shows_imports(marketer_client, rep_client, campaign):
    other = CampaignFactory(name="Seminar")
    _upload(marketer_client, campaign=campaign.pk)
    _upload(marketer_client, ONE_BAD, campaign=other.pk)
    refused = LeadImport.objects.get(status="refused")

    by_campaign = rep_client.get(URL, {"campaign": other.pk}).json()["results"]
    by_status = rep_client.get(URL, {"status": "imported"}).json()["results"]
    oldest_first = rep_client.get(URL, {"ordering": "created_at"}).json()["results"]
    detail = rep_client.get(f"{URL}{refused.pk}/").json()

    assert [row["id"] for row in by_campaign] == [refused.pk]
    assert [row["status"] for row in by_status] == ["imported"]
    assert [row["status"] for row in oldest_first] == ["imported", "refused"]
    assert "errors" not in by_campaign[0]
    assert detail["errors"] == [{"line": 3, "reason": "email: Enter a valid email address."}]


def test_it_lists_imports_in_a_fixed_number_of_queries(
    rep_client, campaign, marketer, django_assert_max_num_queries
):
    for number in range(30):
        LeadImport.objects.create(
            campaign=campaign, file_name=f"{number}.csv", status="imported", created_by=marketer
        )

    with django_assert_max_num_queries(6):
        response = rep_client.get(URL)

    assert len(response.json()["results"]) == 30


# --- Admin --------------------------------------------------------------------------------------

CHANGELIST = "/admin/pipeline/leadimport/"
UPLOAD = "/admin/pipeline/leadimport/import/"


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _admin_upload(user, content: bytes, **fields):
    body = {
        "file": SimpleUploadedFile("visitors.csv", content),
        "encoding": "auto",
        "mapping": "standard",
        **fields,
    }
    return _browser(user).post(UPLOAD, body)


def test_it_shows_the_import_button_only_to_those_who_may_import(marketer, sales_rep):
    assert UPLOAD in _browser(marketer).get(CHANGELIST).content.decode()
    assert 'enctype="multipart/form-data"' in _browser(marketer).get(UPLOAD).content.decode()
    rep_page = _browser(sales_rep).get(CHANGELIST)
    assert rep_page.status_code == 200
    assert UPLOAD not in rep_page.content.decode()
    assert _browser(sales_rep).get(UPLOAD).status_code == 403


def test_it_imports_an_upload_in_the_admin(marketer, campaign):
    response = _admin_upload(marketer, GOOD, campaign=campaign.pk)

    assert response.status_code == 200
    assert "Lead import #" in response.content.decode()
    assert (LeadImport.objects.get().status, Contact.objects.count()) == ("imported", 2)


def test_it_offers_the_bad_rows_back_in_the_admin_in_partial_mode(marketer, campaign):
    response = _admin_upload(marketer, ONE_BAD, campaign=campaign.pk, partial="on")

    page = response.content.decode()
    assert "line 3" not in page  # shown as a table row: line number and reason
    assert "<td>3</td><td>email: Enter a valid email address.</td>" in page
    assert 'download="rejected-visitors.csv"' in page
    assert response.context["reject_file_url"].startswith("data:text/csv;charset=utf-8;base64,")


def test_it_shows_a_file_error_on_the_admin_form(marketer, campaign):
    response = _admin_upload(marketer, csv_bytes("badge", "1"), campaign=campaign.pk)

    assert response.context["form"].errors == {
        "file": ["No usable header: line 1 needs a column for email or phone (found: 'badge')."]
    }
    assert LeadImport.objects.count() == 0


def test_it_shows_a_run_with_its_bad_rows_read_only(admin_user, campaign):
    run = LeadImport.objects.create(
        campaign=campaign,
        file_name="visitors.csv",
        status="refused",
        errors=[{"line": 3, "reason": "email: Enter a valid email address."}],
    )

    page = _browser(admin_user).get(f"{CHANGELIST}{run.pk}/change/").content.decode()

    assert "<div>3: email: Enter a valid email address.</div>" in page
    assert 'name="_save"' not in page
