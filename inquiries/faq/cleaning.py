# ruff: noqa: RUF001 (the patterns match full-width Japanese punctuation on purpose)
"""What the customer asked and what the agent answered, without the mail around it.

A first message often carries a greeting ("Hi team," / "お世話になっております。"), the quoted
earlier thread ("On Mon, … wrote:", "> …", "2024年1月15日(月) 10:00 山田 <…>:") and a signature
("-- ", "Best regards, …", "Sent from my iPhone", "よろしくお願いいたします。", a ━━━ block).
None of it tells what the question is, and all of it makes unrelated questions look alike, so the
miner reads the text in between. English and Japanese conventions; no whitespace tokenisation.
"""

from __future__ import annotations

import re
import unicodedata

MAX_QUESTION_LENGTH = 2000
MAX_ANSWER_LENGTH = 10000

# The line that starts a quoted earlier message: it and everything after it are dropped.
_QUOTE_STARTS = [
    re.compile(r"^on\b.{0,300}\bwrote:?$", re.IGNORECASE),
    re.compile(r"^-{2,}\s*(original|forwarded)\s+message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^-{2,}\s*(元の|転送)メッセージ\s*-{2,}"),
    re.compile(r"^_{8,}$"),  # Outlook draws this line above the quoted header
    # 2024年1月15日(月) 10:00 山田太郎 <taro@example.jp>: / …のメッセージ:
    re.compile(r"^\d{4}\s*[年/.-]\s*\d{1,2}\s*[月/.-]\s*\d{1,2}.{0,200}[:：]$"),
    re.compile(r"^.{0,200}(は|が)書きました\s*[:：]?$"),
]
# An Outlook header block ("From: … / Sent: … / To: … / Subject: …", or in Japanese).
_HEADER_FROM = re.compile(r"^(from|差出人|送信者)\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^(sent|date|to|cc|subject|送信日時|日時|宛先|件名)\s*[:：]", re.IGNORECASE
)
_QUOTED_LINE = re.compile(r"^\s*[>＞]")

# The line that starts a signature: it and everything after it are dropped.
_SIGNATURE_STARTS = [
    re.compile(r"^--\s*$"),
    re.compile(r"^(sent from my|sent from mail for|sent with|get outlook for)\b", re.IGNORECASE),
    re.compile(r"^(iphone|ipad|android|スマートフォン|携帯)\s*から送信", re.IGNORECASE),
]
# A closing ("Best regards," / "よろしくお願いいたします。") ends the message when only a few
# short lines (name, title, company, phone) follow it.
_CLOSINGS = [
    re.compile(
        r"^((best|kind|warm|warmest)\s+)?(regards|wishes)\b[,.!]?|"
        r"^(many\s+)?thanks(\s+(a lot|so much|in advance|again))?\s*[,.!]*$|"
        r"^thank\s+you(\s+(so|very)\s+much)?(\s+(in advance|for your help))?\s*[,.!]*$|"
        r"^(cheers|sincerely|best|br|respectfully|yours(\s+(truly|sincerely|faithfully))?)"
        r"\s*[,.!]*$",
        re.IGNORECASE,
    ),
    re.compile(
        r"^(以上(です)?[、,。]?\s*)?(どうぞ|何卒|なにとぞ)?\s*(よろしく|宜しく)\s*お願い\s*"
        r"(いた|致)?し?ます[。．.！!]*$"
    ),
    re.compile(r"^以上(です|となります)?[。．.]?$"),
]
_CLOSING_TAIL_LINES = 6
_CLOSING_MAX_LENGTH = 60
# A separator line (━━━, ―――, ====, ****) near the end starts a signature block.
_SEPARATOR = re.compile(r"^[━─―ー＝=*＊~〜・_＿\-]{5,}$")
_SEPARATOR_TAIL_LINES = 12

# Greetings at the start: whole lines, or a phrase before the question on the same line.
_GREETING_LINES = [
    re.compile(
        r"^(hi|hello|hey|dear|greetings|good\s+(morning|afternoon|evening)|"
        r"to whom it may concern)\b.{0,60}$",
        re.IGNORECASE,
    ),
    # The addressee: 株式会社〇〇 ご担当者様 / サポートセンター御中 / 各位
    re.compile(r"^.{0,60}(様|御中|各位|担当者さま)\s*[、,]?$"),
    re.compile(
        r"^(いつも|大変)?\s*(お世話|御世話)になって?(おり|い)?ます[。．.！!]*$|"
        r"^(お世話|御世話)になります[。．.！!]*$|"
        r"^(お疲れ様|お疲れさま|おつかれさま)です[。．.！!]*$|"
        r"^(はじめまして|初めまして|こんにちは|こんばんは|おはようございます)[。．.！!、,]*$|"
        r"^突然の?(ご連絡|ご質問|お問い合わせ)(を)?失礼(いた|致)?します[。．.]*$"
    ),
    # A self-introduction on its own line: 〇〇株式会社の山田です。 / 山田と申します。
    re.compile(r"^[^。]{1,40}(と申します|の[^。]{1,12}です)[。．.]?$"),
]
_GREETING_PREFIXES = [
    re.compile(
        r"^(hi|hello|hey)(\s+(there|team|all|support|everyone|guys))?\s*[,!.]\s+",
        re.IGNORECASE,
    ),
    re.compile(
        r"^((いつも|大変)?\s*(お世話|御世話)になって?(おり|い)?ます|(お世話|御世話)になります|"
        r"(お疲れ様|お疲れさま)です|はじめまして|初めまして|こんにちは)[。．.！!、,]\s*"
    ),
    re.compile(r"^[^。]{1,30}と申します[。．.]\s*"),
]
# Thanks or a closing at the very end of the last line: "… any idea? Thanks!"
_TRAILING_THANKS = [
    re.compile(
        r"\s*(many\s+)?(thanks|thank\s+you)(\s+(so\s+much|in\s+advance|a\s+lot|for\s+your\s+help))?"
        r"\s*[!.]*$",
        re.IGNORECASE,
    ),
    re.compile(
        r"\s*(以上[、,]?\s*)?(どうぞ|何卒|なにとぞ)?\s*(よろしく|宜しく)\s*お願い\s*(いた|致)?し?ます"
        r"[。．.！!]*$"
    ),
]


def _without_quoted(lines: list[str]) -> list[str]:
    kept: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        joined = f"{stripped} {lines[index + 1].strip()}" if index + 1 < len(lines) else stripped
        if any(pattern.match(stripped) for pattern in _QUOTE_STARTS):
            break
        # "On Mon, 1 Jan 2024 at 10:00, Hanako <hanako@…" wraps before "wrote:".
        if stripped.lower().startswith("on ") and _QUOTE_STARTS[0].match(joined):
            break
        if _HEADER_FROM.match(stripped) and any(
            _HEADER_NEXT.match(following.strip()) for following in lines[index + 1 : index + 4]
        ):
            break
        if _QUOTED_LINE.match(line):
            continue
        kept.append(line)
    return kept


def _without_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if any(pattern.match(line.strip()) for pattern in _SIGNATURE_STARTS):
            lines = lines[:index]
            break
    content = [index for index, line in enumerate(lines) if line.strip()]
    if not content:
        return []
    tail_from = content[-min(len(content), _SEPARATOR_TAIL_LINES)]
    for index in range(tail_from, len(lines)):
        if _SEPARATOR.match(lines[index].strip()) and index > content[0]:
            lines = lines[:index]
            break
    content = [index for index, line in enumerate(lines) if line.strip()]
    for position, index in enumerate(content):
        stripped = lines[index].strip()
        after = len(content) - position - 1
        if (
            position > 0
            and after <= _CLOSING_TAIL_LINES
            and len(stripped) <= _CLOSING_MAX_LENGTH
            and any(pattern.match(stripped) for pattern in _CLOSINGS)
        ):
            return lines[:index]
    return lines


def _without_greeting(lines: list[str]) -> list[str]:
    lines = list(lines)
    while lines:
        first = lines[0].strip()
        if not first:
            lines.pop(0)
            continue
        others = any(line.strip() for line in lines[1:])
        if others and any(pattern.match(first) for pattern in _GREETING_LINES):
            lines.pop(0)
            continue
        stripped = first
        for pattern in _GREETING_PREFIXES:
            stripped = pattern.sub("", stripped, count=1)
        if stripped != first and stripped:
            lines[0] = stripped
            continue
        break
    return lines


def _lines(text: str) -> list[str]:
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _core_lines(text: str) -> list[str]:
    lines = _without_quoted(_lines(text))
    lines = _without_signature(lines)
    return _without_greeting(lines)


def _without_trailing_thanks(text: str) -> str:
    for pattern in _TRAILING_THANKS:
        shorter = pattern.sub("", text)
        if shorter.strip():
            text = shorter
    return text


def clean_question(text: str) -> str:
    """The customer's question on one line: no quoted thread, signature or greeting, no
    closing thanks; spaces collapsed. Empty when nothing is left."""
    lines = _core_lines(text)
    flat = " ".join(" ".join(line.split()) for line in lines if line.strip())
    flat = _without_trailing_thanks(flat).strip()
    return flat[:MAX_QUESTION_LENGTH]


def clean_answer(text: str) -> str:
    """An agent's answer without the quoted customer message, the signature and the personal
    greeting ("Hi Hanako,"); paragraphs kept (at most one blank line between them)."""
    lines = [line.rstrip() for line in _core_lines(text)]
    paragraphs: list[str] = []
    for line in lines:
        if line.strip() or (paragraphs and paragraphs[-1]):
            paragraphs.append(" ".join(line.split()) if line.strip() else "")
    return "\n".join(paragraphs).strip()[:MAX_ANSWER_LENGTH]


def fold(text: str) -> str:
    """NFKC (full-width Latin and digits to half-width, half-width kana to full-width) and
    case folding; runs of whitespace become one space. For matching, never for display."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())
