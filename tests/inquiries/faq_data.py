"""Inquiries for the FAQ tests: questions customers ask again and again (English and Japanese,
each set three ways of asking one thing), opened and answered through the real services."""

from __future__ import annotations

# ruff: noqa: RUF001 (Japanese text with full-width punctuation on purpose)
from datetime import UTC, datetime, timedelta

from inquiries import services
from inquiries.models import Inquiry, MessageDirection
from tests.factories import ContactFactory

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

PASSWORD = [
    "How do I reset my password?",
    "I forgot my password, how can I reset it?",
    "The password reset link does not work. How do I reset my password?",
    "Can't remember my password, I need to reset it",
]
DELIVERY = [
    "Where is my order? It has not arrived yet.",
    "My order hasn't arrived, where is it?",
    "Order still not delivered, where is my package?",
    "When will my order arrive?",
]
REFUND = [
    "How can I get a refund for my purchase?",
    "I want a refund for my order",
    "Refund request: how do I get my money back? I want a refund",
    "Please refund my purchase, how long does a refund take?",
]
JA_PASSWORD = [
    "パスワードを忘れてしまいました。再設定の方法を教えてください。",
    "パスワードの再設定はどうすればいいですか？",
    "パスワードを再設定したいのですが、方法がわかりません。",
    "ログインのパスワードを忘れたので再設定したいです。",
]
JA_DELIVERY = [
    "注文した商品がまだ届きません。いつ届きますか？",
    "注文した商品はいつ届きますか？",
    "先週注文した商品がまだ届いていません。",
]

PASSWORD_ANSWER = (
    "Open Settings > Security and choose Reset password; the link is valid for one hour."
)
DELIVERY_ANSWER = "You can follow your parcel with the tracking link in your shipping email."
REFUND_ANSWER = "Refunds go back to your card within five business days of our receiving the item."


def ask(
    question: str,
    *,
    at: datetime = T0,
    agent=None,
    answer: str = "",
    resolve_after: timedelta = timedelta(hours=2),
    category: str = "",
    reopen: bool = False,
) -> Inquiry:
    """An inquiry whose first message is `question`; with `agent` and `answer`, answered and
    resolved `resolve_after` later (and, with `reopen`, reopened by the customer and resolved
    again with the same answer)."""
    inquiry = services.inquiry_open(
        channel="chat",
        subject=question[:60],
        body=question,
        category=category,
        customer=services.Customer(contact=ContactFactory()),
        at=at,
    )
    if agent is None or not answer:
        return inquiry
    services.message_add(
        inquiry=inquiry,
        direction=MessageDirection.OUTBOUND,
        body=answer,
        author_user=agent,
        at=at + resolve_after / 2,
    )
    services.inquiry_move(inquiry=inquiry, to_status="resolved", actor=agent, at=at + resolve_after)
    if reopen:
        services.message_add(
            inquiry=inquiry,
            direction=MessageDirection.INBOUND,
            body="It still does not work.",
            author_contact=inquiry.contact,
            at=at + resolve_after + timedelta(minutes=10),
        )
        services.inquiry_move(
            inquiry=inquiry,
            to_status="resolved",
            actor=agent,
            at=at + resolve_after + timedelta(minutes=20),
        )
    return inquiry
