"""Benchmark of the Maven CRM deal import (``manage.py import_deals``); prints the times.

    .venv/bin/python bench/import_deals.py                      # SQLite scratch file in /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontoffice_bench_deals \\
        .venv/bin/python bench/import_deals.py
    .venv/bin/python bench/import_deals.py --folder /path/to/crm-sales-opportunities

It starts from a fresh scratch database (the SQLite file is deleted, the PostgreSQL database
dropped and created again: never point it at real data), migrates it, and times reading and
checking the files, the first import (every row new: 8,800 deals and their stage history), a
second import (every deal known: nothing written) and one stalled-deal detection over the
imported open deals (with its notifications).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import recreate_postgres_database  # noqa: E402

DEFAULT_FOLDER = Path("/work/shared/data/crm-sales-opportunities")
SQLITE_FILE = Path(tempfile.gettempdir()) / "frontoffice-bench-deals.sqlite3"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", f"sqlite:///{SQLITE_FILE}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    url = os.environ["DATABASE_URL"]
    if url.startswith(("postgres://", "postgresql://")):
        recreate_postgres_database(url)
    elif url == f"sqlite:///{SQLITE_FILE}":
        SQLITE_FILE.unlink(missing_ok=True)
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from accounts.models import Notification
    from pipeline.deal_imports import deals_import_maven, maven_data_read
    from pipeline.models import Deal, DealStageChange
    from pipeline.stalls import detect_stalled_deals

    call_command("migrate", verbosity=0)

    started = time.perf_counter()
    data = maven_data_read(folder=args.folder)
    read = time.perf_counter() - started
    print(
        f"database: {connection.vendor}  opportunities: {len(data.opportunities)}  "
        f"read and checked in {read:.2f} s"
    )
    for label in ("first import (all new)", "second import (all known)"):
        started = time.perf_counter()
        result = deals_import_maven(data=data)
        seconds = time.perf_counter() - started
        print(
            f"{label:<28} {seconds:6.2f} s  deals created={result.deals_created} "
            f"known={result.deals_known} stage changes={result.stage_changes_created} "
            f"accounts={result.accounts_created} users={result.users_created}"
        )
    started = time.perf_counter()
    counts = detect_stalled_deals(now=timezone.now())
    print(
        f"{'stalled-deal detection':<28} {time.perf_counter() - started:6.2f} s  {counts}  "
        f"notifications={Notification.objects.count()}"
    )
    started = time.perf_counter()
    counts = detect_stalled_deals(now=timezone.now())
    print(f"{'detection again (no change)':<28} {time.perf_counter() - started:6.2f} s  {counts}")
    print(f"tables: {Deal.objects.count()} deals, {DealStageChange.objects.count()} stage changes")


if __name__ == "__main__":
    main()
