"""The question and answer the FAQ miner reads: quoted threads, signatures and greetings
removed, in English and Japanese mail and chat conventions."""

# ruff: noqa: RUF001 (Japanese text with full-width punctuation on purpose)
from __future__ import annotations

import pytest

from inquiries.faq.cleaning import clean_answer, clean_question, fold


def test_it_drops_the_greeting_the_signature_and_the_gmail_quote():
    text = (
        "Hi team,\n\n"
        "I can't log in to my account since yesterday.\n"
        "It says my password is wrong.\n\n"
        "Thanks in advance!\n"
        "John Smith\n"
        "Acme Corp | +1 555 0100\n\n"
        "On Mon, 12 Jan 2026 at 10:02, Support <support@example.com> wrote:\n"
        "> Dear John,\n"
        "> your ticket was closed.\n"
    )

    assert clean_question(text) == (
        "I can't log in to my account since yesterday. It says my password is wrong."
    )


def test_it_drops_a_quote_header_that_wraps_before_wrote():
    text = (
        "Where is my parcel?\n\n"
        "On Mon, Jan 12, 2026 at 10:02 AM Frontoffice Support <\n"
        "support@example.com> wrote:\n"
        "> We shipped it.\n"
    )

    assert clean_question(text) == "Where is my parcel?"


def test_it_drops_an_outlook_header_block_and_what_follows():
    text = (
        "Can you refund my order #123?\n\n"
        "________________________________\n"
        "From: Support <support@example.com>\n"
        "Sent: Monday, January 12, 2026 10:02 AM\n"
        "To: me\n"
        "Subject: Re: refund\n\n"
        "We received your request.\n"
    )

    assert clean_question(text) == "Can you refund my order #123?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Hello, how do I change my address? Thanks!\n--\nJane Doe\n",
            "how do I change my address?",
        ),
        ("Why was I charged twice?\n\nSent from my iPhone", "Why was I charged twice?"),
        (
            "Dear Support,\nMy card was declined at the shop.\nBest regards,\nKen Sato\nSales",
            "My card was declined at the shop.",
        ),
        (
            "Good morning\nThe app crashes when I open my statement.",
            "The app crashes when I open my statement.",
        ),
        ("> old question\nThe new question is about fees.", "The new question is about fees."),
        (
            "Thanks for the quick fix, but the export still fails.",
            "Thanks for the quick fix, but the export still fails.",
        ),
    ],
)
def test_it_cleans_english_messages(text, expected):
    assert clean_question(text) == expected


def test_it_drops_japanese_greeting_introduction_closing_signature_and_quote():
    text = (
        "お世話になっております。\n"
        "株式会社サンプルの山田です。\n\n"
        "パスワードを忘れてしまい、ログインできません。\n"
        "再設定の方法を教えてください。\n\n"
        "よろしくお願いいたします。\n"
        "━━━━━━━━━━━━━━━━\n"
        "株式会社サンプル 営業部\n"
        "山田 太郎\n"
        "TEL: 03-1234-5678\n"
        "━━━━━━━━━━━━━━━━\n\n"
        "2026年1月12日(月) 10:02 サポート <support@example.jp>:\n"
        "> 山田様\n"
        "> お問い合わせありがとうございます。\n"
    )

    assert clean_question(text) == (
        "パスワードを忘れてしまい、ログインできません。 再設定の方法を教えてください。"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "ご担当者様\n\nいつもお世話になっております。注文した商品がまだ届きません。"
            "いつ届きますか？よろしくお願いします。\n\niPhoneから送信",
            "注文した商品がまだ届きません。いつ届きますか？",
        ),
        (
            "返品の送料はかかりますか？\n\n山田太郎さんは書きました:\n"
            "> ご注文ありがとうございます。",
            "返品の送料はかかりますか？",
        ),
        (
            "はじめまして。鈴木と申します。請求書の宛名を変更できますか？",
            "請求書の宛名を変更できますか？",
        ),
        (
            "領収書を発行してください。\n以上、よろしくお願いいたします。\n鈴木",
            "領収書を発行してください。",
        ),
        (
            "解約したいです。\n\n-----Original Message-----\nFrom: support@example.jp\n前回の件",
            "解約したいです。",
        ),
    ],
)
def test_it_cleans_japanese_messages(text, expected):
    assert clean_question(text) == expected


def test_it_keeps_the_answers_paragraphs_without_the_personal_greeting_and_signature():
    text = (
        "Hi John,\n\n"
        "You can reset your password at https://example.com/reset.\n"
        "Then sign in again.\n\n\n"
        "If that fails, write to us.\n\n"
        "Best regards,\n"
        "Support team\n"
        "Example Inc.\n\n"
        "On Mon, 12 Jan 2026 at 10:02, John <john@example.com> wrote:\n"
        "> I can't log in\n"
    )

    assert clean_answer(text) == (
        "You can reset your password at https://example.com/reset.\n"
        "Then sign in again.\n\n"
        "If that fails, write to us."
    )


def test_it_keeps_a_japanese_answer_without_the_addressee_and_closing():
    text = (
        "山田様\n\nお問い合わせありがとうございます。\n設定画面から再設定できます。\n\n"
        "よろしくお願いいたします。\nサポート"
    )

    assert clean_answer(text) == "お問い合わせありがとうございます。\n設定画面から再設定できます。"


def test_it_leaves_nothing_of_a_message_that_is_only_a_quote():
    assert clean_question("> Thanks, that worked.\n> Best,\n> Ken") == ""


def test_it_folds_width_and_case_for_matching():
    assert fold("ＰＡＳＳＷＯＲＤ  Reset ｶｰﾄﾞ") == "password reset カード"
