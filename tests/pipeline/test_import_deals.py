"""``manage.py import_deals``: the Maven "CRM Sales Opportunities" data set.

The tests on the real files are skipped when the folder is absent; the expected figures are
read from the CSV itself (and checked against the published counts).
"""

from __future__ import annotations

import csv
import datetime
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from accounts import roles
from accounts.models import Account, Team
from pipeline.models import Deal, DealStageChange, Product

pytestmark = pytest.mark.django_db

DATA = Path("/work/shared/data/crm-sales-opportunities")
needs_data = pytest.mark.skipif(
    not (DATA / "sales_pipeline.csv").is_file(),
    reason=f"the Maven CRM data set is not in {DATA}",
)
STAGE_OF = {"Prospecting": "list", "Engaging": "opportunity", "Won": "won", "Lost": "lost"}


def _import(folder: Path, *options: str) -> str:
    out = io.StringIO()
    call_command("import_deals", str(folder), "--no-progress", *options, stdout=out)
    return out.getvalue()


def _pipeline_rows() -> list[dict[str, str]]:
    with (DATA / "sales_pipeline.csv").open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _midnight(day: str) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(day))


@pytest.fixture(scope="class")
def imported(django_db_setup, django_db_blocker) -> Iterator[str]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield _import(DATA)
        transaction.set_rollback(True)


# --- The real data set --------------------------------------------------------------------------


@needs_data
@pytest.mark.usefixtures("imported")
class TestTheRealDataSet:
    """Imported once for the class (a few seconds), rolled back after its last test."""

    def test_it_imports_as_many_deals_per_stage_as_the_csv_has(self):
        expected = Counter(STAGE_OF[row["deal_stage"]] for row in _pipeline_rows())

        per_stage = Counter(dict(Deal.objects.values_list("stage").annotate(n=Sum(1))))

        assert per_stage == expected
        assert dict(expected) == {"list": 500, "opportunity": 1589, "won": 4238, "lost": 2473}

    def test_it_imports_each_agents_won_amount(self):
        expected: dict[str, Decimal] = defaultdict(Decimal)
        for row in _pipeline_rows():
            if row["deal_stage"] == "Won":
                username = ".".join(row["sales_agent"].lower().split())
                expected[username] += Decimal(row["close_value"])

        won = dict(
            Deal.objects.filter(stage="won")
            .values_list("owner__username")
            .annotate(total=Sum("amount"))
        )

        assert won == expected
        assert len(won) == 30

    def test_it_writes_a_won_deal_with_its_dated_stage_history(self):
        deal = Deal.objects.select_related("owner", "team", "account").get(external_id="1C1I7A6R")

        assert (
            deal.name,
            deal.stage,
            deal.amount,
            deal.currency,
            deal.owner.username,
            deal.team.name,
            deal.account.name,
            deal.closed_at,
            deal.probability,
        ) == (
            "GTX Plus Basic for Cancity",
            "won",
            Decimal("1054.00"),
            "USD",
            "moses.frase",
            "Central (Dustin Brinkmann)",
            "Cancity",
            _midnight("2017-03-01"),
            100,
        )
        assert list(
            deal.stage_changes.order_by("created_at", "id").values_list(
                "from_stage", "to_stage", "created_at", "amount"
            )
        ) == [
            ("", "list", _midnight("2016-10-20"), Decimal("1054.00")),
            ("list", "opportunity", _midnight("2016-10-20"), Decimal("1054.00")),
            ("opportunity", "won", _midnight("2017-03-01"), Decimal("1054.00")),
        ]

    def test_it_prices_open_deals_at_the_products_price_and_lists_prospects_on_the_last_day(self):
        rows = _pipeline_rows()
        prospect = next(row for row in rows if row["deal_stage"] == "Prospecting")
        last_day = max(
            day for row in rows for day in (row["engage_date"], row["close_date"]) if day
        )
        prices = {"GTXPro": "4821"}
        with (DATA / "products.csv").open(newline="", encoding="utf-8") as file:
            prices.update({row["product"]: row["sales_price"] for row in csv.DictReader(file)})

        deal = Deal.objects.get(external_id=prospect["opportunity_id"])

        assert (deal.stage, deal.amount, deal.created_at, deal.closed_at) == (
            "list",
            Decimal(prices[prospect["product"]]),
            _midnight(last_day),
            None,
        )
        assert list(deal.stage_changes.values_list("from_stage", "to_stage", "created_at")) == [
            ("", "list", _midnight(last_day))
        ]

    def test_it_reads_gtxpro_in_the_pipeline_as_the_gtx_pro_product(self):
        deal = Deal.objects.get(external_id="Z063OYW0")

        assert deal.name == "GTX Pro for Isdom"
        assert list(Product.objects.order_by("code").values_list("code", "name", "unit_price")) == [
            ("GTK-500", "GTK 500", Decimal("26768.00")),
            ("GTX-BASIC", "GTX Basic", Decimal("550.00")),
            ("GTX-PLUS-BASIC", "GTX Plus Basic", Decimal("1096.00")),
            ("GTX-PLUS-PRO", "GTX Plus Pro", Decimal("5482.00")),
            ("GTX-PRO", "GTX Pro", Decimal("4821.00")),
            ("MG-ADVANCED", "MG Advanced", Decimal("3393.00")),
            ("MG-SPECIAL", "MG Special", Decimal("55.00")),
        ]

    def test_it_leaves_deals_of_opportunities_without_account_without_one(self):
        expected = sum(1 for row in _pipeline_rows() if not row["account"])

        assert Deal.objects.filter(account__isnull=True).count() == expected == 1425

    def test_it_makes_each_manager_the_supervisor_of_a_team_of_their_agents(self):
        team = Team.objects.select_related("supervisor").get(name="Central (Dustin Brinkmann)")

        assert (team.kind, team.supervisor.username) == ("sales", "dustin.brinkmann")
        assert sorted(team.members.values_list("username", flat=True)) == [
            "anna.snelling",
            "cecily.lampkin",
            "dustin.brinkmann",
            "lajuana.vencill",
            "moses.frase",
            "versie.hillebrand",
        ]
        assert Team.objects.count() == 6
        assert list(team.supervisor.groups.values_list("name", flat=True)) == [roles.MANAGER]

    def test_it_makes_agents_active_sales_reps_without_a_usable_password(self):
        agent = get_user_model().objects.get(username="anna.snelling")

        assert (agent.first_name, agent.last_name, agent.is_active) == ("Anna", "Snelling", True)
        assert agent.has_usable_password() is False
        assert list(agent.groups.values_list("name", flat=True)) == [roles.SALES_REP]

    def test_it_creates_accounts_with_industry_size_and_region(self):
        account = Account.objects.get(name="Acme Corporation")

        assert (account.industry, account.size, account.region) == (
            "Technology",
            "1000+",
            "United States",
        )
        assert Account.objects.count() == 85
        assert Account.objects.get(name="Bioholding").region == "Philippines"

    def test_it_makes_accounts_customers_from_their_first_won_deal(self):
        first_won: dict[str, str] = {}
        for row in _pipeline_rows():
            if row["deal_stage"] == "Won":
                day = first_won.get(row["account"])
                first_won[row["account"]] = (
                    min(day, row["close_date"]) if day else row["close_date"]
                )

        since = dict(Account.objects.values_list("name", "customer_since"))

        assert since == {name: _midnight(day) for name, day in first_won.items()}

    def test_it_imports_nothing_new_when_run_again(self):
        before = (
            Deal.objects.count(),
            DealStageChange.objects.count(),
            Account.objects.count(),
            get_user_model().objects.count(),
            Team.objects.count(),
            Deal.objects.aggregate(Max("updated_at"))["updated_at__max"],
        )

        output = _import(DATA)

        after = (
            Deal.objects.count(),
            DealStageChange.objects.count(),
            Account.objects.count(),
            get_user_model().objects.count(),
            Team.objects.count(),
            Deal.objects.aggregate(Max("updated_at"))["updated_at__max"],
        )
        assert after == before
        assert before[:2] == (8800, 23811)
        assert "deals already imported 8800" in output


@needs_data
def test_it_writes_nothing_on_a_dry_run():
    users = get_user_model().objects.count()

    output = _import(DATA, "--dry-run")

    assert "deals would be created      8800" in output
    assert (Deal.objects.count(), Account.objects.count(), Product.objects.count()) == (0, 0, 0)
    assert get_user_model().objects.count() == users


# --- Small files written here -------------------------------------------------------------------

GOOD_FILES = {
    "sales_teams.csv": "sales_agent,manager,regional_office\r\nAnna Snelling,Dustin Brinkmann,"
    "Central\r\n",
    "accounts.csv": "account,sector,year_established,revenue,employees,office_location,"
    "subsidiary_of\r\nCancity,retail,2001,718.62,2448,United States,\r\n",
    "products.csv": "product,series,sales_price\r\nGTX Pro,GTX,4821\r\n",
    "sales_pipeline.csv": "opportunity_id,sales_agent,product,account,deal_stage,engage_date,"
    "close_date,close_value\r\n"
    "AAA,Anna Snelling,GTXPro,Cancity,Won,2017-01-02,2017-02-03,4500\r\n"
    "BBB,Anna Snelling,GTX Pro,,Engaging,2017-01-05,,\r\n",
}


def _folder(tmp_path: Path, **replaced: str | None) -> Path:
    for name, content in {**GOOD_FILES, **replaced}.items():
        if content is not None:
            (tmp_path / name).write_text(content, encoding="utf-8", newline="")
    return tmp_path


def _nothing_written() -> bool:
    return (
        Deal.objects.count(),
        Account.objects.count(),
        Product.objects.count(),
        Team.objects.count(),
        get_user_model().objects.filter(username="anna.snelling").exists(),
    ) == (0, 0, 0, 0, False)


def test_it_imports_a_small_folder(tmp_path):
    _import(_folder(tmp_path))

    assert sorted(Deal.objects.values_list("external_id", "stage", "amount")) == [
        ("AAA", "won", Decimal("4500.00")),
        ("BBB", "opportunity", Decimal("4821.00")),
    ]


PIPELINE_HEADER = GOOD_FILES["sales_pipeline.csv"].split("\r\n")[0]
GOOD_ROW = GOOD_FILES["sales_pipeline.csv"].split("\r\n")[1]


@pytest.mark.parametrize(
    ("replaced", "message"),
    [
        (
            {
                "sales_pipeline.csv": f"{PIPELINE_HEADER}\r\n{GOOD_ROW}\r\n"
                "CCC,Anna Snelling,GTX Pro,Cancity,Closing,2017-01-02,,\r\n"
            },
            "sales_pipeline.csv line 3: unknown deal_stage 'Closing'",
        ),
        (
            {
                "sales_pipeline.csv": f"{PIPELINE_HEADER}\r\n"
                "CCC,Anna Snelling,GTX Pro,Cancity,Won,2017-01-02,03/02/2017,10\r\n"
            },
            "sales_pipeline.csv line 2: close_date '03/02/2017' is not a date (YYYY-MM-DD)",
        ),
        (
            {
                "sales_pipeline.csv": f"{PIPELINE_HEADER}\r\n{GOOD_ROW}\r\n"
                "CCC,Nobody Known,GTX Pro,Cancity,Engaging,2017-01-02,,\r\n"
            },
            "sales_pipeline.csv line 3: sales agent 'Nobody Known' is not in sales_teams.csv",
        ),
        (
            {"sales_pipeline.csv": f"{PIPELINE_HEADER}\r\n{GOOD_ROW}\r\n{GOOD_ROW}\r\n"},
            "sales_pipeline.csv line 3: opportunity 'AAA' is also on line 2",
        ),
        (
            {"products.csv": "product,series\r\nGTX Pro,GTX\r\n"},
            "products.csv line 1: missing column(s): sales_price",
        ),
        ({"accounts.csv": None}, "accounts.csv: missing"),
    ],
    ids=["unknown-stage", "bad-date", "unknown-agent", "duplicate-id", "no-column", "no-file"],
)
def test_it_refuses_a_broken_folder_with_the_line_and_writes_nothing(tmp_path, replaced, message):
    with pytest.raises(CommandError) as refused:
        _import(_folder(tmp_path, **replaced))

    assert message in str(refused.value)
    assert "nothing was imported" in str(refused.value)
    assert _nothing_written()


def test_it_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="no such folder"):
        _import(tmp_path / "absent")
