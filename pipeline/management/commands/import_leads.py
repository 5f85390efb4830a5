"""``manage.py import_leads FILE --campaign ID``: import an exhibition or event lead list (CSV).

See ``pipeline.imports`` for the file, the column mappings and what is written.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frontoffice.errors import ApplicationError
from frontoffice.management.progress import phase_progress
from pipeline.imports import ENCODINGS, MAPPINGS, LeadImportOutcome, leads_import
from pipeline.models import Campaign, LeadImport

SHOWN_ERRORS = 20


class Command(BaseCommand):
    help = (
        "Import a lead list (CSV: UTF-8 with or without BOM, or Shift_JIS) into a campaign. "
        "By default a file with any bad row is refused and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument(
            "--campaign",
            type=int,
            help="id of the campaign (exhibition, event) the list comes from; optional for "
            "the olist mappings (one campaign per origin)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count only, write nothing"
        )
        parser.add_argument(
            "--partial",
            action="store_true",
            help="import the good rows and write the bad ones to the reject file",
        )
        parser.add_argument(
            "--reject-file",
            type=Path,
            help="where --partial writes the bad rows (default: FILE-rejected.csv beside FILE)",
        )
        parser.add_argument("--encoding", choices=ENCODINGS, default="auto")
        parser.add_argument("--mapping", choices=sorted(MAPPINGS), default="standard")
        parser.add_argument(
            "--no-progress", action="store_true", help="no progress bar (off when not a TTY)"
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["reject_file"] and not options["partial"]:
            raise CommandError("--reject-file goes with --partial.")
        reject_path = self._reject_path(path, options)
        campaign = self._campaign(options["campaign"])
        with phase_progress(
            unit="row", hidden=options["no_progress"], first_phase="reading"
        ) as progress:
            try:
                outcome = leads_import(
                    content=path.read_bytes(),
                    file_name=path.name,
                    campaign=campaign,
                    dry_run=options["dry_run"],
                    partial=options["partial"],
                    encoding=options["encoding"],
                    mapping=options["mapping"],
                    progress=progress,
                )
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
        self._write_summary(outcome)
        if outcome.refused:
            raise CommandError(self._refusal(outcome))
        if reject_path is not None and outcome.parsed.rejected:
            reject_path.write_bytes(outcome.reject_file())
            self.stdout.write(
                f"{len(outcome.parsed.rejected)} rejected rows written to {reject_path}"
            )

    def _campaign(self, campaign_id: int | None) -> Campaign | None:
        if campaign_id is None:
            return None
        campaign = Campaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"No campaign with id {campaign_id}.")
        return campaign

    def _reject_path(self, path: Path, options: dict) -> Path | None:
        if not options["partial"]:
            return None
        reject_path = options["reject_file"] or path.with_name(f"{path.stem}-rejected.csv")
        folder = reject_path.parent
        # Checked before importing: the good rows must not be committed with nowhere for the bad.
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise CommandError(f"Cannot write the reject file in {folder}.")
        return reject_path

    def _write_summary(self, outcome: LeadImportOutcome) -> None:
        run = outcome.lead_import
        good = run.total_rows - run.rejected_rows
        lines = [
            f"Lead import #{run.pk}: {run.get_status_display()}",
            f"  file            {run.file_name} ({run.encoding})",
            f"  campaign        {run.campaign or '(per row)'}",
            f"  rows            {run.total_rows} ({good} good, {run.rejected_rows} bad)",
        ]
        if not outcome.refused:
            lines += [
                f"  new contacts    {run.created_contacts}",
                f"  known contacts  {run.matched_contacts}",
                f"  merged rows     {run.merged_rows} (same person as an earlier row)",
                f"  new accounts    {outcome.new_accounts}",
            ]
        if outcome.parsed.ignored_columns:
            lines.append(f"  ignored columns {', '.join(outcome.parsed.ignored_columns)}")
        lines.append(f"  duration        {run.duration_ms / 1000:.1f} s")
        style = self.style.SUCCESS if run.status == LeadImport.Status.IMPORTED else str
        self.stdout.write(style("\n".join(lines)))
        if outcome.parsed.rejected and not outcome.refused:
            self.stdout.write(self._bad_lines(outcome))

    def _bad_lines(self, outcome: LeadImportOutcome) -> str:
        rejected = outcome.parsed.rejected
        shown = [f"  line {row.line}: {row.reason}" for row in rejected[:SHOWN_ERRORS]]
        if len(rejected) > SHOWN_ERRORS:
            shown.append(f"  ... and {len(rejected) - SHOWN_ERRORS} more")
        return "Bad rows:\n" + "\n".join(shown)

    def _refusal(self, outcome: LeadImportOutcome) -> str:
        return (
            f"{len(outcome.parsed.rejected)} bad rows: nothing was imported. Fix them, or use "
            f"--partial to import the good rows.\n{self._bad_lines(outcome)}"
        )
