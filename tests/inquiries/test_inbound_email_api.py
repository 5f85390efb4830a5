"""POST /api/v1/inbound/email/: a mail server's inbound hook posts raw email with a shared key."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.models import Contact
from inquiries.models import Inquiry, Message, QuarantinedEmail

pytestmark = pytest.mark.django_db

URL = "/api/v1/inbound/email/"
KEY = "inbound-key-0123456789abcdef"
MAIL = Path(__file__).parent / "mail"


@pytest.fixture(autouse=True)
def _inbound_key(settings):
    settings.FRONTOFFICE_INBOUND_EMAIL_KEY = KEY
    settings.FRONTOFFICE_SUPPORT_EMAIL = "support@frontoffice.example"


def fixture(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def post(client: APIClient, raw: bytes, *, key: str | None = KEY, content_type="message/rfc822"):
    headers = {"HTTP_X_INBOUND_KEY": key} if key is not None else {}
    return client.generic("POST", URL, raw, content_type=content_type, **headers)


def stored() -> tuple[int, int, int, int]:
    return (
        Inquiry.objects.count(),
        Message.objects.count(),
        Contact.objects.count(),
        QuarantinedEmail.objects.count(),
    )


def test_it_opens_an_inquiry_from_a_raw_message(api_client):
    response = post(api_client, fixture("iso2022jp.eml"))

    assert response.status_code == 202
    message = Message.objects.get()
    assert response.json() == {
        "status": "opened",
        "inquiry": message.inquiry_id,
        "message": message.pk,
        "quarantine": None,
    }
    assert message.inquiry.subject == "ログインできません"
    assert message.author_contact.email == "taro.sato@example.jp"


def test_it_threads_a_reply_and_recognises_a_duplicate(api_client):
    first = post(api_client, fixture("utf8_8bit.eml")).json()
    reply = EmailMessage()
    reply["From"] = "hanako.yamada@kaisha.co.jp"
    reply["To"] = "support@frontoffice.example"
    reply["Subject"] = "Re: 請求書の宛名変更について"
    reply["Message-ID"] = "<reply@kaisha.co.jp>"
    reply["In-Reply-To"] = "<20260303091240.4411@kaisha.co.jp>"
    reply.set_content("追伸: 郵便番号も変わりました。")

    threaded = post(api_client, reply.as_bytes())
    duplicate = post(api_client, reply.as_bytes())

    assert (threaded.status_code, duplicate.status_code) == (202, 202)
    message = Message.objects.get(email_message_id="<reply@kaisha.co.jp>")
    expected = {"inquiry": first["inquiry"], "message": message.pk, "quarantine": None}
    assert threaded.json() == {"status": "threaded", **expected}
    assert duplicate.json() == {"status": "duplicate", **expected}
    assert stored() == (1, 2, 1, 0)


def test_it_quarantines_an_unreadable_message_and_still_accepts_it(api_client):
    raw = fixture("malformed_multipart.eml")

    response = post(api_client, raw)

    assert response.status_code == 202
    item = QuarantinedEmail.objects.get()
    assert response.json() == {
        "status": "quarantined",
        "inquiry": None,
        "message": None,
        "quarantine": item.pk,
    }
    assert (bytes(item.raw), item.source, item.status) == (raw, "webhook", "pending")
    assert stored() == (0, 0, 0, 1)


def test_it_accepts_application_octet_stream(api_client):
    response = post(
        api_client, fixture("shift_jis_qp.eml"), content_type="application/octet-stream"
    )

    assert response.status_code == 202
    assert response.json()["status"] == "opened"
    assert Message.objects.get().body.startswith("見積書①の件で")


def test_it_accepts_the_message_as_a_multipart_form_file(api_client):
    upload = SimpleUploadedFile("mail.eml", fixture("html_base64.eml"), "message/rfc822")

    response = api_client.post(URL, {"message": upload}, format="multipart", HTTP_X_INBOUND_KEY=KEY)

    assert response.status_code == 202
    assert Inquiry.objects.get().subject == "Commande abîmée"


def test_it_refuses_a_form_without_the_message_field(api_client):
    response = api_client.post(URL, {"other": "x"}, format="multipart", HTTP_X_INBOUND_KEY=KEY)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "No message.",
        "errors": {
            "message": ["Send the raw message as the body, or in the form field `message`."]
        },
    }
    assert stored() == (0, 0, 0, 0)


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY + "x"])
def test_it_refuses_a_missing_or_wrong_key_and_stores_nothing(api_client, key):
    response = post(api_client, fixture("iso2022jp.eml"), key=key)

    assert response.status_code == 403
    assert response.json() == {"detail": "Unknown inbound key.", "errors": {}}
    assert stored() == (0, 0, 0, 0)


def test_it_refuses_everything_when_no_key_is_configured(api_client, settings):
    settings.FRONTOFFICE_INBOUND_EMAIL_KEY = ""

    response = post(api_client, fixture("iso2022jp.eml"), key="")

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Inbound email is switched off (FRONTOFFICE_INBOUND_EMAIL_KEY is empty).",
        "errors": {},
    }
    assert stored() == (0, 0, 0, 0)


def test_it_refuses_a_message_above_the_size_cap_with_413(api_client, settings):
    settings.FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES = 500
    raw = fixture("multipart_attachments.eml")
    assert len(raw) > 500

    response = post(api_client, raw)

    assert response.status_code == 413
    assert response.json() == {"detail": "The message is larger than 500 bytes.", "errors": {}}
    assert stored() == (0, 0, 0, 0)


def test_it_refuses_a_form_upload_above_the_size_cap_with_413(api_client, settings):
    settings.FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES = 500
    upload = SimpleUploadedFile("mail.eml", b"x" * 400 + fixture("iso2022jp.eml"))

    response = api_client.post(URL, {"message": upload}, format="multipart", HTTP_X_INBOUND_KEY=KEY)

    assert response.status_code == 413
    assert stored() == (0, 0, 0, 0)


def test_it_accepts_a_message_right_at_the_size_cap(api_client, settings):
    raw = fixture("iso2022jp.eml")
    settings.FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES = len(raw)

    response = post(api_client, raw)

    assert response.status_code == 202


@pytest.mark.parametrize("raw", [b"", b"  \r\n "])
def test_it_refuses_an_empty_body_with_a_field_error(api_client, raw):
    response = post(api_client, raw)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The message is empty.",
        "errors": {"message": ["The message is empty."]},
    }
    assert stored() == (0, 0, 0, 0)


def test_it_refuses_json_with_415(api_client):
    response = post(api_client, b'{"message": "hi"}', content_type="application/json")

    assert response.status_code == 415
    assert response.json()["detail"] == 'Unsupported media type "application/json" in request.'
    assert stored() == (0, 0, 0, 0)


def test_it_needs_no_session_or_csrf_token(support_agent):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(support_agent)

    response = post(browser, fixture("iso2022jp.eml"))

    assert response.status_code == 202


def test_it_throttles_by_client_address(api_client, settings):
    from rest_framework.throttling import ScopedRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "inbound_email": "2/minute"}
    raws = [fixture("iso2022jp.eml"), fixture("utf8_8bit.eml"), fixture("shift_jis_qp.eml")]

    with mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", rates):
        statuses = [post(api_client, raw).status_code for raw in raws]

    assert statuses == [202, 202, 429]
    assert Inquiry.objects.count() == 2


def test_it_is_in_the_openapi_schema(api_client, admin_client_api):
    response = admin_client_api.get("/api/schema/", HTTP_ACCEPT="application/json")

    operation = response.json()["paths"]["/api/v1/inbound/email/"]["post"]
    assert sorted(operation["requestBody"]["content"]) == [
        "application/octet-stream",
        "message/rfc822",
        "multipart/form-data",
    ]
    assert sorted(operation["responses"]) == ["202", "400", "403", "413", "415", "429"]
