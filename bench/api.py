"""Benchmark of the API's hot paths on a seeded database; prints its figures.

    .venv/bin/python bench/api.py                        # SQLite scratch file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/frontoffice_bench .venv/bin/python bench/api.py
    .venv/bin/python bench/api.py --contacts 20000 --repeat 200

It seeds its own scratch database with `seed_demo --reset` (never point it at real data), then
times API reads (contacts, timeline, deals and the pipeline board, quotes, daily reports) through
Django's test client with token auth as a rep and as a manager, and the identity-resolution,
journey and deal-move services. Figures are per call: median and 95th percentile.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_postgres_database  # noqa: E402


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _report(name: str, samples: list[float], queries: int | None = None) -> None:
    median = statistics.median(samples) * 1000
    p95 = _percentile(samples, 0.95) * 1000
    extra = f"  queries/call={queries}" if queries is not None else ""
    print(f"{name:<44} median={median:7.2f} ms  p95={p95:7.2f} ms  n={len(samples)}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()

    os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/frontoffice-bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    if os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        ensure_postgres_database(os.environ["DATABASE_URL"])
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from accounts import services
    from accounts.models import Contact, JourneyStage, Touchpoint
    from pipeline import deals
    from pipeline.models import Deal, Quote

    print(f"database: {connection.vendor}  contacts: {args.contacts}  repeat: {args.repeat}")
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command(
        "seed_demo", reset=True, contacts=args.contacts, no_progress=True, stdout=io.StringIO()
    )
    print(
        f"seed_demo: {time.perf_counter() - started:.1f} s for {Contact.objects.count()} contacts, "
        f"{Touchpoint.objects.count()} touchpoints"
    )

    user = get_user_model().objects.get(username="rep1")
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    busiest = (
        Contact.objects.annotate(n=django.db.models.Count("touchpoints")).order_by("-n").first()
    )

    def timed_get(url: str, client=client) -> tuple[list[float], int]:
        samples = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = client.get(url, secure=True)
            samples.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise SystemExit(f"{url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, secure=True)
        return samples, len(ctx.captured_queries)

    for label, url in (
        ("GET /contacts/ (page of 50)", "/api/v1/contacts/"),
        ("GET /contacts/?stage=lead&q=a", "/api/v1/contacts/?stage=lead&q=a"),
        ("GET /accounts/ (page of 50)", "/api/v1/accounts/"),
        (
            f"GET /contacts/{{id}}/timeline/ ({busiest.n} rows)",
            f"/api/v1/contacts/{busiest.pk}/timeline/",
        ),
        ("GET /touchpoints/ (page of 50)", "/api/v1/touchpoints/"),
    ):
        samples, queries = timed_get(url)
        _report(label, samples, queries)

    manager = APIClient(SERVER_NAME="localhost")
    manager_user = get_user_model().objects.get(username="manager1")
    manager.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=manager_user)[0].key}"
    )
    print(f"deals: {Deal.objects.count()}  quotes: {Quote.objects.count()}")
    for label, url, as_client in (
        ("GET /deals/ as rep (page of 50)", "/api/v1/deals/", client),
        ("GET /deals/ as manager (team, page of 50)", "/api/v1/deals/", manager),
        (
            "GET /deals/?stage=quote&amount_min=1000000",
            "/api/v1/deals/?stage=quote&amount_min=1000000",
            manager,
        ),
        ("GET /deals/summary/ as manager (board)", "/api/v1/deals/summary/", manager),
        ("GET /quotes/ as manager", "/api/v1/quotes/", manager),
        ("GET /daily-reports/ as manager", "/api/v1/daily-reports/", manager),
    ):
        samples, queries = timed_get(url, client=as_client)
        _report(label, samples, queries)

    samples = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        services.contact_resolve(
            email=f"bench{i}@bench-corp.example.com", name=f"Bench {i}", company="Bench Corp"
        )
        samples.append(time.perf_counter() - t0)
    _report("contact_resolve (new person)", samples)

    samples = []
    for i in range(args.repeat):
        t0 = time.perf_counter()
        services.contact_resolve(email=f"bench{i}@bench-corp.example.com")
        samples.append(time.perf_counter() - t0)
    _report("contact_resolve (known email)", samples)

    samples = []
    for contact in Contact.objects.filter(stage=JourneyStage.AWARENESS)[: args.repeat]:
        t0 = time.perf_counter()
        services.journey_move(contact=contact, to_stage=JourneyStage.LEAD, cause="bench")
        samples.append(time.perf_counter() - t0)
    _report("journey_move (awareness -> lead)", samples)

    samples = []
    for deal in Deal.objects.filter(stage="list").select_related("contact", "account")[
        : args.repeat
    ]:
        t0 = time.perf_counter()
        deals.deal_move(deal=deal, to_stage="proposal", actor=user)
        samples.append(time.perf_counter() - t0)
    _report("deal_move (list -> proposal)", samples)


if __name__ == "__main__":
    main()
