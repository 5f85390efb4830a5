"""Benchmark of the lead list import (pipeline.imports.leads_import); prints rows per second.

    .venv/bin/python bench/import_leads.py                      # SQLite scratch file in /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontoffice_bench_imports \\
        .venv/bin/python bench/import_leads.py
    .venv/bin/python bench/import_leads.py --rows 20000 --seed 7

It generates a lead CSV (default 100,000 rows, 10% of them another row's person again: half by
the same email in other letter case, half by the same phone written differently, without email),
empties the customer tables of its own scratch database (never point it at real data), and
times two imports of the file: into the empty database (every person new) and again (every
person known: found, not doubled, one more touchpoint each). The time runs to the commit; the
rescoring that pipeline's receivers start after the commit is timed apart (bench/scoring.py is
its benchmark).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_postgres_database  # noqa: E402

FAMILY_NAMES = ["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura"]
GIVEN_NAMES = ["Hiroshi", "Yuki", "Akira", "Hanako", "Taro", "Kenji", "Aiko", "Naoko", "Sho"]
TITLES = ["", "Manager", "Director", "Engineer", "CTO", "部長", "課長", "主任"]
DEPARTMENTS = ["", "IT", "Sales", "Purchasing", "情報システム部", "営業部", "総務部"]
EVENT_DAYS = ["2025-10-21", "2025-10-22", "2025/10/23"]


def lead_csv(*, rows: int, duplicate_share: float, seed: int) -> bytes:
    """A deterministic exhibition lead list: `rows` rows, `duplicate_share` of them repeats."""
    rng = random.Random(seed)
    companies = max(rows // 20, 1)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["email", "name", "company", "title", "department", "phone", "date", "note"])
    people: list[tuple[str, str, str, int]] = []
    for i in range(rows):
        if people and rng.random() < duplicate_share:
            email, name, company, number = rng.choice(people)
            if rng.random() < 0.5:
                row = [email.upper(), name, company, rng.choice(TITLES), "", "", "", ""]
            else:
                phone = f"+81 3 {number // 10000:04d} {number % 10000:04d}"
                row = ["", name, company, "", rng.choice(DEPARTMENTS), phone, "", "booth demo"]
        else:
            company_number = rng.randrange(companies)
            company = f"Bench Company {company_number}"
            given, family = rng.choice(GIVEN_NAMES), rng.choice(FAMILY_NAMES)
            email = f"{given}.{family}.{i}@company{company_number}.example".lower()
            number = 10_000_000 + i
            people.append((email, f"{given} {family} {i}", company, number))
            phone = f"03-{number // 10000:04d}-{number % 10000:04d}"
            row = [
                email,
                f"{given} {family} {i}",
                company,
                rng.choice(TITLES),
                rng.choice(DEPARTMENTS),
                phone,
                rng.choice(EVENT_DAYS),
                "",
            ]
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _empty_customer_tables(connection) -> None:
    """Start from empty customer tables, as a new installation (TRUNCATE on PostgreSQL, so the
    tables and indexes do not carry the dead rows of the previous run)."""
    from accounts.models import Account, Contact, CustomerMerge, JourneyTransition, Touchpoint
    from pipeline.models import LeadImport

    models = (Touchpoint, CustomerMerge, JourneyTransition, Contact, Account, LeadImport)
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {tables} CASCADE")
    else:
        for model in models:
            model.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duplicates", type=float, default=0.10, help="share of repeated rows")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/frontoffice-bench-imports.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    if os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(os.environ["DATABASE_URL"])
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.models import Account, Contact, JourneyTransition, Touchpoint
    from pipeline.imports import leads_import
    from pipeline.models import Campaign

    call_command("migrate", verbosity=0)
    _empty_customer_tables(connection)
    campaign = Campaign.objects.create(name="Bench Expo", kind=Campaign.Kind.EXHIBITION)

    started = time.perf_counter()
    content = lead_csv(rows=args.rows, duplicate_share=args.duplicates, seed=args.seed)
    print(
        f"database: {connection.vendor}  rows: {args.rows}  file: {len(content) / 1e6:.1f} MB  "
        f"generated in {time.perf_counter() - started:.1f} s"
    )
    for label in ("first import (new people)", "second import (known people)"):
        committed: list[float] = []
        started = time.perf_counter()
        with transaction.atomic():
            # Registered first, so it runs first after COMMIT, before the rescoring callbacks.
            transaction.on_commit(lambda: committed.append(time.perf_counter()))  # noqa: B023
            outcome = leads_import(content=content, file_name="bench.csv", campaign=campaign)
        finished = time.perf_counter()
        run = outcome.lead_import
        seconds = committed[0] - started
        print(
            f"{label:<30} {seconds:6.1f} s  {run.total_rows / seconds:8.0f} rows/s  "
            f"status={run.status} new={run.created_contacts} known={run.matched_contacts} "
            f"merged rows={run.merged_rows} new accounts={outcome.new_accounts}  "
            f"(commit {seconds - run.duration_ms / 1000:.1f} s; "
            f"after-commit rescoring {finished - committed[0]:.1f} s)"
        )
    print(
        f"tables: {Contact.objects.count()} contacts, {Account.objects.count()} accounts, "
        f"{Touchpoint.objects.count()} touchpoints, "
        f"{JourneyTransition.objects.count()} journey transitions"
    )


if __name__ == "__main__":
    main()
