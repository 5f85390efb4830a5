"""Lead list import: exhibition and event visitor lists (CSV) become leads on one customer record.

``leads_import`` reads a CSV file, checks every row, and writes for every good row the contact
(found or created by identity resolution, with its account), a touchpoint with the campaign,
and the journey moved to at least ``lead``, all in one transaction; a ``LeadImport`` row records
the run. The command ``manage.py import_leads``, the admin upload and ``POST /api/v1/lead-imports/``
all call it.

File
----
* Encoding (``encoding="auto"``): UTF-8 with or without BOM, Shift_JIS (read as CP932, the
  Windows superset Japanese exhibition systems and Excel write), and UTF-16 with a BOM (Excel's
  "Unicode text"). ``utf-8`` or ``shift_jis`` force one.
* Separator: comma, tab or semicolon, whichever the header line has most of.
* The first non-blank line is the header; header = line 1 when it is the first line. Line
  numbers in every report are physical lines of the file (a quoted value with line breaks
  spans several; its row is reported at its first line). Blank lines and rows with only empty
  cells are skipped.

Column mapping ``standard`` (the default)
-----------------------------------------
Header names are matched case-insensitively, full-width letters as half-width, ignoring spaces,
``_ - . ・ : *`` and brackets: ``E-mail``, ``e_mail`` and a full-width ``EMAIL`` are the same.

=============  ==========================================================================
field          header names accepted
=============  ==========================================================================
email          email, e-mail, email address, mail, mail address, メールアドレス, メール,
               Eメール, Eメールアドレス, 電子メール, 電子メールアドレス
phone          phone, phone number, tel, telephone, mobile, cell, 電話番号, 電話, TEL,
               携帯電話, 携帯, 携帯番号, 連絡先電話番号
name           name, full name, contact name, 氏名, お名前, 名前, 担当者名, ご担当者名, 担当者
last_name      last name, family name, surname, 姓, 名字, 苗字
first_name     first name, given name, 名
company        company, company name, organization, organisation, account, 会社名, 会社,
               企業名, 法人名, 勤務先, 貴社名, 御社名, 団体名
website        website, web site, url, domain, homepage, company url, ホームページ,
               ウェブサイト, 会社URL, ドメイン
title          title, job title, position, role, 役職, 役職名
department     department, dept, division, 部署, 部署名, 所属部署, 部門
first_contact  first contact, first contact date, date, visit date, visited at, visited on,
               contact date, occurred at, 来場日, 来場日時, 日付, 日時, 接触日, 名刺交換日,
               受付日時, 登録日
origin         origin, source, lead source, 流入元, 経路, 獲得経路, きっかけ
kind           kind, touchpoint kind, 種別
channel        channel, チャネル
note           note, notes, memo, comment, comments, remarks, 備考, メモ, コメント
=============  ==========================================================================

* The header needs an email or a phone column; other columns are ignored (and listed).
* Every row needs an email or a phone number. ``name`` wins over ``last_name``/``first_name``;
  without it they are joined: "山田 太郎" (family name first) when either part is Japanese or
  Chinese script, "Taro Yamada" otherwise.
* Limits: name, company 200 characters; email 254 (and valid); phone 40 (and at least 5
  digits); title, department 120; origin 100; note 300.
* ``website`` (or the email's domain when it is not a free-mail provider) finds the account;
  else the company name does; else a new account is made.
* ``first_contact``: ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``YYYY.MM.DD``, ``YYYY年M月D日``, each
  optionally followed by ``HH:MM[:SS]``, or ISO 8601 with an offset; without an offset in the
  site's time zone (``TIME_ZONE``). Blank: the time of the import. Not more than a day ahead,
  not before 1900. It dates the touchpoint and the move to ``lead``.
* ``kind`` (default ``event_visit``) and ``channel`` (default by kind: in person for event
  visits, visits and meetings, web for web visits, downloads, forms and surveys, ...) take the
  values of ``TouchpointKind`` and ``TouchpointChannel``.
* ``origin`` and ``note`` make the touchpoint's summary ("origin: …; note").

Column mapping ``olist`` (Olist marketing-qualified leads, ``olist_marketing_qualified_leads``)
----------------------------------------------------------------------------------------------
Columns ``mql_id, first_contact_date, landing_page_id, origin``; the file has no name, email or
phone. Each MQL is one person:

* identity: the synthetic address ``<mql_id>@olist-mql.invalid`` (``.invalid`` is reserved by
  RFC 2606 and never delivered), so importing the file twice finds the same contacts instead
  of doubling them. It makes no account (the address says nothing about an organisation).
* ``first_contact_date`` dates the touchpoint and the contact's first stage (``lead``).
* touchpoint kind ``form`` (an MQL filled in a landing-page form); the summary keeps the origin
  and the landing page id.
* ``origin``, with spaces as underscores (the Kaggle labels: ``paid search`` → ``paid_search``;
  blank → ``unknown``), picks the campaign ``Olist MQL: <origin>`` (made when missing, kind
  advertising for paid_search, display and other_publicities, email for email, referral for
  referral, web otherwise; status completed) and the channel (social → social, email → email,
  unknown, other and other_publicities → other, web otherwise). A campaign given to the import
  replaces the per-origin campaigns.

Column mapping ``olist-deals`` (``olist_closed_deals``)
-------------------------------------------------------
Columns ``mql_id, won_date, business_segment, lead_type, business_type, ...``: the same
synthetic identity; the contact moves to at least ``customer`` at ``won_date`` with a touchpoint
of kind ``order`` (channel ``sales_rep``) whose summary keeps segment, lead type and business
type. No campaign unless one is given.

Outcome
-------
By default a file with any bad row is refused and nothing is written but the ``LeadImport``
row (status ``refused``) listing every bad row's line and reason (the first 500 are stored).
``partial=True`` imports the good rows (status ``partial``) and ``reject_file()`` gives the bad
rows back as CSV: the original columns plus ``reason``, in the file's encoding. ``dry_run``
checks everything and counts new and known contacts and merged duplicate rows without writing
anything but the ``LeadImport`` row (status ``dry_run``). A file that cannot be used at all
(unreadable, no usable header, no rows, no campaign) raises ApplicationError and records nothing.

Rows of the same person (same normalised email, or phone) become one contact, its blanks filled
from later rows; known contacts are found by email, then phone (also through past merges), then
name within the company domain, and never doubled. Each row is one touchpoint (its source is
the ``LeadImport``). The journey only moves forward (a dormant or lost contact is reactivated; a
customer stays a customer), dated at the row's first contact or when the current stage began if
that is later, with a transition row whose cause is ``lead import #<id> (<campaign>)``.
"""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts import bulk
from accounts.models import JourneyStage, TouchpointChannel, TouchpointKind
from frontoffice.audit.models import AuditAction
from frontoffice.audit.services import audit_record
from frontoffice.csv_safety import SafeCsvWriter
from frontoffice.errors import ApplicationError
from pipeline.models import Campaign, LeadImport
from pipeline.services import campaign_create

User = AbstractBaseUser
# (phase, rows done, rows in all): "reading", "resolving", then "writing".
Progress = Callable[[str, int, int], None]

ENCODINGS = ("auto", "utf-8", "shift_jis")
MAX_STORED_ERRORS = 500
FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST_YEAR = 1900
REASON_COLUMN = "reason"
# What a LeadImport counts, as the admin and the API list them.
RUN_COUNTS = ("total_rows", "created_contacts", "matched_contacts", "merged_rows", "rejected_rows")


def max_file_bytes() -> int:
    """The largest file an upload may have (setting FRONTOFFICE_LEAD_IMPORT_MAX_BYTES)."""
    return settings.FRONTOFFICE_LEAD_IMPORT_MAX_BYTES


def _file_error(message: str) -> ApplicationError:
    return ApplicationError(message, errors={"file": [message]})


# --- Decoding -----------------------------------------------------------------------------------


def _line_of(content: bytes, offset: int) -> int:
    return content.count(b"\n", 0, offset) + 1


def decode_lead_file(content: bytes, *, encoding: str = "auto") -> tuple[str, str]:
    """The file's text and the encoding it was read with ("utf-8-sig", "utf-8", "cp932",
    "utf-16"). ApplicationError (field ``file``) when it cannot be read."""
    if encoding not in ENCODINGS:
        message = f"Unknown encoding {encoding!r}: use one of {', '.join(ENCODINGS)}."
        raise ApplicationError(message, errors={"encoding": [message]})
    if content.startswith((b"\xff\xfe", b"\xfe\xff")) and encoding == "auto":
        candidates = ["utf-16"]
    elif content.startswith(b"\xef\xbb\xbf") and encoding in ("auto", "utf-8"):
        candidates = ["utf-8-sig"]
    else:
        candidates = {"auto": ["utf-8", "cp932"], "utf-8": ["utf-8"], "shift_jis": ["cp932"]}[
            encoding
        ]
    failures = []
    for candidate in candidates:
        try:
            text = content.decode(candidate)
        except UnicodeDecodeError as exc:
            failures.append(f"not {candidate} (line {_line_of(content, exc.start)})")
            continue
        if "\x00" in text:
            # No text CSV has one: a binary file, or UTF-16 without its byte order mark.
            line = text.count("\n", 0, text.index("\x00")) + 1
            raise _file_error(
                f"Line {line} holds a NUL character: this is not a text CSV (UTF-16 needs its "
                "byte order mark). Save it as UTF-8 or Shift_JIS CSV."
            )
        return text, candidate
    raise _file_error(
        "The file cannot be read as text: "
        + "; ".join(failures)
        + ". Save it as UTF-8 or Shift_JIS CSV."
    )


# --- Values -------------------------------------------------------------------------------------

_DATE_RE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:時](\d{2})分?(?::(\d{2})秒?)?)?$"
)
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


class _Dates:
    """Parses the first-contact column; a file repeats the same few dates, so they are cached."""

    def __init__(self) -> None:
        self.now = timezone.now()
        self.zone = timezone.get_current_timezone()
        self.cache: dict[str, datetime | str] = {}

    def parse(self, text: str) -> datetime:
        """The moment, aware; ValueError with the reason."""
        text = text.strip()
        if not text:
            return self.now
        parsed = self.cache.get(text)
        if parsed is None:
            parsed = self.cache[text] = self._parse(text)
        if isinstance(parsed, str):
            raise ValueError(parsed)
        return parsed

    def _parse(self, text: str) -> datetime | str:
        normalised = unicodedata.normalize("NFKC", text)
        match = _DATE_RE.match(normalised)
        try:
            if match:
                parts = [int(part) if part else 0 for part in match.groups()]
                value = datetime(*parts)  # noqa: DTZ001 - made aware just below
            else:
                value = datetime.fromisoformat(normalised)
        except ValueError:
            return f"{text[:40]!r} is not a date (use YYYY-MM-DD, optionally with HH:MM)."
        if value.year < EARLIEST_YEAR:
            return f"{text[:40]!r} is too long ago."
        if timezone.is_naive(value):
            value = timezone.make_aware(value, self.zone)
        if value > self.now + FUTURE_TOLERANCE:
            return f"{text[:40]!r} is in the future."
        return value


def _joined_name(last_name: str, first_name: str) -> str:
    last_name, first_name = last_name.strip(), first_name.strip()
    if _CJK_RE.search(last_name + first_name):
        return f"{last_name} {first_name}".strip()
    return f"{first_name} {last_name}".strip()


def _checked_length(values: dict[str, str], name: str, limit: int, errors: dict) -> str:
    value = values.get(name, "").strip()
    if len(value) > limit:
        errors[name] = [f"At most {limit} characters (it has {len(value)})."]
    return value


CHANNEL_BY_KIND = {
    TouchpointKind.EVENT_VISIT: TouchpointChannel.IN_PERSON,
    TouchpointKind.VISIT: TouchpointChannel.IN_PERSON,
    TouchpointKind.MEETING: TouchpointChannel.IN_PERSON,
    TouchpointKind.WEB_VISIT: TouchpointChannel.WEB,
    TouchpointKind.CONTENT_DOWNLOAD: TouchpointChannel.WEB,
    TouchpointKind.FORM: TouchpointChannel.WEB,
    TouchpointKind.SURVEY: TouchpointChannel.WEB,
    TouchpointKind.EMAIL: TouchpointChannel.EMAIL,
    TouchpointKind.CALL: TouchpointChannel.PHONE,
    TouchpointKind.CHAT: TouchpointChannel.CHAT,
}


# --- Mappings -----------------------------------------------------------------------------------


@dataclass(slots=True)
class LeadRow:
    """A good row, ready to import."""

    line: int
    person: bulk.PersonRecord
    kind: str
    channel: str
    occurred_at: datetime
    summary: str
    # Mappings that give each row its campaign name it here (see ColumnMapping.campaign_for).
    campaign_key: str = ""


class RowError(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors

    def reason(self, titles: dict[str, str]) -> str:
        """One line: each field at fault by its column's title in the file."""
        return " ".join(
            f"{titles.get(name, name)}: {' '.join(messages)}"
            for name, messages in self.errors.items()
        )


@dataclass(frozen=True)
class ColumnMapping:
    """How the columns of one kind of file become lead rows."""

    name: str
    # field → the header names that mean it (normalised by _header_key).
    aliases: dict[str, tuple[str, ...]]
    # The header needs at least one of these fields.
    identity_fields: tuple[str, ...]
    build_row: Callable[[dict[str, str], int, _Dates], LeadRow]
    to_stage: str = JourneyStage.LEAD
    # Without a campaign given to the import: campaign_key → (campaign name, campaign kind);
    # None when the import must be given a campaign.
    campaign_for: Callable[[str], tuple[str, str] | None] | None = None


def _header_key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s_\-.・:*()\[\]「」【】]", "", folded)


STANDARD_ALIASES: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e-mail",
        "email address",
        "e-mail address",
        "mail",
        "mail address",
        "メールアドレス",
        "メール",
        "Eメール",
        "Eメールアドレス",
        "電子メール",
        "電子メールアドレス",
    ),
    "phone": (
        "phone",
        "phone number",
        "tel",
        "telephone",
        "mobile",
        "cell",
        "電話番号",
        "電話",
        "携帯電話",
        "携帯",
        "携帯番号",
        "連絡先電話番号",
    ),
    "name": (
        "name",
        "full name",
        "contact name",
        "氏名",
        "お名前",
        "名前",
        "担当者名",
        "ご担当者名",
        "担当者",
    ),
    "last_name": ("last name", "family name", "surname", "姓", "名字", "苗字"),
    "first_name": ("first name", "given name", "名"),
    "company": (
        "company",
        "company name",
        "organization",
        "organisation",
        "account",
        "会社名",
        "会社",
        "企業名",
        "法人名",
        "勤務先",
        "貴社名",
        "御社名",
        "団体名",
    ),
    "website": (
        "website",
        "web site",
        "url",
        "domain",
        "homepage",
        "company url",
        "ホームページ",
        "ウェブサイト",
        "会社URL",
        "ドメイン",
    ),
    "title": ("title", "job title", "position", "role", "役職", "役職名"),
    "department": ("department", "dept", "division", "部署", "部署名", "所属部署", "部門"),
    "first_contact": (
        "first contact",
        "first contact date",
        "date",
        "visit date",
        "visited at",
        "visited on",
        "contact date",
        "occurred at",
        "来場日",
        "来場日時",
        "日付",
        "日時",
        "接触日",
        "名刺交換日",
        "受付日時",
        "登録日",
    ),
    "origin": ("origin", "source", "lead source", "流入元", "経路", "獲得経路", "きっかけ"),
    "kind": ("kind", "touchpoint kind", "種別"),
    "channel": ("channel", "チャネル"),
    "note": ("note", "notes", "memo", "comment", "comments", "remarks", "備考", "メモ", "コメント"),
}


def _person(errors: dict[str, list[str]], **values) -> bulk.PersonRecord | None:
    try:
        return bulk.person_record(**values)
    except ApplicationError as exc:
        errors.update(exc.errors)
        return None


def _when(dates: _Dates, text: str, field_name: str, errors: dict) -> datetime | None:
    try:
        return dates.parse(text)
    except ValueError as exc:
        errors[field_name] = [str(exc)]
        return None


def _standard_row(values: dict[str, str], line: int, dates: _Dates) -> LeadRow:
    errors: dict[str, list[str]] = {}
    get = values.get
    name = get("name", "").strip() or _joined_name(get("last_name", ""), get("first_name", ""))
    person = _person(
        errors,
        email=get("email", ""),
        phone=get("phone", ""),
        name=name,
        company=get("company", ""),
        domain=get("website", ""),
        title=get("title", ""),
        department=get("department", ""),
    )
    if "domain" in errors:  # the column is the website
        errors["website"] = errors.pop("domain")
    occurred_at = _when(dates, get("first_contact", ""), "first_contact", errors)
    kind = get("kind", "").strip() or TouchpointKind.EVENT_VISIT
    if kind not in bulk.TOUCHPOINT_KINDS:
        errors["kind"] = [f"{kind!r} is not one of {', '.join(TouchpointKind.values)}."]
    channel = get("channel", "").strip() or CHANNEL_BY_KIND.get(kind, TouchpointChannel.OTHER)
    if channel not in bulk.TOUCHPOINT_CHANNELS:
        errors["channel"] = [f"{channel!r} is not one of {', '.join(TouchpointChannel.values)}."]
    origin = _checked_length(values, "origin", 100, errors)
    note = _checked_length(values, "note", 300, errors)
    if errors:
        raise RowError(errors)
    person.seen_at = occurred_at
    summary = "; ".join(part for part in (origin and f"origin: {origin}", note) if part)
    return LeadRow(line, person, kind, channel, occurred_at, summary[:300])


# Olist: origin → (campaign kind, touchpoint channel); other origins: ("web", "web").
OLIST_ORIGINS = {
    "paid_search": ("advertising", TouchpointChannel.WEB),
    "display": ("advertising", TouchpointChannel.WEB),
    "other_publicities": ("advertising", TouchpointChannel.OTHER),
    "email": ("email", TouchpointChannel.EMAIL),
    "referral": ("referral", TouchpointChannel.WEB),
    "social": ("web", TouchpointChannel.SOCIAL),
    "unknown": ("web", TouchpointChannel.OTHER),
    "other": ("web", TouchpointChannel.OTHER),
}
OLIST_EMAIL_DOMAIN = "olist-mql.invalid"
_MQL_ID_RE = re.compile(r"^[0-9a-f]{32}$")


def olist_origin(value: str) -> str:
    """The Kaggle label of an Olist origin ('paid search' → 'paid_search', blank → 'unknown')."""
    return re.sub(r"\s+", "_", value.strip().lower()) or "unknown"


def _olist_person(values: dict[str, str], errors: dict, seen_at: datetime | None):
    mql_id = values.get("mql_id", "").strip().lower()
    if not _MQL_ID_RE.match(mql_id):
        errors["mql_id"] = ["Expected 32 hexadecimal characters."]
        return None
    return _person(
        errors,
        email=f"{mql_id}@{OLIST_EMAIL_DOMAIN}",
        seen_at=seen_at,
        domain_from_email=False,
    )


def _olist_mql_row(values: dict[str, str], line: int, dates: _Dates) -> LeadRow:
    errors: dict[str, list[str]] = {}
    occurred_at = _when(dates, values.get("first_contact_date", ""), "first_contact_date", errors)
    person = _olist_person(values, errors, occurred_at)
    origin = olist_origin(values.get("origin", ""))
    if len(origin) > 100:
        errors["origin"] = ["At most 100 characters."]
    if errors:
        raise RowError(errors)
    _kind, channel = OLIST_ORIGINS.get(origin, ("web", TouchpointChannel.WEB))
    landing_page = values.get("landing_page_id", "").strip()[:40]
    summary = f"origin: {origin}" + (f"; landing page {landing_page}" if landing_page else "")
    return LeadRow(line, person, TouchpointKind.FORM, channel, occurred_at, summary, origin)


def _olist_campaign(origin: str) -> tuple[str, str]:
    return f"Olist MQL: {origin}", OLIST_ORIGINS.get(origin, ("web", ""))[0]


def _olist_deal_row(values: dict[str, str], line: int, dates: _Dates) -> LeadRow:
    errors: dict[str, list[str]] = {}
    if not values.get("won_date", "").strip():
        errors["won_date"] = ["A closed deal needs its won date."]
    occurred_at = _when(dates, values.get("won_date", ""), "won_date", errors)
    person = _olist_person(values, errors, occurred_at)
    if errors:
        raise RowError(errors)
    details = ", ".join(
        f"{name.replace('_', ' ')} {values[name].strip()}"
        for name in ("business_segment", "lead_type", "business_type")
        if values.get(name, "").strip()
    )
    summary = f"won: {details}" if details else "won"
    return LeadRow(
        line, person, TouchpointKind.ORDER, TouchpointChannel.SALES_REP, occurred_at, summary
    )


def _own_names(*names: str) -> dict[str, tuple[str, ...]]:
    return {name: (name,) for name in names}


MAPPINGS: dict[str, ColumnMapping] = {
    "standard": ColumnMapping(
        name="standard",
        aliases=STANDARD_ALIASES,
        identity_fields=("email", "phone"),
        build_row=_standard_row,
    ),
    "olist": ColumnMapping(
        name="olist",
        aliases=_own_names("mql_id", "first_contact_date", "landing_page_id", "origin"),
        identity_fields=("mql_id",),
        build_row=_olist_mql_row,
        campaign_for=_olist_campaign,
    ),
    "olist-deals": ColumnMapping(
        name="olist-deals",
        aliases=_own_names("mql_id", "won_date", "business_segment", "lead_type", "business_type"),
        identity_fields=("mql_id",),
        build_row=_olist_deal_row,
        to_stage=JourneyStage.CUSTOMER,
        campaign_for=lambda _key: None,
    ),
}


# --- Reading ------------------------------------------------------------------------------------


@dataclass(slots=True)
class RejectedRow:
    line: int
    cells: list[str]
    reason: str


@dataclass
class ParsedFile:
    encoding: str
    delimiter: str
    header: list[str]
    # header position → field, for the columns the mapping knows.
    columns: dict[int, str]
    ignored_columns: list[str]
    rows: list[LeadRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)

    @cached_property
    def titles(self) -> dict[str, str]:
        """field → its column's title in the file."""
        return {name: self.header[position].strip() for position, name in self.columns.items()}

    @property
    def total_rows(self) -> int:
        return len(self.rows) + len(self.rejected)


def _delimiter_of(text: str) -> str:
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    return max((",", "\t", ";"), key=first_line.count)


def _map_header(
    header: list[str], line: int, mapping: ColumnMapping
) -> tuple[dict[int, str], list[str]]:
    by_key = {
        _header_key(alias): name for name, aliases in mapping.aliases.items() for alias in aliases
    }
    columns: dict[int, str] = {}
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for position, title in enumerate(header):
        name = by_key.get(_header_key(title))
        if name is None:
            if title.strip():
                ignored.append(title.strip())
            continue
        if name in seen:
            raise _file_error(f"The columns {seen[name]!r} and {title!r} both mean {name}.")
        seen[name] = title
        columns[position] = name
    if not set(columns.values()) & set(mapping.identity_fields):
        wanted = " or ".join(mapping.identity_fields)
        raise _file_error(
            f"No usable header: line {line} needs a column for {wanted} "
            f"(found: {', '.join(repr(t) for t in header) or 'nothing'})."
        )
    return columns, ignored


def read_lead_file(
    content: bytes,
    *,
    mapping: ColumnMapping,
    encoding: str = "auto",
    progress: Progress | None = None,
) -> ParsedFile:
    """Decode and check every row; file-level problems raise ApplicationError (``file``)."""
    text, used_encoding = decode_lead_file(content, encoding=encoding)
    text = text.removeprefix("\ufeff")
    delimiter = _delimiter_of(text)
    # strict: a file cut inside a quoted cell is an error, not a shorter last row.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    approximate_total = text.count("\n") + 1
    dates = _Dates()
    parsed: ParsedFile | None = None
    last_line = 0
    try:
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if parsed is None:
                columns, ignored = _map_header(cells, line, mapping)
                parsed = ParsedFile(used_encoding, delimiter, cells, columns, ignored)
                continue
            _read_row(parsed, cells, line, mapping, dates)
            if progress is not None and parsed.total_rows % 1000 == 0:
                progress("reading", last_line, approximate_total)
    except csv.Error as exc:
        raise _file_error(f"Line {last_line + 1}: the CSV is malformed ({exc}).") from exc
    if parsed is None:
        raise _file_error("The file is empty.")
    if not parsed.total_rows:
        raise _file_error("The file has a header but no rows.")
    return parsed


def _read_row(
    parsed: ParsedFile, cells: list[str], line: int, mapping: ColumnMapping, dates: _Dates
) -> None:
    width = len(cells)
    values = {
        name: cells[position] for position, name in parsed.columns.items() if position < width
    }
    try:
        if width > len(parsed.header) and any(cell.strip() for cell in cells[len(parsed.header) :]):
            raise RowError({"row": [f"{width} values for {len(parsed.header)} header columns."]})
        parsed.rows.append(mapping.build_row(values, line, dates))
    except RowError as exc:
        parsed.rejected.append(RejectedRow(line, cells, exc.reason(parsed.titles)))


# --- Importing ----------------------------------------------------------------------------------


@dataclass
class LeadImportOutcome:
    """What ``leads_import`` did: the recorded run, and what a person needs to fix bad rows."""

    lead_import: LeadImport
    parsed: ParsedFile
    new_accounts: int = 0

    @property
    def refused(self) -> bool:
        return self.lead_import.status == LeadImport.Status.REFUSED

    def reject_file(self) -> bytes:
        """The bad rows as CSV: the original columns plus ``reason``, in the file's encoding."""
        header = self.parsed.header
        reason_column = REASON_COLUMN if REASON_COLUMN not in header else "reject_reason"
        out = io.StringIO()
        # The original cells go back out: one like `=cmd|...` must not run when opened.
        writer = SafeCsvWriter(out, delimiter=self.parsed.delimiter, lineterminator="\r\n")
        writer.writerow([*header, reason_column])
        for row in self.parsed.rejected:
            cells = row.cells + [""] * (len(header) - len(row.cells))
            writer.writerow([*cells, f"line {row.line}: {row.reason}"])
        return out.getvalue().encode(self.parsed.encoding, errors="replace")


def _stored_errors(rejected: list[RejectedRow]) -> list[dict]:
    return [{"line": row.line, "reason": row.reason} for row in rejected[:MAX_STORED_ERRORS]]


def leads_import(
    *,
    content: bytes,
    file_name: str,
    campaign: Campaign | None = None,
    actor: User | None = None,
    dry_run: bool = False,
    partial: bool = False,
    encoding: str = "auto",
    mapping: str = "standard",
    progress: Progress | None = None,
) -> LeadImportOutcome:
    """Import a lead list (see the module docstring for the file and its columns).

    Refuses the whole file (status ``refused``, nothing written but the LeadImport row) when a
    row is bad, unless `partial`; `dry_run` writes only the LeadImport row. File-level problems
    (unreadable, no usable header, no rows, no campaign) raise ApplicationError and record
    nothing. The contacts, accounts, touchpoints, journey moves and the LeadImport row are
    written in one transaction.
    """
    started = time.perf_counter()
    column_mapping = MAPPINGS.get(mapping)
    if column_mapping is None:
        message = f"Unknown mapping {mapping!r}: use one of {', '.join(MAPPINGS)}."
        raise ApplicationError(message, errors={"mapping": [message]})
    _check_campaign(campaign, column_mapping)
    parsed = read_lead_file(content, mapping=column_mapping, encoding=encoding, progress=progress)
    lead_import = LeadImport(
        campaign=campaign,
        file_name=(file_name or "upload.csv")[-255:],
        encoding=parsed.encoding,
        total_rows=parsed.total_rows,
        rejected_rows=len(parsed.rejected),
        errors=_stored_errors(parsed.rejected),
        created_by=actor,
    )
    outcome = LeadImportOutcome(lead_import=lead_import, parsed=parsed)
    if parsed.rejected and not (partial or dry_run):
        lead_import.status = LeadImport.Status.REFUSED
        lead_import.duration_ms = _elapsed_ms(started)
        lead_import.save()
        return outcome
    if dry_run:
        lead_import.status = LeadImport.Status.DRY_RUN
    elif parsed.rejected:
        lead_import.status = LeadImport.Status.PARTIAL
    else:
        lead_import.status = LeadImport.Status.IMPORTED
    with transaction.atomic():
        lead_import.save()
        outcome.new_accounts = _write_rows(
            parsed.rows,
            lead_import=lead_import,
            mapping=column_mapping,
            actor=actor,
            dry_run=dry_run,
            progress=progress,
        )
        if not dry_run:
            # One audit entry per file, not per row: the run row lists what it wrote.
            audit_record(
                action=AuditAction.IMPORT,
                target=lead_import,
                actor=actor,
                changes={
                    "created_contacts": [None, lead_import.created_contacts],
                    "matched_contacts": [None, lead_import.matched_contacts],
                    "new_accounts": [None, outcome.new_accounts],
                },
            )
        lead_import.duration_ms = _elapsed_ms(started)
        lead_import.save(
            update_fields=["created_contacts", "matched_contacts", "merged_rows", "duration_ms"]
        )
    return outcome


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _check_campaign(campaign: Campaign | None, mapping: ColumnMapping) -> None:
    if campaign is None and mapping.campaign_for is None:
        message = "Choose the campaign (the exhibition or event) the list comes from."
        raise ApplicationError(message, errors={"campaign": [message]})
    if campaign is not None and campaign.status == Campaign.Status.CANCELLED:
        message = f"The campaign {campaign.name!r} is cancelled."
        raise ApplicationError(message, errors={"campaign": [message]})


def _campaign_ids(
    rows: list[LeadRow], *, campaign: Campaign | None, mapping: ColumnMapping, dry_run: bool
) -> dict[str, int | None]:
    """campaign_key → campaign id: the import's campaign, or the mapping's per-row campaigns
    (found by name, made when missing; none are made in a dry run)."""
    keys = {row.campaign_key for row in rows}
    if campaign is not None or mapping.campaign_for is None:
        return dict.fromkeys(keys, campaign.pk if campaign else None)
    ids: dict[str, int | None] = {}
    for key in sorted(keys):
        wanted = mapping.campaign_for(key)
        if wanted is None:
            ids[key] = None
            continue
        name, kind = wanted
        found = Campaign.objects.filter(name=name).order_by("id").first()
        if found is None and not dry_run:
            found = campaign_create(name=name, kind=kind, status=Campaign.Status.COMPLETED)
        ids[key] = found.pk if found else None
    return ids


def _write_rows(
    rows: list[LeadRow],
    *,
    lead_import: LeadImport,
    mapping: ColumnMapping,
    actor: User | None,
    dry_run: bool,
    progress: Progress | None,
) -> int:
    """Resolve, then (unless a dry run) write contacts, journey moves and touchpoints; sets the
    counts on `lead_import`. Returns the number of new accounts."""
    cause = f"lead import #{lead_import.pk}"
    if lead_import.campaign is not None:
        cause = f"{cause} ({lead_import.campaign.name})"
    if progress is not None:
        progress("resolving", 0, len(rows))
    resolution = bulk.contacts_resolve_bulk(
        records=[row.person for row in rows],
        stage=mapping.to_stage,
        actor=actor,
        cause=cause,
        dry_run=dry_run,
    )
    lead_import.created_contacts = len(resolution.new_contacts)
    lead_import.matched_contacts = len(resolution.known_contacts)
    lead_import.merged_rows = resolution.merged_records
    if dry_run:
        return len(resolution.new_accounts)
    if progress is not None:
        progress("writing", 0, len(rows))
    bulk.journey_advance_bulk(
        moves=(
            (contact, row.occurred_at)
            for contact, row in zip(resolution.contacts, rows, strict=True)
        ),
        to_stage=mapping.to_stage,
        actor=actor,
        cause=cause,
    )
    campaign_ids = _campaign_ids(
        rows, campaign=lead_import.campaign, mapping=mapping, dry_run=dry_run
    )
    bulk.touchpoints_record_bulk(
        entries=[
            bulk.TimelineEntry(
                contact=contact,
                kind=row.kind,
                channel=row.channel,
                occurred_at=row.occurred_at,
                campaign_id=campaign_ids[row.campaign_key],
                summary=row.summary,
            )
            for contact, row in zip(resolution.contacts, rows, strict=True)
        ],
        actor=actor,
        source=lead_import,
    )
    if progress is not None:
        progress("writing", len(rows), len(rows))
    return len(resolution.new_accounts)
