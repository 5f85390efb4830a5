"""``manage.py import_deals FOLDER``: import the Maven "CRM Sales Opportunities" data set.

See ``pipeline.deal_imports`` for the files and what each row becomes.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from frontoffice.errors import ApplicationError
from frontoffice.management.progress import phase_progress, refusal
from pipeline.deal_imports import MavenImportResult, deals_import_maven, maven_data_read


class Command(BaseCommand):
    help = (
        "Import the Maven Analytics 'CRM Sales Opportunities' data set from FOLDER "
        "(accounts.csv, products.csv, sales_teams.csv, sales_pipeline.csv). "
        "Agents become active users with the Sales rep role and an unusable password "
        "(username from the name: 'anna.snelling'), managers users with the Manager role, "
        "each supervising a sales team named '<regional office> (<manager>)' of their agents. "
        "Companies become accounts, found by name so a re-run adds none twice (sector -> "
        "industry with the data's 'technolgy' read as 'Technology', employees -> size, "
        "office_location -> region). Products get a code from the name ('GTXPro' in the "
        "pipeline is 'GTX Pro'). Each opportunity becomes a USD deal with external_id = "
        "opportunity_id (already imported ones are left as they are): Prospecting -> list, "
        "Engaging -> opportunity, Won -> won, Lost -> lost, with stage history dated by "
        "engage_date and close_date (Prospecting rows, which have no date, are listed at the "
        "file's latest date); amount = close_value for won/lost deals, the product's price "
        "for open ones; deals without an account have none. Accounts with won deals become "
        "customers from their first won close date. No timeline touchpoints are written for "
        "the historic deals (there are no contacts). Any bad line (missing file or column, "
        "bad date, unknown stage, agent, product or account) is reported with its line "
        "number and nothing is written: one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="the folder holding the four CSV files")
        parser.add_argument(
            "--dry-run", action="store_true", help="check the files and count only, write nothing"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar (off when not a TTY)"
        )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()
        folder: Path = options["folder"]
        try:
            data = maven_data_read(folder=folder)
            with phase_progress(unit="row", hidden=options["no_progress"]) as progress:
                result = deals_import_maven(
                    data=data, dry_run=options["dry_run"], progress=progress
                )
        except ApplicationError as exc:
            raise refusal(exc) from exc
        self._write_summary(result, seconds=time.perf_counter() - started)

    def _write_summary(self, result: MavenImportResult, *, seconds: float) -> None:
        would = "would be " if result.dry_run else ""
        per_stage = ", ".join(
            f"{stage} {count}" for stage, count in sorted(result.deals_per_stage.items())
        )
        lines = [
            "Dry run: nothing was written." if result.dry_run else "Maven CRM data imported.",
            f"  users {would}created      {result.users_created}",
            f"  teams {would}created      {result.teams_created}",
            f"  accounts {would}created   {result.accounts_created}",
            f"  products {would}created   {result.products_created}",
            f"  deals {would}created      {result.deals_created} ({per_stage or 'none'})",
            f"  deals already imported {result.deals_known}",
            f"  stage changes written  {result.stage_changes_created}",
            f"  new customers          {result.customers_marked}",
            f"  duration               {seconds:.1f} s",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
