"""Benchmark of FAQ mining (issue 8): grouping quality against intent labels, and speed.

    .venv/bin/python bench/faq.py                                  # both methods when installed
    .venv/bin/python bench/faq.py --methods tfidf --scale 100000   # TF-IDF only, 100,000 at scale
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fo_faq_bench .venv/bin/python bench/faq.py
    .venv/bin/python bench/faq.py --data /path/to/data             # default ../shared/data

It builds its own scratch database (never point it at real data) and loads labelled real
questions as inquiries, each the first message of an inquiry opened that month:

- BANKING77 (``banking77/train.csv``): 10,003 online-banking questions, 77 intents, no answers;
- Bitext customer support (``bitext-customer-support/*2023-08-07.csv``): 6,480 questions,
  27 intents, each answered and resolved with the data set's response (so draft answers and
  handling times are exercised too).

For each method it runs ``faq_candidates_build`` over each month (the whole run: reading and
cleaning the questions, vectors, grouping, summaries, the write) and scores the groups against
the intents: normalised mutual information and adjusted Rand index (every inquiry counted; one
left out of every candidate, its group being smaller than the minimum, counts as a group of its
own), the share of the top 20 candidates whose members mostly (more than half) share one intent,
the share of inquiries in a candidate, and the time per 10,000 inquiries.

The scale run loads ``--scale`` inquiries (default 100,000) drawn from both data sets, each
wrapped in mail as customers write it (a greeting, a signature, a quoted earlier message, in
varying combinations) and times one run, then a rerun over the same period (which must create
nothing). Targets on the 2-core machine: NMI >= 0.65 (TF-IDF) and >= 0.80 (embeddings) on
BANKING77; 100,000 inquiries mined in <= 120 s with TF-IDF.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import sys
import time
import warnings
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import recreate_postgres_database  # noqa: E402

SQLITE_URL = "sqlite:////tmp/frontoffice-faq-bench.sqlite3"
BANKING_MONTH = date(2026, 1, 1)
BITEXT_MONTH = date(2026, 2, 1)
SCALE_MONTH = date(2026, 3, 1)
CONTACTS = 1000
TOP = 20
GREETINGS = ["", "", "Hi,", "Hello team,", "Dear Support,", "Good morning,", "Hi there!"]
SIGNATURES = [
    "",
    "",
    "Thanks,\nAlex",
    "Best regards,\nJordan Lee\nAcme Corp | +1 555 0100",
    "Thank you!\n\nSent from my iPhone",
    "--\nSam Taylor\nFinance department",
    "Kind regards,\nM. Suzuki",
]
QUOTES = [
    "",
    "",
    "",
    "On Mon, 2 Mar 2026 at 09:12, Support <support@example.com> wrote:\n"
    "> Thank you for contacting us.\n> Is there anything else we can help with?",
    "-----Original Message-----\nFrom: Support <support@example.com>\n"
    "Sent: Monday, March 2, 2026 9:12 AM\nSubject: Re: your request\n\nWe closed your ticket.",
]


def _reset_database(url: str) -> None:
    if url.startswith("sqlite:"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    recreate_postgres_database(url)


def _read_banking(data: Path) -> list[tuple[str, str, str, str]]:
    """(question, intent, category, answer) rows."""
    with (data / "banking77" / "train.csv").open(encoding="utf-8") as handle:
        return [(row["text"], row["category"], "", "") for row in csv.DictReader(handle)]


def _read_bitext(data: Path, suffix: str) -> list[tuple[str, str, str, str]]:
    [path] = (data / "bitext-customer-support").glob(f"*{suffix}.csv")
    with path.open(encoding="utf-8") as handle:
        return [
            (row["instruction"], row["intent"], row["category"], row["response"])
            for row in csv.DictReader(handle)
        ]


def _wrapped(question: str, rng: random.Random) -> str:
    parts = [rng.choice(GREETINGS), question, rng.choice(SIGNATURES), rng.choice(QUOTES)]
    return "\n\n".join(part for part in parts if part)


def _load(rows, month: date, rng: random.Random, *, wrap: bool) -> list[tuple[int, str]]:
    """Inquiries (with their first message, and the answer and resolution when the row has
    an answer) opened during `month`; returns (inquiry id, intent) in id order."""
    from accounts.models import Contact
    from inquiries.models import Inquiry, Message

    contacts = list(Contact.objects.values_list("id", flat=True))
    start = datetime(month.year, month.month, month.day, tzinfo=UTC)
    labels: list[str] = []
    inquiries: list[Inquiry] = []
    bodies: list[tuple[str, str, datetime, datetime | None]] = []
    for question, intent, category, answer in rows:
        opened = start + timedelta(seconds=rng.randrange(27 * 24 * 3600))
        resolved = opened + timedelta(minutes=rng.randrange(10, 48 * 60)) if answer else None
        inquiries.append(
            Inquiry(
                contact_id=rng.choice(contacts),
                channel="email",
                subject=question[:80] or "(no subject)",
                category=category.title(),
                status="resolved" if answer else "new",
                created_at=opened,
                status_changed_at=resolved or opened,
                last_message_at=resolved or opened,
                first_responded_at=resolved,
                resolved_at=resolved,
            )
        )
        bodies.append((_wrapped(question, rng) if wrap else question, answer, opened, resolved))
        labels.append(intent)
    created = Inquiry.objects.bulk_create(inquiries, batch_size=2000)
    messages = []
    for inquiry, (body, answer, opened, resolved) in zip(created, bodies, strict=True):
        messages.append(
            Message(
                inquiry_id=inquiry.pk,
                direction="inbound",
                channel="email",
                body=body,
                created_at=opened,
                author_contact_id=inquiry.contact_id,
            )
        )
        if answer:
            messages.append(
                Message(
                    inquiry_id=inquiry.pk,
                    direction="outbound",
                    channel="email",
                    body=answer,
                    created_at=resolved - (resolved - opened) / 2,
                )
            )
    Message.objects.bulk_create(messages, batch_size=5000)
    return [(inquiry.pk, intent) for inquiry, intent in zip(created, labels, strict=True)]


def _month_end(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _score(labelled: list[tuple[int, str]]) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from inquiries.models import FaqCandidate, FaqCandidateMember

    ids = [inquiry_id for inquiry_id, _intent in labelled]
    intents = dict(labelled)
    group_of = dict(
        FaqCandidateMember.objects.filter(merged_from__isnull=True).values_list(
            "inquiry_id", "candidate_id"
        )
    )
    predicted = [group_of.get(inquiry_id, -inquiry_id) for inquiry_id in ids]
    truth = [intents[inquiry_id] for inquiry_id in ids]
    top = list(FaqCandidate.objects.filter(status="new").order_by("rank")[:TOP])
    pure = 0
    for candidate in top:
        members = FaqCandidateMember.objects.filter(candidate=candidate).values_list(
            "inquiry_id", flat=True
        )
        counts = Counter(intents[inquiry_id] for inquiry_id in members)
        if counts and counts.most_common(1)[0][1] * 2 > sum(counts.values()):
            pure += 1
    return {
        "nmi": normalized_mutual_info_score(truth, predicted),
        "ari": adjusted_rand_score(truth, predicted),
        "top_pure": pure / len(top) if top else 0.0,
        "covered": sum(inquiry_id in group_of for inquiry_id in ids) / len(ids),
        "candidates": FaqCandidate.objects.count(),
        "intents": len(set(truth)),
    }


def _run(method: str, month: date, labelled) -> tuple[float, dict]:
    from inquiries.faq import services
    from inquiries.models import FaqCandidate

    FaqCandidate.objects.all().delete()
    started = time.perf_counter()
    result = services.faq_candidates_build(since=month, until=_month_end(month), method=method)
    seconds = time.perf_counter() - started
    if result.inquiries != len(labelled):
        sys.exit(f"mined {result.inquiries} inquiries of {len(labelled)}: a question was lost")
    return seconds, _score(labelled)


def _report(name: str, method: str, count: int, seconds: float, scores: dict) -> None:
    print(
        f"{name:<22} {method:<10} {count:>7} inquiries {scores['intents']:>3} intents | "
        f"NMI {scores['nmi']:.3f}  ARI {scores['ari']:.3f}  top-{TOP} mostly one intent "
        f"{scores['top_pure'] * 100:.0f}%  in a candidate {scores['covered'] * 100:.0f}%  "
        f"candidates {scores['candidates']} | {seconds:.1f} s, "
        f"{seconds / count * 10_000:.1f} s per 10,000",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--methods", default="", help="tfidf,embeddings (default: installed)")
    parser.add_argument("--scale", type=int, default=100_000, help="0: no scale run")
    parser.add_argument(
        "--scale-methods", default="tfidf", help="methods timed at scale (embeddings are slow)"
    )
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    if not (args.data / "banking77" / "train.csv").is_file():
        sys.exit(f"No BANKING77 under {args.data}: give --data (the folder with banking77/).")

    url = os.environ.setdefault("DATABASE_URL", SQLITE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    _reset_database(url)
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Contact
    from inquiries.faq import embeddings

    call_command("migrate", verbosity=0)
    methods = [m for m in args.methods.split(",") if m] or (
        ["tfidf", "embeddings"] if embeddings.available() else ["tfidf"]
    )
    if "embeddings" in methods and not embeddings.available():
        sys.exit(embeddings.INSTALL_HINT)
    rng = random.Random(args.seed)
    Contact.objects.bulk_create(
        [Contact(name=f"Customer {n}", email=f"c{n}@faq-bench.invalid") for n in range(CONTACTS)]
    )
    banking = _read_banking(args.data)
    bitext = _read_bitext(args.data, "2023-08-07")
    started = time.perf_counter()
    sets = {
        "BANKING77": (BANKING_MONTH, _load(banking, BANKING_MONTH, rng, wrap=False)),
        "Bitext (answered)": (BITEXT_MONTH, _load(bitext, BITEXT_MONTH, rng, wrap=False)),
    }
    loaded = time.perf_counter() - started
    print(f"database: {connection.vendor}; loaded the data sets in {loaded:.1f} s")
    for method in methods:
        for name, (month, labelled) in sets.items():
            seconds, scores = _run(method, month, labelled)
            _report(name, method, len(labelled), seconds, scores)

    if args.scale:
        pool = banking + bitext + _read_bitext(args.data, "2023-08-18")
        rows = [rng.choice(pool) for _ in range(args.scale)]
        started = time.perf_counter()
        labelled = _load(rows, SCALE_MONTH, rng, wrap=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        print(f"loaded {args.scale} wrapped inquiries in {time.perf_counter() - started:.1f} s")
        from inquiries.faq import services

        for method in [m for m in args.scale_methods.split(",") if m in methods]:
            seconds, scores = _run(method, SCALE_MONTH, labelled)
            _report("scale, in mail", method, len(labelled), seconds, scores)
            started = time.perf_counter()
            again = services.faq_candidates_build(
                since=SCALE_MONTH, until=_month_end(SCALE_MONTH), method=method
            )
            print(
                f"{'  rerun, same period':<22} {method:<10} {time.perf_counter() - started:.1f} s: "
                f"{again.created} created, {again.updated} updated, {again.removed} removed"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of the process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
