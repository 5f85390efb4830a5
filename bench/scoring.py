"""Benchmark of full lead rescoring (100,000 contacts, 1,000,000 touchpoints); prints figures.

    .venv/bin/python bench/scoring.py                    # SQLite scratch file in /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fo_scoring_bench .venv/bin/python \
        bench/scoring.py
    .venv/bin/python bench/scoring.py --contacts 20000 --touchpoints 200000 --reuse

It builds its own scratch database (never point it at real data): accounts, contacts and
touchpoints with bulk inserts, and a realistic set of eleven rules (fit and behaviour, with and
without decay). Then it times `score_contacts()` for everyone three times: the first scoring
(every row new), a rerun at the same moment (nothing changes) and the nightly run a day later
(decay moves most scores), and finally the screening of everyone. Target: ≤ 30 s a full rescore.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_postgres_database, recreate_postgres_database  # noqa: E402

SQLITE_URL = "sqlite:////tmp/frontoffice-scoring-bench.sqlite3"
NOW = datetime(2026, 11, 1, 3, 15, tzinfo=UTC)
INDUSTRIES = ["Manufacturing", "Retail", "Finance", "Healthcare", "Information Technology"]
SIZES = ["1-9", "10-49", "50-249", "250-999", "1000+"]
REGIONS = ["Kanto", "Kansai", "Chubu", "Kyushu", "Hokkaido", "Tohoku"]
TITLES = ["Director of IT", "CTO", "Engineer", "Purchasing Manager", "Student", "Analyst", ""]
DEPARTMENTS = ["IT", "Purchasing", "Sales", "Research", ""]
STAGES = ["awareness"] * 40 + ["lead"] * 30 + ["prospect"] * 15 + ["customer"] * 10 + ["lost"] * 5
# (kind, channel, weight)
TOUCHES = [
    ("web_visit", "web", 50),
    ("email", "email", 20),
    ("content_download", "web", 10),
    ("event_visit", "in_person", 5),
    ("call", "phone", 5),
    ("form", "web", 5),
    ("note", "other", 5),
]


# (name, attribute, operator, value, points)
FIT_RULES = [
    ("IT director", "title", "contains", "director", 15),
    ("CTO", "title", "equals", "cto", 20),
    ("Student", "title", "contains", "student", -20),
    ("Purchasing", "department", "equals", "purchasing", 10),
    ("Manufacturing", "industry", "equals", "manufacturing", 10),
    ("Enterprise", "size", "equals", "1000+", 10),
]
# (name, touchpoint kind, channel, of the flagship campaign, points, half-life in days)
BEHAVIOUR_RULES = [
    ("Web visit", "web_visit", "", False, 2, 14),
    ("Download", "content_download", "", False, 8, 30),
    ("Event", "event_visit", "in_person", False, 15, 60),
    ("Flagship campaign", "", "", True, 5, 0),
    ("Form", "form", "", False, 10, 30),
]


def _reset_database(url: str) -> None:
    """A fresh scratch database: SQLite file removed, PostgreSQL database dropped and recreated."""
    if url.startswith("sqlite:"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    recreate_postgres_database(url)


def _build(contacts: int, touchpoints: int, rng: random.Random) -> None:
    from accounts.models import Account, Contact, Touchpoint
    from pipeline.models import Campaign, ScoringRule

    accounts = Account.objects.bulk_create(
        Account(
            name=f"Company {n}",
            domain=f"company{n}.example.com",
            industry=rng.choice(INDUSTRIES),
            size=rng.choice(SIZES),
            region=rng.choice(REGIONS),
        )
        for n in range(max(1, contacts // 50))
    )
    campaigns = Campaign.objects.bulk_create(
        Campaign(name=f"Campaign {n}", kind=rng.choice(["exhibition", "seminar", "web", "email"]))
        for n in range(20)
    )
    Contact.objects.bulk_create(
        (
            Contact(
                name=f"Person {n}",
                email=f"person{n}@company{n % len(accounts)}.example.com",
                title=rng.choice(TITLES),
                department=rng.choice(DEPARTMENTS),
                account=accounts[n % len(accounts)] if n % 10 else None,
                stage=rng.choice(STAGES),
                stage_changed_at=NOW - timedelta(days=400),
            )
            for n in range(contacts)
        ),
        batch_size=5000,
    )
    contact_ids = list(Contact.objects.values_list("pk", flat=True))
    kinds = [(kind, channel) for kind, channel, weight in TOUCHES for _ in range(weight)]
    batch: list[Touchpoint] = []
    for n in range(touchpoints):
        kind, channel = rng.choice(kinds)
        batch.append(
            Touchpoint(
                kind=kind,
                channel=channel,
                contact_id=rng.choice(contact_ids),
                campaign=rng.choice(campaigns) if rng.random() < 0.3 else None,
                occurred_at=NOW - timedelta(seconds=rng.randrange(365 * 86400)),
            )
        )
        if len(batch) == 10_000 or n == touchpoints - 1:
            Touchpoint.objects.bulk_create(batch)
            batch = []

    fit = [
        ScoringRule(kind="fit", name=name, attribute=attribute, operator=op, value=value, points=p)
        for name, attribute, op, value, p in FIT_RULES
    ]
    behaviour = [
        ScoringRule(
            kind="behaviour",
            name=name,
            touchpoint_kind=kind,
            channel=channel,
            campaign=campaigns[0] if flagship else None,
            points=p,
            half_life_days=half_life,
        )
        for name, kind, channel, flagship, p, half_life in BEHAVIOUR_RULES
    ]
    ScoringRule.objects.bulk_create([*fit, *behaviour])


def _timed(label: str, run):
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    print(f"{label:<44} {seconds:7.2f} s  {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--touchpoints", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep the data of the last run")
    parser.add_argument("--seed", type=int, default=20261101)
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", SQLITE_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    if not args.reuse:
        _reset_database(url)
    elif url.startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(url)
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Contact, Touchpoint
    from pipeline.models import FollowUpTask, LeadScore, LeadScoreChange
    from pipeline.scoring import SCORED_STAGES, score_contacts
    from pipeline.screening import screen_contacts

    call_command("migrate", verbosity=0)
    if not Contact.objects.exists():
        started = time.perf_counter()
        _build(args.contacts, args.touchpoints, random.Random(args.seed))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"built the data in {time.perf_counter() - started:.1f} s")
    scored = Contact.objects.filter(stage__in=SCORED_STAGES).count()
    print(
        f"database: {connection.vendor}  contacts: {Contact.objects.count()} "
        f"({scored} at awareness/lead/prospect)  touchpoints: {Touchpoint.objects.count()}"
    )
    # Start from no scores (a rerun with --reuse too), on tables without dead rows.
    FollowUpTask.objects.all().delete()
    LeadScoreChange.objects.all().delete()
    LeadScore.objects.all().delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "pipeline_followuptask",
                "pipeline_leadscorechange",
                "pipeline_leadscore",
            ):
                cursor.execute(f"VACUUM ANALYZE {table}")

    _timed("score_contacts, first scoring (all new)", lambda: score_contacts(now=NOW))
    _timed("score_contacts, rerun (nothing changes)", lambda: score_contacts(now=NOW))
    _timed(
        "score_contacts, a day later (decay)",
        lambda: score_contacts(now=NOW + timedelta(days=1), cause="nightly"),
    )

    def screen_everyone() -> str:
        result = screen_contacts()
        return f"hot={result.hot} nurture={result.nurture} follow-ups={len(result.follow_ups)}"

    _timed("screen_contacts, everyone", screen_everyone)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
