"""Agents' email replies through a real SMTP conversation (an aiosmtpd server in the test):
threading headers, the subject token, X-Loop, once-only delivery, transient and permanent
failures."""

from __future__ import annotations

import email
import email.policy
import socket
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from inquiries import email_out, services, tasks
from inquiries.email_in import Outcome, email_receive
from inquiries.email_out import TransientEmailError, reply_subject, send_reply_email
from inquiries.models import Inquiry, Message, MessageDirection
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

SUPPORT = "support@frontoffice.example"
CUSTOMER = "hanako.yamada@kaisha.co.jp"


class Recorder:
    """Keeps every message the server accepted; optionally refuses recipients."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.refuse_with = ""
        self.refusals_left: int | None = None  # refuse only this many times
        self.recipient_attempts = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.recipient_attempts += 1
        if self.refuse_with and self.refusals_left != 0:
            if self.refusals_left is not None:
                self.refusals_left -= 1
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=email.policy.default)
            for envelope in self.envelopes
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(settings):
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.FRONTOFFICE_SUPPORT_EMAIL = f"Frontoffice Support <{SUPPORT}>"
    yield recorder
    controller.stop()


def customer_mail(
    *, message_id: str, subject: str = "請求書の宛名変更について", in_reply_to: str = ""
) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"山田 花子 <{CUSTOMER}>"
    msg["To"] = SUPPORT
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    msg.set_content("宛名を変更してください。")
    return msg.as_bytes()


def reply(inquiry: Inquiry, author, body: str, django_capture_on_commit_callbacks) -> Message:
    with django_capture_on_commit_callbacks(execute=True):
        message = services.inquiry_reply(inquiry=inquiry, body=body, author=author)
    message.refresh_from_db()
    return message


def test_it_sends_an_agents_reply_threaded_on_the_customers_mail(
    smtp, support_agent, django_capture_on_commit_callbacks
):
    inbound = email_receive(raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook")
    inquiry = inbound.message.inquiry

    sent = reply(
        inquiry, support_agent, "承知しました。変更いたします。", django_capture_on_commit_callbacks
    )

    assert sent.delivery == "sent"
    assert sent.email_message_id.endswith("@frontoffice.example>")
    (envelope,) = smtp.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == (SUPPORT, [CUSTOMER])
    (received,) = smtp.messages()
    # Django folds a long encoded subject onto a continuation line: unfold as mail programs do.
    assert received["Subject"].strip() == f"Re: 請求書の宛名変更について [#{inquiry.pk}]"
    assert received["From"] == f"Frontoffice Support <{SUPPORT}>"
    assert received["To"] == CUSTOMER
    assert received["Message-ID"] == sent.email_message_id
    assert received["In-Reply-To"] == "<q1@kaisha.co.jp>"
    assert received["References"] == "<q1@kaisha.co.jp>"
    assert received["X-Loop"] == SUPPORT
    assert received["Auto-Submitted"] is None
    assert received.get_content().strip() == "承知しました。変更いたします。"


def test_it_references_the_whole_chain_and_keeps_one_re_in_the_subject(
    smtp, support_agent, django_capture_on_commit_callbacks
):
    first = email_receive(raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook")
    inquiry = first.message.inquiry
    answer = reply(inquiry, support_agent, "Which address?", django_capture_on_commit_callbacks)
    again = email_receive(
        raw=customer_mail(
            message_id="<q2@kaisha.co.jp>",
            subject=f"Re: 請求書の宛名変更について [#{inquiry.pk}]",
            in_reply_to=answer.email_message_id,
        ),
        source="webhook",
    )
    assert again.outcome == Outcome.THREADED
    inquiry.refresh_from_db()

    second = reply(inquiry, support_agent, "Done.", django_capture_on_commit_callbacks)

    received = smtp.messages()[-1]
    # Django folds a long encoded subject onto a continuation line: unfold as mail programs do.
    assert received["Subject"].strip() == f"Re: 請求書の宛名変更について [#{inquiry.pk}]"
    assert received["Message-ID"] == second.email_message_id
    assert received["In-Reply-To"] == "<q2@kaisha.co.jp>"
    assert (
        received["References"] == f"<q1@kaisha.co.jp> {answer.email_message_id} <q2@kaisha.co.jp>"
    )


def test_it_threads_the_customers_answer_to_our_mail_back_onto_the_inquiry(
    smtp, support_agent, django_capture_on_commit_callbacks
):
    inquiry = email_receive(
        raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook"
    ).message.inquiry
    reply(inquiry, support_agent, "Which address?", django_capture_on_commit_callbacks)
    ours = smtp.messages()[0]
    answer = EmailMessage()
    answer["From"] = CUSTOMER
    answer["To"] = SUPPORT
    answer["Subject"] = "Re: " + ours["Subject"]
    answer["Message-ID"] = "<answer@kaisha.co.jp>"
    answer["In-Reply-To"] = ours["Message-ID"]
    answer["References"] = f"{ours['References']} {ours['Message-ID']}"
    answer.set_content("The Osaka office, please.")

    received = email_receive(raw=answer.as_bytes(), source="imap")

    assert received.outcome == Outcome.THREADED
    assert received.message.inquiry == inquiry


def test_it_sends_a_reply_once_however_often_the_task_runs(
    smtp, support_agent, django_capture_on_commit_callbacks
):
    inquiry = email_receive(
        raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook"
    ).message.inquiry
    sent = reply(inquiry, support_agent, "Done.", django_capture_on_commit_callbacks)

    again = send_reply_email(message_id=sent.pk)

    assert again == "already sent"
    assert len(smtp.envelopes) == 1
    sent.refresh_from_db()
    assert sent.delivery == "sent"


def test_it_marks_a_failed_delivery_and_retries_it_when_the_server_was_unreachable(
    smtp, settings, support_agent
):
    inquiry = email_receive(
        raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook"
    ).message.inquiry
    message = services.inquiry_reply(inquiry=inquiry, body="Done.", author=support_agent)
    port = settings.EMAIL_PORT
    settings.EMAIL_PORT = free_port()  # nobody listens there

    with pytest.raises(TransientEmailError):
        send_reply_email(message_id=message.pk)

    message.refresh_from_db()
    assert message.delivery == "failed"
    first_id = message.email_message_id
    settings.EMAIL_PORT = port
    assert send_reply_email(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.delivery, message.email_message_id) == ("sent", first_id)
    (received,) = smtp.messages()
    assert received["Message-ID"] == first_id


def test_it_marks_a_refused_recipient_failed_without_a_retry(smtp, support_agent):
    inquiry = email_receive(
        raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook"
    ).message.inquiry
    message = services.inquiry_reply(inquiry=inquiry, body="Done.", author=support_agent)
    smtp.refuse_with = "550 5.1.1 No such user"

    result = send_reply_email(message_id=message.pk)

    assert result.startswith("failed: SMTPRecipientsRefused")
    message.refresh_from_db()
    assert message.delivery == "failed"
    assert smtp.envelopes == []


def test_it_retries_a_recipient_the_server_defers(smtp, support_agent):
    inquiry = email_receive(
        raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook"
    ).message.inquiry
    message = services.inquiry_reply(inquiry=inquiry, body="Done.", author=support_agent)
    smtp.refuse_with = "451 4.7.1 Greylisted, try again later"

    with pytest.raises(TransientEmailError):
        send_reply_email(message_id=message.pk)

    message.refresh_from_db()
    assert message.delivery == "failed"


def test_it_is_retried_by_the_task_until_the_server_takes_it(smtp, support_agent, monkeypatch):
    from frontoffice.celery import app

    # Eager retries run in place only when task errors are not re-raised at once.
    monkeypatch.setitem(app.conf, "task_eager_propagates", False)
    inquiry = email_receive(
        raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook"
    ).message.inquiry
    message = services.inquiry_reply(inquiry=inquiry, body="Done.", author=support_agent)
    smtp.refuse_with, smtp.refusals_left = "451 4.7.1 Greylisted, try again later", 2

    result = tasks.send_email_reply.apply(args=[message.pk])

    assert result.get() == "sent"
    assert smtp.recipient_attempts == 3
    assert len(smtp.envelopes) == 1
    assert Message.objects.get(pk=message.pk).delivery == "sent"


def test_it_does_not_send_messages_that_are_not_email_replies(smtp, support_agent):
    contact = ContactFactory(email=CUSTOMER)
    inquiry = services.inquiry_open(
        channel="phone", subject="Call", customer=services.Customer(contact=contact), body="Hi"
    )
    message = services.inquiry_reply(inquiry=inquiry, body="Called back.", author=support_agent)

    assert send_reply_email(message_id=message.pk) == "not an email reply"
    assert smtp.envelopes == []
    assert Message.objects.get(pk=message.pk).delivery == ""


def test_it_marks_a_reply_failed_when_the_contact_has_no_email(smtp, support_agent):
    inquiry = email_receive(
        raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook"
    ).message.inquiry
    message = services.inquiry_reply(inquiry=inquiry, body="Done.", author=support_agent)
    type(inquiry.contact).objects.filter(pk=inquiry.contact_id).update(email="")

    assert send_reply_email(message_id=message.pk) == "failed: the contact has no email address"
    assert Message.objects.get(pk=message.pk).delivery == "failed"
    assert smtp.envelopes == []


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Invoice", "Re: Invoice [#7]"),
        ("Re: Invoice", "Re: Invoice [#7]"),
        ("RE: Re: Fwd: Invoice [#7]", "Re: Invoice [#7]"),
        ("AW:  Rechnung", "Re: Rechnung [#7]"),
    ],
)
def test_it_builds_the_reply_subject_with_one_re_and_one_token(subject, expected):
    assert reply_subject(Inquiry(pk=7, subject=subject)) == expected


def test_it_leaves_the_direction_check_to_outbound_messages_only(smtp):
    inbound = email_receive(raw=customer_mail(message_id="<q1@kaisha.co.jp>"), source="webhook")

    assert email_out.send_reply_email(message_id=inbound.message.pk) == "not an email reply"
    assert inbound.message.direction == MessageDirection.INBOUND
