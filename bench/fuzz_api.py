"""The long fuzz run of the whole API (the CI test, tests/reliability/test_fuzz_api.py, is its
bounded, derandomized cut); prints what it covered and what it found.

    .venv/bin/python bench/fuzz_api.py                          # SQLite scratch file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fo_fuzz .venv/bin/python bench/fuzz_api.py
    .venv/bin/python bench/fuzz_api.py --examples 300 --no-coverage --seed 7

It makes its own scratch database (dropped and created again, then `seed_demo`: never point it
at real data), builds the
OpenAPI schema as the code generates it now, and fuzzes every operation with schemathesis,
in-process against the WSGI application, with requests that commit (tasks after commit run):
as the Admin (every operation, writes included), as a sales rep (the same operations through a
narrower scope and fewer permissions), and without credentials (every operation; the public
ones with their valid keys too). Positive and negative examples, plus schemathesis' coverage
phase (boundary values, missing required parameters, undeclared methods) unless --no-coverage.
Random unless --derandomize: each run explores new examples. Failures (minimised, with the
request that reproduces each) go to --failures (default: fuzz-failures.txt); exit status 1 when
there are any.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import time
import warnings
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import recreate_postgres_database  # noqa: E402

INBOUND_EMAIL_KEY = "bench-fuzz-inbound-key"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="per operation and pass")
    parser.add_argument("--contacts", type=int, default=200, help="demo data size")
    parser.add_argument("--no-coverage", action="store_true", help="skip the coverage phase")
    parser.add_argument("--derandomize", action="store_true", help="the same examples each run")
    parser.add_argument("--only", default="", help="operations whose label contains this")
    parser.add_argument("--failures", type=Path, default=Path("fuzz-failures.txt"))
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/frontoffice-fuzz-bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    os.environ["FRONTOFFICE_INBOUND_EMAIL_KEY"] = INBOUND_EMAIL_KEY
    # A fresh scratch database each run: the fuzzer's own rows would block seed_demo --reset.
    url = os.environ["DATABASE_URL"]
    if url.startswith(("postgres://", "postgresql://")):
        recreate_postgres_database(url)
    elif url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite://")).unlink(missing_ok=True)
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from tests.reliability.api_fuzz import (
        CHECKS,
        EXCLUDED_CHECKS,
        FuzzReport,
        build_schema,
        fuzz_schema,
        is_public,
        open_the_public_doors,
        public_keys,
    )

    print(
        f"database: {connection.vendor}  examples per operation: {args.examples}  "
        f"coverage phase: {not args.no_coverage}  derandomized: {args.derandomize}"
    )
    call_command("migrate", verbosity=0)
    call_command("seed_demo", contacts=args.contacts, no_progress=True, stdout=io.StringIO())
    users = get_user_model().objects
    tokens = {
        role: Token.objects.get_or_create(user=users.get(username=username))[0].key
        for role, username in (("admin", "admin"), ("sales rep", "rep1"))
    }
    schema = build_schema()
    # Thousands of 4xx on purpose: Django would log each one; 5xx are still logged. (After the
    # schema: loading the WSGI application sets Django's logging up again.)
    logging.getLogger("django.request").setLevel(logging.ERROR)
    selected = [
        result.ok()
        for result in schema.get_all_operations()
        if hasattr(result, "ok") and args.only in result.ok().label
    ]
    print(f"operations in the schema: {len(selected)}")
    print(f"checks: {', '.join(check.__name__ for check in CHECKS)}")
    print(f"not run: {', '.join(EXCLUDED_CHECKS)}")

    passes = [
        ("admin", {"Authorization": f"Token {tokens['admin']}"}, lambda op: True),
        ("sales rep", {"Authorization": f"Token {tokens['sales rep']}"}, lambda op: True),
        ("no credentials", {}, lambda op: True),
        ("public, with keys", partial(public_keys, inbound_email_key=INBOUND_EMAIL_KEY), is_public),
    ]
    total = FuzzReport()
    started = time.perf_counter()
    for name, headers, select in passes:
        if name.startswith("public"):
            open_the_public_doors()  # the passes before may have closed them
        report = fuzz_schema(
            schema,
            headers=headers,
            max_examples=args.examples,
            coverage=not args.no_coverage,
            derandomize=args.derandomize,
            select=lambda op, select=select: select(op) and args.only in op.label,
            progress=_progress,
        )
        print(f"{name:<18} {report.summary()}")
        total.merge(report)
    elapsed = time.perf_counter() - started

    covered = sorted(set(total.operations))
    print(
        f"\nendpoints covered: {len(covered)} operations on "
        f"{len({label.split(' ', 1)[1] for label in covered})} paths"
    )
    print(f"examples run: {total.examples} requests")
    statuses = ", ".join(f"{code}: {count}" for code, count in sorted(total.statuses.items()))
    print(f"statuses: {statuses}")
    print(f"failures found: {len(total.failures)}")
    print(f"duration: {elapsed:.0f} s")
    if total.failures:
        args.failures.write_text(total.failure_text() + "\n", encoding="utf-8")
        for failure in total.failures:
            print(f"  {failure.operation}: {failure.message.splitlines()[0]}")
        print(f"details and reproductions: {args.failures}")
        return 1
    return 0


def _progress(report) -> None:
    mark = "FAIL" if report.failures else "ok"
    print(
        f"  {report.operations[0]:<58} {report.examples:>5} requests {report.seconds:6.1f} s "
        f"{mark}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
