"""Inbound email (inquiries.email_in): decoding, threading, duplicates, automatic mail, the
quarantine and its admin."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from django.core import mail as django_mail
from django.test import Client

from accounts.models import Contact, Touchpoint
from frontoffice.errors import ApplicationError
from inquiries import email_in, services
from inquiries.email_in import EmailParseError, Outcome, email_receive, receive_email
from inquiries.models import (
    Inquiry,
    InquiryStatus,
    InquiryStatusChange,
    Message,
    MessageDirection,
    QuarantinedEmail,
)

pytestmark = pytest.mark.django_db

MAIL = Path(__file__).parent / "mail"
SUPPORT = "support@frontoffice.example"
FIRST_ID = "<first@kaisha.example>"


@pytest.fixture(autouse=True)
def _support_address(settings):
    settings.FRONTOFFICE_SUPPORT_EMAIL = f"Frontoffice Support <{SUPPORT}>"


def fixture(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def mail(
    *,
    sender: str = "Hanako Yamada <hanako@kaisha.example>",
    subject: str = "Invoice address",
    body: str = "Hello, please change the invoice address.",
    message_id: str | None = "<first@kaisha.example>",
    in_reply_to: str = "",
    references: str = "",
    headers: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg.as_bytes()


def receive(raw: bytes):
    return email_receive(raw=raw, source="webhook")


# --- Decoding -----------------------------------------------------------------------------------


def test_it_opens_an_inquiry_for_a_new_email_with_contact_message_and_timeline():
    received = receive(fixture("utf8_8bit.eml"))

    assert received.outcome == Outcome.OPENED
    inquiry = Inquiry.objects.get()
    contact = Contact.objects.get()
    message = Message.objects.get()
    assert (contact.email, contact.name) == ("hanako.yamada@kaisha.co.jp", "山田 花子")
    assert (inquiry.channel, inquiry.subject, inquiry.status, inquiry.contact) == (
        "email",
        "請求書の宛名変更について",
        "new",
        contact,
    )
    assert (message.direction, message.channel, message.author_contact, message.inquiry) == (
        "inbound",
        "email",
        contact,
        inquiry,
    )
    assert message.body == (
        "お世話になっております。\n請求書の宛名を変更したいのですが、可能でしょうか。\n\n山田 花子"
    )
    assert message.email_message_id == "<20260303091240.4411@kaisha.co.jp>"
    assert message.is_auto_reply is False
    assert received.message == message
    assert list(InquiryStatusChange.objects.values_list("from_status", "to_status")) == [
        ("", "new")
    ]
    touchpoint = Touchpoint.objects.get(contact=contact, kind="inquiry_message")
    assert touchpoint.channel == "email"
    assert message.touchpoint == touchpoint


@pytest.mark.parametrize(
    ("name", "sender", "subject", "body"),
    [
        (
            "iso2022jp.eml",
            ("佐藤 太郎", "taro.sato@example.jp"),
            "ログインできません",
            "いつもお世話になっております。\nログインできなくなりました。"
            "パスワードの再設定をお願いします。\n\n佐藤 太郎",
        ),
        (
            "shift_jis_qp.eml",
            ("鈴木 一郎", "suzuki@torihiki.example"),
            "見積書について",
            "見積書①の件でご連絡いたしました。\n納期を教えてください。\n鈴木",
        ),
        (
            "html_base64.eml",
            ("Émile Dupont", "emile@dupont.example"),
            "Commande abîmée",
            "Hello,\n\nOur order #4411 arrived damaged & incomplete.\n\nBest regards,\n"
            "Émile Dupont",
        ),
    ],
)
def test_it_decodes_each_encoding_of_body_subject_and_sender(name, sender, subject, body):
    message = receive_email(raw=fixture(name), source="webhook")

    assert (message.author_contact.name, message.author_contact.email) == sender
    assert (message.inquiry.subject, message.subject) == (subject, subject)
    assert message.body == body


def test_it_keeps_attachment_metadata_without_the_bytes_and_prefers_the_plain_text():
    message = receive_email(raw=fixture("multipart_attachments.eml"), source="webhook")

    assert message.attachments == [
        {"filename": "請求書.pdf", "content_type": "application/pdf", "size": 1016},
        {"filename": "screenshot.png", "content_type": "image/png", "size": 308},
    ]
    assert message.body == (
        "Hi,\nplease find the screenshot and the invoice attached. The total is 12,000 円.\nJohn"
    )


def test_it_turns_html_into_readable_text():
    html = "<p>One &lt;two&gt;</p><script>x()</script><ul><li>a</li><li>b</li></ul>"

    assert email_in.html_to_text(html) == "One <two>\n\na\n\nb"


# --- Duplicates ---------------------------------------------------------------------------------


def test_it_returns_the_stored_message_for_a_message_id_seen_before():
    first = receive(fixture("iso2022jp.eml"))

    again = receive(fixture("iso2022jp.eml"))

    assert again.outcome == Outcome.DUPLICATE
    assert again.message == first.message
    assert (Inquiry.objects.count(), Message.objects.count(), Touchpoint.objects.count()) == (
        1,
        1,
        1,
    )


def test_it_recognises_the_same_mail_without_a_message_id_by_its_content():
    raw = mail(message_id=None)
    first = receive(raw)

    again = receive(raw)

    assert again.outcome == Outcome.DUPLICATE
    assert again.message == first.message
    assert first.message.email_message_id.endswith("@no-message-id.invalid>")
    assert Message.objects.count() == 1


# --- Threading ----------------------------------------------------------------------------------


def test_it_threads_a_reply_by_in_reply_to():
    first = receive(mail())

    reply = receive(
        mail(
            subject="Re: Invoice address",
            message_id="<second@kaisha.example>",
            in_reply_to="<first@kaisha.example>",
        )
    )

    assert reply.outcome == Outcome.THREADED
    assert reply.message.inquiry == first.message.inquiry
    assert (reply.message.in_reply_to, reply.message.references) == ("<first@kaisha.example>", "")
    assert Inquiry.objects.count() == 1


def test_it_threads_a_reply_to_our_own_outbound_message_id(support_agent):
    first = receive(mail())
    inquiry = first.message.inquiry
    outbound = services.message_add(
        inquiry=inquiry,
        direction=MessageDirection.OUTBOUND,
        body="We changed it.",
        author_user=support_agent,
        email_message_id="<reply.1@frontoffice.example>",
    )

    reply = receive(
        mail(
            message_id="<third@kaisha.example>",
            in_reply_to="<reply.1@frontoffice.example>",
            references="<first@kaisha.example> <reply.1@frontoffice.example>",
        )
    )

    assert reply.outcome == Outcome.THREADED
    assert reply.message.inquiry == outbound.inquiry
    assert reply.message.references == "<first@kaisha.example> <reply.1@frontoffice.example>"


def test_it_threads_by_references_when_in_reply_to_is_unknown():
    first = receive(mail())

    reply = receive(
        mail(
            message_id="<later@kaisha.example>",
            in_reply_to="<unknown@elsewhere.example>",
            references="<root@elsewhere.example> <first@kaisha.example>",
        )
    )

    assert reply.outcome == Outcome.THREADED
    assert reply.message.inquiry == first.message.inquiry


def test_it_threads_by_the_subject_token_of_the_senders_own_inquiry():
    first = receive(mail())
    inquiry = first.message.inquiry

    reply = receive(
        mail(
            sender="HANAKO@kaisha.example",
            subject=f"Re: Invoice address [#{inquiry.pk}]",
            message_id="<no-headers@kaisha.example>",
        )
    )

    assert reply.outcome == Outcome.THREADED
    assert reply.message.inquiry == inquiry


def test_it_opens_a_new_inquiry_for_the_token_of_someone_elses_inquiry():
    victim = receive(mail()).message.inquiry

    attempt = receive(
        mail(
            sender="Mallory <mallory@evil.example>",
            subject=f"Re: Invoice address [#{victim.pk}]",
            message_id="<hijack@evil.example>",
        )
    )

    assert attempt.outcome == Outcome.OPENED
    assert attempt.message.inquiry != victim
    assert attempt.message.inquiry.subject == "Re: Invoice address"
    assert attempt.message.inquiry.contact.email == "mallory@evil.example"
    assert victim.messages.count() == 1


def test_it_opens_a_new_inquiry_when_the_thread_is_closed(support_agent):
    first = receive(mail()).message.inquiry
    services.inquiry_move(inquiry=first, to_status=InquiryStatus.RESOLVED, actor=support_agent)
    services.inquiry_move(inquiry=first, to_status=InquiryStatus.CLOSED, actor=support_agent)

    reply = receive(mail(message_id="<after-close@kaisha.example>", in_reply_to=FIRST_ID))

    assert reply.outcome == Outcome.OPENED
    assert reply.message.inquiry != first
    assert reply.message.inquiry.contact == first.contact
    assert first.messages.count() == 1


def test_it_reopens_a_pending_inquiry_when_the_customer_writes_again(support_agent):
    inquiry = receive(mail()).message.inquiry
    services.inquiry_move(inquiry=inquiry, to_status=InquiryStatus.PENDING, actor=support_agent)

    receive(mail(message_id="<again@kaisha.example>", in_reply_to=FIRST_ID))

    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.OPEN
    change = inquiry.status_changes.first()
    assert (change.from_status, change.to_status, change.note) == (
        "pending",
        "open",
        "the customer wrote again",
    )


# --- Automatic mail -----------------------------------------------------------------------------


def test_it_stores_an_out_of_office_reply_on_the_thread_without_reopening_or_answering(
    support_agent,
):
    inquiry = receive(fixture("utf8_8bit.eml")).message.inquiry
    services.inquiry_move(inquiry=inquiry, to_status=InquiryStatus.PENDING, actor=support_agent)
    changes_before = InquiryStatusChange.objects.count()
    raw = fixture("out_of_office.eml").replace(
        b"Auto-Submitted", b"In-Reply-To: <20260303091240.4411@kaisha.co.jp>\r\nAuto-Submitted"
    )

    received = receive(raw)

    assert received.outcome == Outcome.THREADED
    assert received.message.inquiry == inquiry
    assert received.message.is_auto_reply is True
    assert received.message.body == (
        "3月16日まで不在にしております。\nI am out of the office until March 16."
    )
    inquiry.refresh_from_db()
    assert inquiry.status == InquiryStatus.PENDING
    assert InquiryStatusChange.objects.count() == changes_before
    assert Message.objects.filter(direction=MessageDirection.OUTBOUND).count() == 0
    assert django_mail.outbox == []


@pytest.mark.parametrize(
    ("sender", "headers"),
    [
        ("a@kaisha.example", {"Auto-Submitted": "auto-generated"}),
        ("a@kaisha.example", {"X-Autoreply": "yes"}),
        ("a@kaisha.example", {"X-Autorespond": "Out of office"}),
        ("a@kaisha.example", {"Precedence": "bulk"}),
        ("a@kaisha.example", {"Precedence": "junk"}),
        ("a@kaisha.example", {"Precedence": "list"}),
        ("a@kaisha.example", {"Precedence": "auto_reply"}),
        ("a@kaisha.example", {"Return-Path": "<>"}),
        ("a@kaisha.example", {"X-Loop": SUPPORT}),
        (f"Us <{SUPPORT.upper()}>", {}),
        ("MAILER-DAEMON@mx.kaisha.example", {}),
        ("postmaster@kaisha.example", {}),
    ],
)
def test_it_recognises_automatic_mail_and_mail_loops(sender, headers):
    message = receive_email(raw=mail(sender=sender, headers=headers), source="webhook")

    assert message.is_auto_reply is True


@pytest.mark.parametrize(
    "headers",
    [{"Auto-Submitted": "no"}, {"Precedence": "first-class"}, {"X-Loop": "other@list.example"}],
)
def test_it_treats_mail_a_person_sent_as_a_person_s_mail(headers):
    message = receive_email(raw=mail(headers=headers), source="webhook")

    assert message.is_auto_reply is False


def test_it_stores_a_bounce_as_automatic_with_its_report_as_attachment_metadata():
    message = receive_email(raw=fixture("bounce.eml"), source="webhook")

    assert message.is_auto_reply is True
    assert message.body.startswith("I'm sorry to have to inform you")
    assert message.attachments == [
        {"filename": "", "content_type": "message/delivery-status", "size": 112}
    ]


# --- Quarantine ---------------------------------------------------------------------------------


def _nothing_stored() -> tuple[int, int, int]:
    return Inquiry.objects.count(), Message.objects.count(), Contact.objects.count()


def test_it_quarantines_malformed_mime_raw_with_the_reason():
    raw = fixture("malformed_multipart.eml")

    received = email_receive(raw=raw, source="imap")

    assert received.outcome == Outcome.QUARANTINED
    item = QuarantinedEmail.objects.get()
    assert received.quarantined == item
    assert (bytes(item.raw), item.source, item.status) == (raw, "imap", "pending")
    assert item.error == "Malformed MIME: StartBoundaryNotFoundDefect."
    assert _nothing_stored() == (0, 0, 0)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"just some bytes\r\nwithout headers", "No usable sender address in From."),
        (mail(sender="Nobody"), "No usable sender address in From."),
        (mail(sender="broken@nodot"), "email: Enter a valid email address."),
        (b"   \r\n", "The message is empty."),
    ],
)
def test_it_quarantines_mail_without_a_usable_sender(raw, error):
    received = receive(raw)

    assert received.outcome == Outcome.QUARANTINED
    assert received.message is None
    item = QuarantinedEmail.objects.get()
    assert (bytes(item.raw), item.error) == (raw, error)
    assert _nothing_stored() == (0, 0, 0)


def test_it_refuses_an_unknown_source():
    with pytest.raises(ApplicationError) as caught:
        email_receive(raw=mail(), source="fax")

    assert caught.value.errors == {"source": ["'fax' is not one of webhook, imap."]}
    assert QuarantinedEmail.objects.count() == 0


def _quarantined_by_a_parser_bug(monkeypatch) -> QuarantinedEmail:
    real_parse = email_in.parse_email

    def broken(raw):
        raise EmailParseError("Unreadable message: KeyError: 'charset'")

    monkeypatch.setattr(email_in, "parse_email", broken)
    received = receive(fixture("shift_jis_qp.eml"))
    monkeypatch.setattr(email_in, "parse_email", real_parse)
    return received.quarantined


def test_it_reprocesses_a_quarantined_email_after_the_fix(monkeypatch, admin_user):
    item = _quarantined_by_a_parser_bug(monkeypatch)
    assert item.error == "Unreadable message: KeyError: 'charset'"

    result = email_in.quarantine_reprocess(item=item, actor=admin_user)

    message = Message.objects.get()
    item.refresh_from_db()
    assert (item.status, item.message, item.reprocessed_by) == ("reprocessed", message, admin_user)
    assert item.reprocessed_at is not None
    assert result.status == "reprocessed"
    assert message.body == "見積書①の件でご連絡いたしました。\n納期を教えてください。\n鈴木"
    assert message.inquiry.subject == "見積書について"


def test_it_keeps_a_still_unreadable_email_pending_with_the_new_error(admin_user):
    item = receive(fixture("malformed_multipart.eml")).quarantined
    QuarantinedEmail.objects.filter(pk=item.pk).update(error="old error")
    item.refresh_from_db()

    result = email_in.quarantine_reprocess(item=item, actor=admin_user)

    item.refresh_from_db()
    assert (item.status, item.error, item.message) == (
        "pending",
        "Malformed MIME: StartBoundaryNotFoundDefect.",
        None,
    )
    assert result.status == "pending"
    assert _nothing_stored() == (0, 0, 0)


def test_it_refuses_to_reprocess_an_email_twice(monkeypatch, admin_user):
    item = _quarantined_by_a_parser_bug(monkeypatch)
    email_in.quarantine_reprocess(item=item, actor=admin_user)

    with pytest.raises(ApplicationError) as caught:
        email_in.quarantine_reprocess(item=item, actor=admin_user)

    assert caught.value.errors == {"status": ["This email was already reprocessed."]}
    assert Message.objects.count() == 1


def test_it_discards_a_quarantined_email_and_keeps_its_raw(admin_user):
    item = receive(fixture("malformed_multipart.eml")).quarantined

    email_in.quarantine_discard(item=item, actor=admin_user)

    item.refresh_from_db()
    assert (item.status, item.reprocessed_by) == ("discarded", admin_user)
    assert bytes(item.raw) == fixture("malformed_multipart.eml")


# --- Admin --------------------------------------------------------------------------------------


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_lists_quarantined_emails_without_a_query_per_row(
    admin_user, django_assert_max_num_queries
):
    for _ in range(30):
        receive(fixture("malformed_multipart.eml"))
    browser = _browser(admin_user)

    with django_assert_max_num_queries(12):
        response = browser.get("/admin/inquiries/quarantinedemail/")

    assert response.status_code == 200
    assert response.content.count(b"Malformed MIME: StartBoundaryNotFoundDefect.") == 30


def test_it_shows_the_raw_message_read_only_in_the_admin(admin_user):
    item = receive(fixture("malformed_multipart.eml")).quarantined

    response = _browser(admin_user).get(f"/admin/inquiries/quarantinedemail/{item.pk}/change/")

    assert response.status_code == 200
    assert b"where is my boundary?" in response.content
    assert b'name="_save"' not in response.content


def test_it_reprocesses_and_discards_from_the_admin_actions(monkeypatch, admin_user):
    fixed = _quarantined_by_a_parser_bug(monkeypatch)
    junk = receive(fixture("malformed_multipart.eml")).quarantined
    browser = _browser(admin_user)

    browser.post(
        "/admin/inquiries/quarantinedemail/",
        {"action": "reprocess_selected", "_selected_action": [fixed.pk]},
    )
    browser.post(
        "/admin/inquiries/quarantinedemail/",
        {"action": "discard_selected", "_selected_action": [junk.pk]},
    )

    fixed.refresh_from_db()
    junk.refresh_from_db()
    assert (fixed.status, fixed.reprocessed_by) == ("reprocessed", admin_user)
    assert (junk.status, junk.reprocessed_by) == ("discarded", admin_user)
    assert Message.objects.get() == fixed.message


def test_it_offers_no_reprocessing_to_a_manager_who_may_only_view(manager):
    item = receive(fixture("malformed_multipart.eml")).quarantined
    browser = _browser(manager)

    listing = browser.get("/admin/inquiries/quarantinedemail/")
    browser.post(
        "/admin/inquiries/quarantinedemail/",
        {"action": "reprocess_selected", "_selected_action": [item.pk]},
    )

    assert listing.status_code == 200
    assert b"reprocess_selected" not in listing.content
    item.refresh_from_db()
    assert item.status == "pending"
