"""Benchmark of inbound email (POST /api/v1/inbound/email/); prints messages/s and the share of
messages that landed where they belong.

    .venv/bin/python bench/inbound_email.py                          # SQLite scratch file in /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontoffice_bench_email \\
        .venv/bin/python bench/inbound_email.py
    .venv/bin/python bench/inbound_email.py --messages 2000 --seed 7

It generates real-looking MIME messages (default 10,000): new inquiries and replies to them, in
UTF-8 (8bit, quoted-printable, base64), ISO-2022-JP, Shift_JIS (quoted-printable and base64),
HTML-only bodies and multipart mails with attachments. Replies thread by In-Reply-To, by
References alone, or by the `[#id]` subject token only. Every message is posted, in order, as
`message/rfc822` with the inbound key through Django's test client, in-process: the whole
request path (middleware, DRF, parsing, threading, writes) without a network hop or a web server.
Generation is not timed. The scratch database is recreated first (never point it at real data).

The timeline announcement after each commit starts pipeline's rescoring of the contact. In
production that is a task queued for a worker; here (no broker: Celery would run it eagerly
inside the request) the contact ids are collected and rescored once after the timing, which is
reported apart. `--inline-tasks` runs them inside each request instead, as a laptop without a
broker does.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import quopri
import random
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from email.header import Header
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import recreate_postgres_database  # noqa: E402

KEY = "bench-inbound-key"
SUPPORT = "support@frontoffice.example"
TOKEN_PLACEHOLDER = b"[#TOKEN-PLACEHOLDER]"
# Contacts whose rescoring the timeline announcement asked for (per worker process).
QUEUED_FOR_RESCORING: set[int] = set()
FAMILY = ["佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "山本", "中村", "Smith", "Dupont"]
GIVEN = ["花子", "太郎", "一郎", "由美", "健二", "愛子", "John", "Émile", "Anna"]
SUBJECTS = [
    "請求書の宛名変更について",
    "ログインできません",
    "見積書①の納期について",
    "Order #{n} arrived damaged",
    "パスワード再設定のお願い",
    "Question about invoice {n}",
    "契約更新のご相談",
    "Commande abîmée n°{n}",
]
BODIES = [
    "いつもお世話になっております。\n{subject}の件でご連絡いたしました。\nご確認のほどよろしくお願いいたします。\n",
    "Hello,\n\nregarding {subject}: could you have a look?\nReference {n}.\n\nBest regards\n",
    "お世話になっております。\n先日の件、まだ解決しておりません。①②の手順を試しましたが変わりません。\n",
    "Bonjour,\nmerci de votre réponse rapide. {subject}\nCordialement\n",
]
# (charset, transfer encoding, codec) of the text/plain part.
TEXT_ENCODINGS = [
    ("utf-8", "8bit", "utf-8"),
    ("utf-8", "quoted-printable", "utf-8"),
    ("utf-8", "base64", "utf-8"),
    ("iso-2022-jp", "7bit", "iso2022_jp_2004"),
    ("shift_jis", "quoted-printable", "cp932"),
    ("shift_jis", "base64", "cp932"),
]
HEADER_CHARSET = {"utf-8": "utf-8", "iso-2022-jp": "iso-2022-jp", "shift_jis": "shift_jis"}


@dataclass
class Thread:
    number: int
    sender: str
    name: str
    subject: str
    message_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outgoing:
    raw: bytes
    thread: int
    is_reply: bool
    needs_token: bool


def _encode_body(text: str, charset: str, transfer: str, codec: str) -> bytes:
    data = text.replace("\n", "\r\n").encode(codec)
    if transfer == "quoted-printable":
        return quopri.encodestring(data)
    if transfer == "base64":
        return base64.encodebytes(data)
    return data


def _header_value(text: str, charset: str) -> str:
    if text.isascii():
        return text
    codec = {"iso-2022-jp": "iso2022_jp", "shift_jis": "shift_jis"}.get(charset, "utf-8")
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        charset = "utf-8"  # a character the header charset lacks (①): UTF-8 for the header
    return Header(text, charset).encode()


def _message(
    rng: random.Random, thread: Thread, *, serial: int, reply_kind: str | None
) -> Outgoing:
    charset, transfer, codec = rng.choice(TEXT_ENCODINGS)
    header_charset = HEADER_CHARSET[charset]
    body = rng.choice(BODIES).format(subject=thread.subject, n=thread.number)
    try:
        body.encode(codec)
    except UnicodeEncodeError:  # French in a Japanese charset: the mailer would pick UTF-8
        charset, codec = "utf-8", "utf-8"
    message_id = f"<{serial}.{rng.getrandbits(40):x}@mail{thread.number % 50}.example>"
    subject = _header_value(thread.subject, header_charset)
    lines = [
        f"Return-Path: <{thread.sender}>",
        f"Received: from mx{thread.number % 7}.example (203.0.113.{thread.number % 250}) by "
        "mx.frontoffice.example; Tue, 3 Mar 2026 09:12:44 +0900",
        f"From: {_header_value(thread.name, header_charset)} <{thread.sender}>",
        f"To: {SUPPORT}",
        "Date: Tue, 3 Mar 2026 09:12:40 +0900",
        f"Message-ID: {message_id}",
        "MIME-Version: 1.0",
    ]
    if reply_kind is None:
        lines.append(f"Subject: {subject}")
    else:
        parent = thread.message_ids[-1]
        references = " ".join(thread.message_ids[-10:])
        if reply_kind == "in_reply_to":
            lines += [f"Subject: Re: {subject}", f"In-Reply-To: {parent}"]
            lines.append(f"References: {references}")
        elif reply_kind == "references":
            lines += [f"Subject: Re: {subject}", f"References: {references}"]
        else:  # the subject token only (a mail program that drops the threading headers)
            lines.append(f"Subject: Re: {subject} {TOKEN_PLACEHOLDER.decode()}")
    thread.message_ids.append(message_id)
    shape = rng.random()
    if shape < 0.10:  # HTML only
        html = (
            "<html><body>"
            + "".join(f"<p>{line}</p>" for line in body.splitlines() if line)
            + "</body></html>"
        )
        lines += [
            "Content-Type: text/html; charset=utf-8",
            "Content-Transfer-Encoding: base64",
        ]
        payload = base64.encodebytes(html.encode("utf-8"))
    elif shape < 0.25:  # text and an attachment
        boundary = f"=_bench_{serial}"
        attachment = base64.encodebytes(rng.randbytes(rng.randrange(500, 5000)))
        lines.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
        payload = (
            f"--{boundary}\r\nContent-Type: text/plain; charset={charset}\r\n"
            f"Content-Transfer-Encoding: {transfer}\r\n\r\n".encode()
            + _encode_body(body, charset, transfer, codec)
            + f"\r\n--{boundary}\r\nContent-Type: application/pdf\r\n"
            f'Content-Disposition: attachment; filename="invoice-{serial}.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + attachment
            + f"\r\n--{boundary}--\r\n".encode()
        )
    else:
        lines += [
            f"Content-Type: text/plain; charset={charset}",
            f"Content-Transfer-Encoding: {transfer}",
        ]
        payload = _encode_body(body, charset, transfer, codec)
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload
    return Outgoing(
        raw=raw,
        thread=thread.number,
        is_reply=reply_kind is not None,
        needs_token=reply_kind == "token",
    )


def generate(*, messages: int, seed: int) -> list[Outgoing]:
    """`messages` messages, about 40% opening a thread and 60% replies to an earlier one."""
    rng = random.Random(seed)
    threads: list[Thread] = []
    out: list[Outgoing] = []
    for serial in range(messages):
        if not threads or rng.random() < 0.4:
            number = len(threads)
            # Distinct people: the same name at the same company would be one contact.
            name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)} {number}"
            thread = Thread(
                number=number,
                sender=f"customer{number}@company{number % 300}.example",
                name=name,
                subject=rng.choice(SUBJECTS).format(n=number),
            )
            threads.append(thread)
            out.append(_message(rng, thread, serial=serial, reply_kind=None))
        else:
            thread = rng.choice(threads[-500:])  # replies come to recent threads
            kind = rng.choices(["in_reply_to", "references", "token"], weights=[70, 15, 15])[0]
            out.append(_message(rng, thread, serial=serial, reply_kind=kind))
    return out


@dataclass
class ShareResult:
    outcomes: Counter
    verdicts: Counter
    opened: list[int]
    queued: set[int]
    cpu_seconds: float = 0.0


def post_share(items: list[Outgoing]) -> ShareResult:
    """Post one worker's conversations in order; check each answer against the conversation."""
    from django.db import connection
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="localhost")
    inquiry_of_thread: dict[int, int] = {}
    result = ShareResult(outcomes=Counter(), verdicts=Counter(), opened=[], queued=set())
    cpu_started = time.process_time()
    for item in items:
        raw = item.raw
        if item.needs_token:
            token = f"[#{inquiry_of_thread.get(item.thread, 0)}]".encode()
            raw = raw.replace(TOKEN_PLACEHOLDER, token, 1)
        response = client.generic(
            "POST",
            "/api/v1/inbound/email/",
            raw,
            content_type="message/rfc822",
            secure=True,
            HTTP_X_INBOUND_KEY=KEY,
        )
        if response.status_code != 202:
            raise SystemExit(f"answered {response.status_code}: {response.content[:300]!r}")
        answer = response.json()
        result.outcomes[answer["status"]] += 1
        if item.is_reply:
            ok = answer["status"] == "threaded" and (
                answer["inquiry"] == inquiry_of_thread.get(item.thread)
            )
        else:
            ok = answer["status"] == "opened"
            inquiry_of_thread[item.thread] = answer["inquiry"]
            result.opened.append(answer["inquiry"])
        result.verdicts[ok] += 1
    result.cpu_seconds = time.process_time() - cpu_started
    result.queued = set(QUEUED_FOR_RESCORING)
    connection.close()
    return result


def _prepare_database() -> None:
    url = os.environ["DATABASE_URL"]
    if url.startswith(("postgres://", "postgresql://")):
        recreate_postgres_database(url)
    elif url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _defer_rescoring() -> set[int]:
    """Collect the contacts pipeline would queue for rescoring instead of running the task in
    the request (without a broker Celery runs it eagerly; in production a worker does it)."""
    from accounts.signals import touchpoints_recorded

    def collect(sender, contact_ids, **kwargs):
        QUEUED_FOR_RESCORING.update(contact_ids)

    touchpoints_recorded.disconnect(dispatch_uid="pipeline.rescore_on_touchpoints")
    touchpoints_recorded.connect(collect, weak=False, dispatch_uid="bench.collect_rescoring")
    return set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="post conversations in this many parallel processes (each its own connection)",
    )
    parser.add_argument(
        "--inline-tasks",
        action="store_true",
        help="run the rescoring each message starts inside its request (eager Celery)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/frontoffice-bench-inbound-email.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    # One mail server posts everything: a rate it never reaches (the throttle's check still runs,
    # as in production).
    os.environ["API_THROTTLE_INBOUND_EMAIL"] = "1000000/second"
    _prepare_database()
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import override_settings

    from inquiries.models import Inquiry, Message, QuarantinedEmail

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    outgoing = generate(messages=args.messages, seed=args.seed)
    size = sum(len(item.raw) for item in outgoing)
    replies = sum(item.is_reply for item in outgoing)
    print(
        f"database: {connection.vendor}  messages: {len(outgoing)} ({len(outgoing) - replies} "
        f"new, {replies} replies)  {size / 1e6:.1f} MB  generated in "
        f"{time.perf_counter() - started:.1f} s  (Django test client, in-process, "
        f"{args.workers} worker{'s' if args.workers > 1 else ''})"
    )

    deferred = _defer_rescoring() if not args.inline_tasks else None
    # A conversation stays with one worker, in order (a reply after the message it answers), as
    # a mail server delivers one sender's mail; conversations go in parallel.
    shares: list[list[Outgoing]] = [[] for _ in range(args.workers)]
    for item in outgoing:
        shares[item.thread % args.workers].append(item)
    outcomes: Counter[str] = Counter()
    verdicts: Counter[bool] = Counter()
    opened: list[int] = []
    with override_settings(
        FRONTOFFICE_INBOUND_EMAIL_KEY=KEY,
        FRONTOFFICE_SUPPORT_EMAIL=SUPPORT,
    ):
        connections.close_all()  # the workers are forked: each opens its own connection
        started = time.perf_counter()
        if args.workers == 1:
            results = [post_share(shares[0])]
        else:
            with multiprocessing.get_context("fork").Pool(args.workers) as pool:
                results = pool.map(post_share, shares)
        seconds = time.perf_counter() - started
    for result in results:
        outcomes.update(result.outcomes)
        verdicts.update(result.verdicts)
        opened.extend(result.opened)
        if deferred is not None:
            deferred.update(result.queued)
    # Every new conversation opened its own inquiry (no two workers got the same one).
    verdicts[False] += len(opened) - len(set(opened))
    verdicts[True] -= len(opened) - len(set(opened))
    correct, wrong = verdicts[True], verdicts[False]

    print(
        f"posted {len(outgoing)} in {seconds:.1f} s: {len(outgoing) / seconds:.0f} messages/s  "
        f"({seconds / len(outgoing) * 1000:.2f} ms each)"
    )
    # CPU of the posting processes only (the database server's is extra): steadier than the
    # wall clock on a busy machine, so it shows what a change to the request path saves.
    cpu = sum(result.cpu_seconds for result in results)
    print(f"CPU of the posting processes: {cpu / len(outgoing) * 1000:.2f} ms a message")
    if deferred is not None:
        from pipeline.tasks import rescore_contacts

        started = time.perf_counter()
        rescore_contacts.apply(args=[sorted(deferred)])
        print(
            f"rescoring the {len(deferred)} contacts afterwards (the queued task, as a worker "
            f"would): {time.perf_counter() - started:.1f} s"
        )
    print(f"outcomes: {dict(sorted(outcomes.items()))}")
    print(
        f"landed correctly: {correct / len(outgoing):.2%} ({wrong} wrong)  "
        f"replies threaded: {outcomes.get('threaded', 0)}/{replies}"
    )
    print(
        f"tables: {Inquiry.objects.count()} inquiries, {Message.objects.count()} messages, "
        f"{QuarantinedEmail.objects.count()} quarantined"
    )


if __name__ == "__main__":
    main()
