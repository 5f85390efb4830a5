"""CSV files we hand out are safe to open in a spreadsheet: no cell runs as a formula.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which spreadsheets
skip before reading one of those) is a formula to Excel, LibreOffice and Google Sheets:
`=cmd|' /C calc'!A0` in a company name would run a program on the machine of whoever opens the
export (CSV injection, OWASP). Every CSV we write goes through `SafeCsvWriter`, which puts a `'`
before such a text cell: spreadsheets show the text as typed and drop the `'` when they save.
The full-width forms of the four get the same treatment: Japanese spreadsheets read them as the
ASCII ones. Numbers (int, Decimal, float) are written as they are, so `-5` stays a number.

Imports do the opposite of nothing: a cell like `=cmd|...` is stored as the text it is, never
evaluated, and comes back out of any export escaped (`tests/reliability/test_broken_inputs.py`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

# And their full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
ESCAPE = "'"


def escape_formula(value: Any) -> Any:
    """The value as a spreadsheet must see it: text that would start a formula gets a `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return ESCAPE + value
    return value


def cell(value: Any) -> Any:
    """One value as a CSV cell: None empty, times in local ISO format, text escaped."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return value
    return escape_formula(str(value))


class SafeCsvWriter:
    """`csv.writer` whose text cells cannot start a formula (see the module docstring)."""

    def __init__(self, stream, **kwargs: Any) -> None:
        kwargs.setdefault("lineterminator", "\r\n")
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The file line by line (for a streaming response), header first."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    for row in _with_header(header, rows):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_header(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[Iterable[Any]]:
    yield header
    yield from rows


def csv_download(
    *, file_name: str, header: Sequence[str], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """A CSV attachment in UTF-8 with a BOM (Excel then reads Japanese text correctly),
    streamed row by row so a large export never sits in memory."""

    def content() -> Iterator[bytes]:
        yield "\ufeff".encode()
        for line in csv_lines(header, rows):
            yield line.encode("utf-8")

    response = StreamingHttpResponse(content(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response
