"""The pipeline family on the real Maven "CRM Sales Opportunities" data: per agent (scope rep),
win rate and won amount over the whole data equal an independent computation over the CSV.

The data is imported once for the module (``import_deals``) inside a transaction rolled back at
the end, so other tests never see it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction

from frontoffice.kpis import pipeline
from frontoffice.kpis.periods import Period, Scope

FOLDER = Path(settings.BASE_DIR).parent / "shared" / "data" / "crm-sales-opportunities"
WHOLE_DATA = Period.parse("2016-10-01..2017-12-31")

pytestmark = [
    pytest.mark.skipif(
        not (FOLDER / "sales_pipeline.csv").exists(),
        reason=f"the Maven CRM data is not in {FOLDER} (see /work/shared/data)",
    ),
    pytest.mark.django_db,
]


def expected_per_agent() -> dict[str, dict]:
    """Straight from sales_pipeline.csv: won and lost deals and won close_value per agent."""
    figures: dict[str, dict] = defaultdict(lambda: {"won": 0, "lost": 0, "amount": Decimal(0)})
    with (FOLDER / "sales_pipeline.csv").open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            agent = figures[row["sales_agent"]]
            if row["deal_stage"] == "Won":
                agent["won"] += 1
                agent["amount"] += Decimal(row["close_value"])
            elif row["deal_stage"] == "Lost":
                agent["lost"] += 1
    return figures


@pytest.fixture(scope="module")
def maven(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("import_deals", str(FOLDER), no_progress=True)
        yield {
            name: user_id
            for user_id, name in get_user_model()
            .objects.filter(deals__isnull=False)
            .distinct()
            .values_list("pk", "username")
        }
        transaction.set_rollback(True)


def test_it_gives_each_agents_win_rate_and_won_amount_as_the_csv_does(maven):
    expected = expected_per_agent()

    for agent, figures in sorted(expected.items()):
        user_id = maven[".".join(agent.lower().split())]
        computed = pipeline.compute(WHOLE_DATA, Scope("rep", str(user_id)))

        closed = figures["won"] + figures["lost"]
        assert (agent, computed["won"], computed["lost"]) == (
            agent,
            figures["won"],
            figures["lost"],
        )
        assert (agent, computed["win_rate"]) == (agent, round(figures["won"] / closed, 4))
        assert (agent, computed["won_amounts"]) == (agent, {"USD": f"{figures['amount']:.2f}"})


def test_it_gives_the_whole_datas_win_rate_and_won_amount(maven):
    expected = expected_per_agent()
    won = sum(figures["won"] for figures in expected.values())
    lost = sum(figures["lost"] for figures in expected.values())
    amount = sum(figures["amount"] for figures in expected.values())

    computed = pipeline.compute(WHOLE_DATA, Scope())

    assert (computed["won"], computed["lost"]) == (won, lost)
    assert computed["win_rate"] == round(won / (won + lost), 4)
    assert computed["won_amounts"] == {"USD": f"{amount:.2f}"}
    assert {rep["name"]: rep["won_amounts"]["USD"] for rep in computed["reps"]} == {
        agent: f"{figures['amount']:.2f}" for agent, figures in expected.items()
    }
