"""``manage.py import_tickets``: the support tickets CSV, all or nothing, idempotent."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Contact
from inquiries.models import Inquiry, InquiryStatusChange, Message
from inquiries.ticket_imports import CHANNELS, PRIORITIES, STATUSES

DATA = Path(__file__).resolve().parents[2].parent / "shared/data/customer-support-tickets"
REAL_CSV = DATA / "customer_support_tickets.csv"
HEADER = (
    "Ticket ID,Customer Name,Customer Email,Customer Age,Customer Gender,Product Purchased,"
    "Date of Purchase,Ticket Type,Ticket Subject,Ticket Description,Ticket Status,Resolution,"
    "Ticket Priority,Ticket Channel,First Response Time,Time to Resolution,"
    "Customer Satisfaction Rating\n"
)
ROWS = [
    "1,Ann Lee,ann@example.com,30,Female,GoPro Hero,2021-03-22,Refund request,Broken,"
    '"My {product_purchased}\nis broken.",Closed,Refunded.,Critical,Email,'
    "2023-06-01 12:00:00,2023-06-01 10:00:00,4.0\n",
    "2,Bob Ito,bob@example.com,40,Male,Dell XPS,2021-05-22,Technical issue,No power,"
    "It does not start.,Pending Customer Response,,Low,Phone,2023-06-01 09:00:00,,\n",
    "3,Ann Lee,ann@example.com,30,Female,LG TV,2021-05-22,Billing inquiry,Invoice,"
    "Wrong invoice.,Open,,Medium,Social media,,,\n",
]


def _csv(tmp_path: Path, rows=ROWS) -> Path:
    path = tmp_path / "tickets.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def _run(path: Path, *args: str) -> None:
    call_command("import_tickets", str(path), "--no-progress", *args, stdout=io.StringIO())


@pytest.mark.django_db
def test_it_maps_status_priority_and_channel(tmp_path):
    _run(_csv(tmp_path))

    assert sorted(Inquiry.objects.values_list("external_id", "status", "priority", "channel")) == [
        ("1", "closed", "urgent", "email"),
        ("2", "pending", "low", "phone"),
        ("3", "open", "normal", "social"),
    ]
    assert Contact.objects.filter(email="ann@example.com").count() == 1


@pytest.mark.django_db
def test_it_writes_the_status_history_of_a_closed_ticket(tmp_path):
    _run(_csv(tmp_path))

    closed = Inquiry.objects.get(external_id="1")
    assert list(
        InquiryStatusChange.objects.filter(inquiry=closed)
        .order_by("created_at", "id")
        .values_list("from_status", "to_status")
    ) == [("", "new"), ("new", "open"), ("open", "resolved"), ("resolved", "closed")]
    # The resolution time is before the first response: it is clamped to it.
    assert closed.resolved_at == closed.first_responded_at == closed.closed_at


@pytest.mark.django_db
def test_it_writes_the_description_and_the_resolution_as_messages(tmp_path):
    _run(_csv(tmp_path))

    closed = Inquiry.objects.get(external_id="1")
    assert list(closed.messages.order_by("created_at", "id").values_list("direction", "body")) == [
        ("inbound", "My GoPro Hero\nis broken."),
        ("outbound", "Refunded."),
    ]
    assert closed.category == "Refund request"
    assert closed.contact.touchpoints.count() == 3


@pytest.mark.django_db
def test_it_adds_nothing_when_run_again(tmp_path):
    path = _csv(tmp_path)
    _run(path)

    _run(path)

    assert (Inquiry.objects.count(), Message.objects.count(), Contact.objects.count()) == (3, 4, 2)


@pytest.mark.django_db
def test_it_writes_nothing_on_a_dry_run(tmp_path):
    _run(_csv(tmp_path), "--dry-run")

    assert (Inquiry.objects.count(), Contact.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_it_reports_a_bad_line_and_writes_nothing(tmp_path):
    bad = ROWS[2].replace("Social media", "Pigeon")

    with pytest.raises(CommandError) as refused:
        _run(_csv(tmp_path, [ROWS[0], ROWS[1], bad]))

    # Row 1 spans two lines of the file (a quoted line break): row 3 starts on line 5.
    assert "line 5: unknown Ticket Channel 'Pigeon'." in str(refused.value)
    assert (Inquiry.objects.count(), Contact.objects.count()) == (0, 0)


@pytest.mark.django_db
def test_it_reports_a_missing_column(tmp_path):
    path = tmp_path / "tickets.csv"
    path.write_text("Ticket ID,Customer Email\n1,a@b.co.jp\n", encoding="utf-8")

    with pytest.raises(CommandError) as refused:
        _run(path)

    assert "line 1: missing column(s): Customer Name" in str(refused.value)


@pytest.mark.skipif(not REAL_CSV.exists(), reason=f"the support tickets data is not at {DATA}")
@pytest.mark.django_db
def test_it_imports_the_real_data_with_the_csvs_counts():
    with REAL_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = {
        "channel": Counter(CHANNELS[row["Ticket Channel"]] for row in rows),
        "priority": Counter(PRIORITIES[row["Ticket Priority"]] for row in rows),
        "status": Counter(STATUSES[row["Ticket Status"]] for row in rows),
    }

    _run(REAL_CSV)
    _run(REAL_CSV)

    assert Inquiry.objects.count() == len(rows)
    for field, counts in expected.items():
        assert Counter(Inquiry.objects.values_list(field, flat=True)) == counts
