"""``manage.py build_faq``: mine FAQ candidates from the inquiry logs, in this process."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from frontoffice.errors import ApplicationError
from inquiries.faq import embeddings, runs, services
from inquiries.models import FaqCandidate, FaqCandidateStatus, FaqMethod

SHOWN = 10


class Command(BaseCommand):
    help = (
        "Group the questions of the inquiries opened from --since to --until (both days "
        "included; default: the last FRONTOFFICE_FAQ_WINDOW_DAYS days up to yesterday) into FAQ "
        "candidates, and print the best ranked. A rerun updates the same candidates; rejected "
        "ones stay rejected. --method embeddings needs the optional extra "
        "(requirements-embeddings.txt)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="first day, YYYY-MM-DD")
        parser.add_argument("--until", help="last day, YYYY-MM-DD")
        parser.add_argument("--method", choices=FaqMethod.values, help="default: the setting")
        parser.add_argument(
            "--distance-threshold",
            type=float,
            help="group while the mean cosine distance stays below this (default per method)",
        )
        parser.add_argument("--min-group-size", type=int, help="smallest group proposed")

    def handle(self, *args, **options) -> None:
        try:
            since, until = runs.mining_period(options["since"], options["until"])
        except ValueError as exc:
            raise CommandError(f"Dates are YYYY-MM-DD: {exc}") from exc
        if options["min_group_size"] is not None and options["min_group_size"] < 1:
            raise CommandError("--min-group-size must be 1 or more.")
        try:
            result = services.faq_candidates_build(
                since=since,
                until=until,
                method=options["method"],
                distance_threshold=options["distance_threshold"],
                min_group_size=options["min_group_size"],
            )
        except embeddings.EmbeddingsUnavailableError as exc:
            raise CommandError(str(exc)) from exc
        except ApplicationError as exc:
            details = [message for messages in exc.errors.values() for message in messages]
            raise CommandError(" ".join(dict.fromkeys([exc.message, *details]))) from exc
        self.stdout.write(
            f"{result.since}..{result.until} ({result.method}): {result.inquiries} inquiries, "
            f"{result.groups} groups; {result.created} candidates new, {result.updated} updated, "
            f"{result.removed} removed, {result.covered} covered by the FAQ; {result.seconds} s"
        )
        top = FaqCandidate.objects.filter(status=FaqCandidateStatus.NEW).order_by("rank")[:SHOWN]
        for candidate in top:
            covered = (
                f" [covered by FAQ #{candidate.covered_by_id}]" if candidate.covered_by_id else ""
            )
            self.stdout.write(
                f"  #{candidate.rank:>3} {candidate.volume:>6} inquiries "
                f"{candidate.total_handling_seconds / 3600:>8.1f} h  "
                f"conf {candidate.confidence:.2f}  {candidate.question[:80]}{covered}"
            )
