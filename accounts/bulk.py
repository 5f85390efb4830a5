"""Identity resolution, journey moves and timeline writes for many people at once.

The same rules as ``accounts.services`` (``contact_resolve``, ``journey_advance``,
``touchpoint_record``), set-based for lead lists and imports: existing rows are read in chunks
(``IN``, or ``= ANY`` on PostgreSQL), new rows are written with multi-row INSERTs (COPY on
PostgreSQL) and changed rows with one UPDATE per chunk, so the number of queries grows with the
chunks, not with the rows. Found contacts are handled as ``BulkContact`` rows, not model
instances.

The records are resolved as if ``contact_resolve`` ran on each of them in order: a record matches
a contact on normalised email, then phone (both also through past merges, see
``CustomerMerge``), then the same name within the same company domain, looking both at the
database and at the people earlier records created. Records of the same person therefore become
one contact, whose blank details later records fill in; nothing a contact already has is
overwritten.

Nothing here opens its own transaction: the caller runs these in one ``transaction.atomic()``
so a batch is written completely or not at all.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email
from django.db import IntegrityError, connection, models
from django.db.models import Case, F, Lookup, Value, When
from django.db.models.functions import Lower
from django.utils import timezone

from accounts import journey
from accounts.identity import (
    FREE_MAIL_DOMAINS,
    company_domain_of,
    normalize_domain,
    normalize_email,
    normalize_phone,
)
from accounts.models import (
    Account,
    Contact,
    CustomerMerge,
    JourneyStage,
    JourneyTransition,
    Touchpoint,
    TouchpointChannel,
    TouchpointKind,
)
from accounts.signals import announce_touchpoints
from frontoffice.errors import ApplicationError, ConflictError

User = AbstractBaseUser
T = TypeVar("T")

# Values per `IN (...)` lookup and rows per INSERT: few round trips, small statements.
LOOKUP_CHUNK = 900
PG_LOOKUP_CHUNK = 20_000
INSERT_BATCH = 2000
# Parameters per statement: under SQLite's default limit (32,766) and PostgreSQL's (65,535).
MAX_PARAMETERS = 30_000

# The model's max_length of what a person record carries (checked before anything is written).
FIELD_LIMITS = (
    ("name", 200),
    ("email", 254),
    ("phone", 40),
    ("title", 120),
    ("department", 120),
    ("company", 200),
)


def chunked(values: Sequence[T], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _array_literal(values: Sequence[str | int]) -> str:
    """``{"a","b"}``: a PostgreSQL array as one text parameter (a list parameter would be
    rendered value by value in Python by the driver)."""
    quoted = (str(value).replace("\\", "\\\\").replace('"', '\\"') for value in values)
    return "{" + ",".join(f'"{value}"' for value in quoted) + "}"


class _IsOneOf(Lookup):
    """`field` is one of the values, which are given ready for the database (no preparation of
    each value as ``__in`` does, which is most of the time of a lookup of thousands of values):
    ``IN (%s, ...)``, or on PostgreSQL ``= ANY(%s)`` with one array parameter (its driver would
    parse a placeholder per value)."""

    lookup_name = "is_one_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            array_type = "bigint[]" if isinstance(self.rhs[0], int) else "text[]"
            return f"{lhs} = ANY(%s::{array_type})", [*lhs_params, _array_literal(self.rhs)]
        placeholders = ", ".join(["%s"] * len(self.rhs))
        return f"{lhs} IN ({placeholders})", [*lhs_params, *self.rhs]


def lookup_chunks(values: Sequence[T], *, per_value: int = 1) -> Iterator[Sequence[T]]:
    """The values to look up, a statement's worth at a time (`per_value` lookups each)."""
    size = PG_LOOKUP_CHUNK if connection.vendor == "postgresql" else LOOKUP_CHUNK
    return chunked(values, size // per_value)


def one_of(field_name: str, values: Iterable[str | int]) -> Lookup:
    """A filter for `field_name` ∈ values (strings or ids, at most a lookup chunk of them)."""
    return _IsOneOf(F(field_name), sorted(values))


# --- Input --------------------------------------------------------------------------------------


@dataclass(slots=True)
class PersonRecord:
    """One incoming record of a person, normalised (build it with ``person_record``)."""

    email: str = ""
    phone: str = ""
    phone_normalized: str = ""
    name: str = ""
    company: str = ""
    # The organisation's domain: given, or taken from a company (not free-mail) address.
    domain: str = ""
    title: str = ""
    department: str = ""
    # When the person was met: dates a new contact's first journey stage.
    seen_at: datetime | None = None


# A list has many addresses per organisation: each domain is checked once.


@functools.lru_cache(maxsize=100_000)
def _company_domain_of_host(host: str) -> str:
    return company_domain_of(f"someone@{host}")


# Django's own pattern, compiled here once (its validator keeps it behind a lazy proxy).
_EMAIL_USER_PART = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)


@functools.lru_cache(maxsize=100_000)
def _email_domain_accepted(domain: str) -> bool:
    try:
        validate_email(f"someone@{domain}")
    except ValidationError:
        return False
    return True


def _normalized_email(value: str) -> str:
    """``normalize_email`` (the same checks as Django's EmailValidator), checking each domain
    once; anything the quick path does not accept goes to ``normalize_email`` for its error."""
    email = value.strip().lower()
    user, at, domain = email.rpartition("@")
    accepted = at and len(email) <= 320 and _email_domain_accepted(domain)
    if accepted and _EMAIL_USER_PART.match(user):
        return email
    return normalize_email(value)


def person_record(
    *,
    email: str = "",
    phone: str = "",
    name: str = "",
    company: str = "",
    domain: str = "",
    title: str = "",
    department: str = "",
    seen_at: datetime | None = None,
    domain_from_email: bool = True,
) -> PersonRecord:
    """Normalise and check one record; ApplicationError with every field at fault.

    Needs an email or a phone number (a name alone is not enough to recognise anyone in a
    list). `domain_from_email=False` when the addresses are synthetic identities of another
    system, which say nothing about the person's organisation.
    """
    record = PersonRecord(
        email=(email or "").strip(),
        phone=(phone or "").strip(),
        name=(name or "").strip(),
        company=(company or "").strip(),
        title=(title or "").strip(),
        department=(department or "").strip(),
        seen_at=seen_at,
    )
    errors: dict[str, list[str]] = {}
    for key, limit in FIELD_LIMITS:
        if len(getattr(record, key)) > limit:
            errors[key] = [f"At most {limit} characters (it has {len(getattr(record, key))})."]
    if not (record.email or record.phone):
        errors["email"] = ["Give an email address or a phone number."]
    elif "email" not in errors:
        try:
            record.email = _normalized_email(record.email)
        except ApplicationError as exc:
            errors.update(exc.errors)
    if record.phone:
        record.phone_normalized = normalize_phone(record.phone)
        if not record.phone_normalized and "phone" not in errors:
            errors["phone"] = ["Not a phone number (fewer than 5 digits)."]
    if domain:
        try:
            record.domain = normalize_domain(domain)
        except ApplicationError as exc:
            errors.update(exc.errors)
        if record.domain in FREE_MAIL_DOMAINS:  # a mailbox provider is nobody's company site
            record.domain = ""
    if not record.domain and domain_from_email and record.email:
        record.domain = _company_domain_of_host(record.email.rpartition("@")[2])
    if errors:
        raise ApplicationError("Invalid person record.", errors=errors)
    return record


# --- Identity resolution ------------------------------------------------------------------------

# What identity resolution reads of an existing contact.
BULK_CONTACT_FIELDS = (
    "pk",
    "name",
    "email",
    "phone",
    "phone_normalized",
    "title",
    "department",
    "account_id",
    "stage",
)


@dataclass(slots=True, eq=False)
class BulkContact:
    """A contact as the bulk services handle it: identity, account and journey stage.

    Not a model instance: making 100,000 of those (and reading every column for them) would be
    most of an import's time. ``pk`` is None until a new contact is saved.
    """

    pk: int | None
    name: str
    email: str
    phone: str
    phone_normalized: str
    title: str
    department: str
    account_id: int | None
    stage: str
    # Read only when needed (a journey move), and reading date-times is costly.
    stage_changed_at: datetime | None = None


@dataclass
class BulkResolution:
    """What ``contacts_resolve_bulk`` found and created, record by record."""

    # One per record, in order; records of the same person share the same object.
    contacts: list[BulkContact]
    # Per record: "email", "phone", "merged_email", "merged_phone", "name" (an existing contact),
    # "created" (this record made a new contact) or "same_as_earlier" (a new contact an earlier
    # record of this batch made).
    matched_on: list[str]
    new_contacts: list[BulkContact]
    known_contacts: list[BulkContact]
    new_accounts: list[Account]

    @property
    def merged_records(self) -> int:
        """Records that were another record's person (duplicates within the batch)."""
        return len(self.contacts) - len(self.new_contacts) - len(self.known_contacts)


@dataclass
class _Resolver:
    """The in-memory state of resolving records in order (see the module docstring)."""

    stage: str
    contact_by_email: dict[str, BulkContact] = field(default_factory=dict)
    contact_by_phone: dict[str, BulkContact] = field(default_factory=dict)
    contact_by_name: dict[tuple[str, str], BulkContact] = field(default_factory=dict)
    survivor_by_email: dict[str, BulkContact] = field(default_factory=dict)
    survivor_by_phone: dict[str, BulkContact] = field(default_factory=dict)
    account_by_domain: dict[str, Account] = field(default_factory=dict)
    accounts_by_name: dict[str, list[Account]] = field(default_factory=dict)
    account_domain_by_id: dict[int, str] = field(default_factory=dict)
    loaded: dict[int, BulkContact] = field(default_factory=dict)
    new_accounts: list[Account] = field(default_factory=list)
    new_contacts: list[BulkContact] = field(default_factory=list)
    # id() of each found contact → the fields filled in.
    changed_contacts: dict[int, tuple[BulkContact, set[str]]] = field(default_factory=dict)
    changed_accounts: dict[int, Account] = field(default_factory=dict)
    known: dict[int, BulkContact] = field(default_factory=dict)
    is_new: set[int] = field(default_factory=set)
    # id() of a contact whose account is new (no id until saved) → the contact and the account.
    pending_accounts: dict[int, tuple[BulkContact, Account]] = field(default_factory=dict)
    now: datetime = field(default_factory=timezone.now)

    # Reading what exists ---------------------------------------------------------------------

    def load(self, records: Sequence[PersonRecord]) -> None:
        emails = sorted({r.email for r in records if r.email})
        phones = sorted({r.phone_normalized for r in records if r.phone_normalized})
        # `.exclude(...="")` lets the database use the partial unique index (emails, domains).
        by_email = Contact.objects.exclude(email="").order_by()
        for chunk in lookup_chunks(emails):
            rows = by_email.filter(one_of("email", chunk)).values_list(*BULK_CONTACT_FIELDS)
            for contact in map(self._remember, rows):
                self.contact_by_email[contact.email] = contact
        # Phones first as (phone, id): most of their contacts were just read by email.
        first_by_phone: dict[str, int] = {}
        for chunk in lookup_chunks(phones):
            rows = (
                Contact.objects.filter(one_of("phone_normalized", chunk))
                .order_by("-id")
                .values_list("phone_normalized", "id")
            )
            first_by_phone.update(rows)  # the lowest id comes last and wins
        by_id = self._contacts_by_id(set(first_by_phone.values()))
        for phone, pk in first_by_phone.items():
            self.contact_by_phone[phone] = by_id[pk]
        self._load_merges(emails, phones)
        self._load_accounts(records)
        self._load_same_names(records)

    def _remember(self, row: tuple) -> BulkContact:
        """One object per contact: a contact found twice (by email and by phone) changes once."""
        contact = self.loaded.get(row[0])
        if contact is None:
            contact = self.loaded[row[0]] = BulkContact(*row)
        return contact

    def _contacts_by_id(self, ids: set[int]) -> dict[int, BulkContact]:
        missing = sorted(ids - set(self.loaded))
        for chunk in lookup_chunks(missing):
            rows = Contact.objects.filter(one_of("pk", chunk)).order_by()
            for row in rows.values_list(*BULK_CONTACT_FIELDS):
                self._remember(row)
        return {pk: self.loaded[pk] for pk in ids if pk in self.loaded}

    def _load_merges(self, emails: list[str], phones: list[str]) -> None:
        merges = CustomerMerge.objects.filter(kind=CustomerMerge.Kind.CONTACT)
        survivor_ids: dict[tuple[str, str], int] = {}
        for key, values in (
            ("duplicate_email", [e for e in emails if e not in self.contact_by_email]),
            ("duplicate_phone_normalized", [p for p in phones if p not in self.contact_by_phone]),
        ):
            for chunk in lookup_chunks(values):
                rows = (
                    merges.filter(one_of(key, chunk))
                    .order_by("created_at", "id")
                    .values_list(key, "survivor_contact_id")
                )
                for value, survivor_id in rows:
                    # Read oldest first: the newest merge of an address wins, as in
                    # contact_resolve.
                    survivor_ids[(key, value)] = survivor_id
        survivors = self._contacts_by_id(set(survivor_ids.values()))
        for (key, value), survivor_id in survivor_ids.items():
            target = self.survivor_by_email if key == "duplicate_email" else self.survivor_by_phone
            target[value] = survivors[survivor_id]

    def _load_same_names(self, records: Sequence[PersonRecord]) -> None:
        """Contacts with a record's name in its company domain, for records whose email and
        phone match nobody."""
        # Only domains with an account can have contacts in them.
        pairs = {
            (r.name.lower(), r.domain)
            for r in records
            if r.name and r.domain in self.account_by_domain and self.find(r)[0] is None
        }
        found: dict[tuple[str, str], int] = {}
        for chunk in lookup_chunks(sorted(pairs), per_value=2):
            rows = (
                Contact.objects.annotate(name_lower=Lower("name"))
                .filter(
                    one_of("name_lower", {name for name, _domain in chunk}),
                    one_of("account__domain", {domain for _name, domain in chunk}),
                )
                .order_by("-id")
                .values_list("name_lower", "account__domain", "id")
            )
            for name_lower, domain, pk in rows:
                if (name_lower, domain) in pairs:
                    found[(name_lower, domain)] = pk  # the lowest id comes last and wins
        contacts = self._contacts_by_id(set(found.values()))
        for key, pk in found.items():
            self.contact_by_name[key] = contacts[pk]

    def _load_accounts(self, records: Sequence[PersonRecord]) -> None:
        domains = sorted({r.domain for r in records if r.domain})
        names = sorted({r.company.lower() for r in records if r.company})
        accounts: dict[int, Account] = {}
        for chunk in lookup_chunks(domains):
            by_domain = Account.objects.exclude(domain="").filter(one_of("domain", chunk))
            accounts.update((a.pk, a) for a in by_domain.order_by())
        for chunk in lookup_chunks(names):
            named = Account.objects.annotate(name_lower=Lower("name")).filter(
                one_of("name_lower", chunk)
            )
            accounts.update((a.pk, accounts.get(a.pk, a)) for a in named)
        for pk in sorted(accounts):
            self._register_account(accounts[pk])
        # The domains of the found contacts' accounts: a contact is known by name in its domain.
        account_ids = {c.account_id for c in self.loaded.values() if c.account_id}
        missing = sorted(account_ids - set(self.account_domain_by_id))
        for chunk in lookup_chunks(missing):
            self.account_domain_by_id.update(
                Account.objects.filter(one_of("pk", chunk)).values_list("pk", "domain")
            )

    def _register_account(self, account: Account) -> None:
        if account.domain:
            self.account_by_domain.setdefault(account.domain, account)
        self.accounts_by_name.setdefault(account.name.lower(), []).append(account)
        if account.pk is not None:
            self.account_domain_by_id[account.pk] = account.domain

    # Resolving record by record --------------------------------------------------------------

    def find(self, record: PersonRecord) -> tuple[BulkContact | None, str]:
        if record.email:
            if (contact := self.contact_by_email.get(record.email)) is not None:
                return contact, "email"
            if (contact := self.survivor_by_email.get(record.email)) is not None:
                return contact, "merged_email"
        if record.phone_normalized:
            if (contact := self.contact_by_phone.get(record.phone_normalized)) is not None:
                return contact, "phone"
            if (contact := self.survivor_by_phone.get(record.phone_normalized)) is not None:
                return contact, "merged_phone"
        if record.name and record.domain:
            contact = self.contact_by_name.get((record.name.lower(), record.domain))
            if contact is not None:
                return contact, "name"
        return None, ""

    def account_for(self, *, company: str, domain: str) -> Account | None:
        """account_resolve for many: by domain, then by name (a same-named organisation with
        another domain is another organisation), else a new one."""
        if domain and (account := self.account_by_domain.get(domain)) is not None:
            return account
        if company:
            for account in self.accounts_by_name.get(company.lower(), []):
                if domain and account.domain not in ("", domain):
                    continue
                if domain and not account.domain:
                    account.domain = domain
                    self.account_by_domain[domain] = account
                    if account.pk is not None:
                        self.account_domain_by_id[account.pk] = domain
                        self.changed_accounts[account.pk] = account
                return account
        if not (company or domain):
            return None
        account = Account(name=(company or domain)[:200], domain=domain)
        self.new_accounts.append(account)
        self._register_account(account)
        return account

    def create(self, record: PersonRecord) -> BulkContact:
        contact = BulkContact(
            None,
            record.name,
            record.email,
            record.phone,
            record.phone_normalized,
            record.title,
            record.department,
            None,
            self.stage,
            record.seen_at or self.now,
        )
        self.new_contacts.append(contact)
        self.is_new.add(id(contact))
        account = self.account_for(company=record.company, domain=record.domain)
        if account is not None:
            self._attach(contact, account)
        self._register_contact(contact, domain=account.domain if account else "")
        return contact

    def _attach(self, contact: BulkContact, account: Account) -> None:
        if account.pk is None:
            self.pending_accounts[id(contact)] = (contact, account)
        else:
            contact.account_id = account.pk

    def _domain_of(self, contact: BulkContact) -> str:
        if contact.account_id is not None:
            return self.account_domain_by_id.get(contact.account_id, "")
        pending = self.pending_accounts.get(id(contact))
        return pending[1].domain if pending else ""

    def _register_contact(self, contact: BulkContact, *, domain: str) -> None:
        if contact.email:
            self.contact_by_email.setdefault(contact.email, contact)
        if contact.phone_normalized:
            self.contact_by_phone.setdefault(contact.phone_normalized, contact)
        if contact.name and domain:
            self.contact_by_name.setdefault((contact.name.lower(), domain), contact)

    def fill_blanks(self, contact: BulkContact, record: PersonRecord) -> None:
        """Blank details of a found contact are filled in; nothing it has is overwritten."""
        changed: set[str] = set()
        for name in ("name", "title", "department"):
            value = getattr(record, name)
            if value and not getattr(contact, name):
                setattr(contact, name, value)
                changed.add(name)
        if record.email and not contact.email and record.email not in self.contact_by_email:
            contact.email = record.email
            changed.add("email")
        if record.phone and not contact.phone:
            contact.phone = record.phone
            contact.phone_normalized = record.phone_normalized
            changed.update({"phone", "phone_normalized"})
        if contact.account_id is None and id(contact) not in self.pending_accounts:
            account = self.account_for(company=record.company, domain=record.domain)
            if account is not None:
                self._attach(contact, account)
                changed.add("account_id")
        if record.seen_at and id(contact) in self.is_new:
            # A new contact's first stage began when the first of its records was seen.
            contact.stage_changed_at = min(contact.stage_changed_at, record.seen_at)
        if not changed:
            return
        self._register_contact(contact, domain=self._domain_of(contact))
        if id(contact) not in self.is_new:
            _row, fields = self.changed_contacts.setdefault(id(contact), (contact, set()))
            fields.update(changed)

    def resolve(self, record: PersonRecord) -> tuple[BulkContact, str]:
        contact, matched_on = self.find(record)
        if contact is None:
            return self.create(record), "created"
        self.fill_blanks(contact, record)
        if id(contact) in self.is_new:
            return contact, "same_as_earlier"
        self.known.setdefault(id(contact), contact)
        return contact, matched_on

    # Writing ---------------------------------------------------------------------------------

    def save(self, *, actor: User | None, cause: str) -> None:
        now = self.now
        actor_id = actor.pk if actor is not None else None
        account_ids = insert_rows(
            Account,
            ("created_at", "updated_at", "name", "domain", "industry", "size", "region"),
            [(now, now, a.name, a.domain, "", "", "") for a in self.new_accounts],
        )
        for account, pk in zip(self.new_accounts, account_ids, strict=True):
            _mark_saved(account, pk)
        for account in self.changed_accounts.values():
            account.updated_at = now
        Account.objects.bulk_update(
            list(self.changed_accounts.values()), ["domain", "updated_at"], batch_size=500
        )
        for contact, account in self.pending_accounts.values():
            contact.account_id = account.pk
        contact_ids = insert_rows(
            Contact,
            (*NEW_CONTACT_COLUMNS, "created_at", "updated_at"),
            [(*_KNOWN_OF_NEW_CONTACT(c), None, now, now) for c in self.new_contacts],
        )
        for contact, pk in zip(self.new_contacts, contact_ids, strict=True):
            contact.pk = pk
        insert_rows(
            JourneyTransition,
            ("contact_id", "from_stage", "to_stage", "created_at", "actor_id", "cause"),
            [(c.pk, "", c.stage, c.stage_changed_at, actor_id, cause) for c in self.new_contacts],
            returning=False,
        )
        by_fields: dict[tuple[str, ...], list[Contact]] = {}
        for contact, fields in self.changed_contacts.values():
            names = (*sorted(fields), "updated_at")
            # Just what bulk_update reads: the id and the changed fields.
            row = Contact(id=contact.pk, updated_at=now)
            for name in names[:-1]:
                setattr(row, name, getattr(contact, name))
            by_fields.setdefault(names, []).append(row)
        for names, rows in by_fields.items():
            Contact.objects.bulk_update(rows, names, batch_size=500)


# PostgreSQL column types → the names binary COPY knows them by.
_COPY_TYPES = {
    "bigint": "int8",
    "integer": "int4",
    "smallint": "int2",
    "boolean": "bool",
    "timestamp with time zone": "timestamptz",
}


def _copy_type(model_field: models.Field) -> str:
    db_type = model_field.db_type(connection)
    if db_type.startswith(("varchar", "text")):
        return "text"
    if db_type.startswith("numeric"):
        return "numeric"
    return _COPY_TYPES[db_type]


def _copy_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool,
) -> list[int]:
    """PostgreSQL: binary COPY of the rows, with ids drawn from the table's sequence beforehand
    (COPY returns nothing; the sequence keeps them unique whoever else inserts meanwhile)."""
    ops = connection.ops
    table = model._meta.db_table
    fields = [model._meta.get_field(name) for name in columns]
    ids: list[int] = []
    with connection.cursor() as cursor:
        if returning:
            # The sequence is looked up once (MATERIALIZED), not once per id.
            cursor.execute(
                "WITH seq AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS id)"
                " SELECT array_agg(nextval(seq.id)) FROM seq, generate_series(1, %s)",
                [ops.quote_name(table), model._meta.pk.column, len(rows)],
            )
            ids = cursor.fetchone()[0]
            fields.insert(0, model._meta.pk)
            rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        column_list = ", ".join(ops.quote_name(f.column) for f in fields)
        statement = f"COPY {ops.quote_name(table)} ({column_list}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(statement) as copy:
            copy.set_types([_copy_type(f) for f in fields])
            for row in rows:
                copy.write_row(row)
    return ids


# What a new contact's row holds: what the bulk services know of it, and no owner yet.
_KNOWN_OF_NEW_CONTACT = operator.attrgetter(*BULK_CONTACT_FIELDS[1:], "stage_changed_at")
NEW_CONTACT_COLUMNS = (*BULK_CONTACT_FIELDS[1:], "stage_changed_at", "owner_id")


def _mark_saved(instance: models.Model, pk: int) -> None:
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = True,
) -> list[int]:
    """Insert rows of plain values (attribute names in `columns`) with multi-row INSERTs and
    return the new ids in order (as ``bulk_create`` does).

    Why not ``bulk_create``: at 100,000 rows most of its time goes to preparing every value
    through its field one by one, and on SQLite it cuts statements at 999 parameters. Here
    only date-times are adapted (once per distinct value) and a statement takes up to
    INSERT_BATCH rows. The values must already be valid for their columns.
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        return _copy_rows(model, columns, rows, returning=returning)
    ops = connection.ops
    fields = [model._meta.get_field(name) for name in columns]
    adapted: dict[datetime, Any] = {}
    datetime_positions = [
        position
        for position, model_field in enumerate(fields)
        if isinstance(model_field, models.DateTimeField)
    ]

    def adapt(value: datetime | None) -> Any:
        if value is None:
            return None
        if value not in adapted:
            adapted[value] = ops.adapt_datetimefield_value(value)
        return adapted[value]

    table = ops.quote_name(model._meta.db_table)
    column_list = ", ".join(ops.quote_name(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = f" RETURNING {ops.quote_name(model._meta.pk.column)}" if returning else ""
    per_statement = max(1, min(INSERT_BATCH, MAX_PARAMETERS // len(fields)))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for chunk in chunked(rows, per_statement):
            params: list[Any] = []
            for row in chunk:
                row = list(row)
                for position in datetime_positions:
                    row[position] = adapt(row[position])
                params.extend(row)
            values = ", ".join([placeholders] * len(chunk))
            # Names come from the model's meta, every value is a parameter.
            sql = f"INSERT INTO {table} ({column_list}) VALUES {values}{tail}"  # noqa: S608
            cursor.execute(sql, params)
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


def contacts_resolve_bulk(
    *,
    records: Sequence[PersonRecord],
    stage: str = JourneyStage.AWARENESS,
    actor: User | None = None,
    cause: str = "identity resolution",
    dry_run: bool = False,
) -> BulkResolution:
    """Find the one Contact of each record, or create it (with its account): ``contact_resolve``
    for many records, in a bounded number of queries.

    New contacts start at `stage` with the first row of their journey history (∅ → stage, dated
    by the earliest `seen_at` of their records); found contacts get their blank details filled
    in. With `dry_run` nothing is written (the result says what would be). Raises ConflictError
    when someone wrote the same person meanwhile (run the batch again: it will find them).
    """
    if stage not in JourneyStage.values:
        raise ApplicationError("Unknown stage.", errors={"stage": [f"Unknown stage {stage!r}."]})
    resolver = _Resolver(stage=stage)
    resolver.load(records)
    contacts: list[BulkContact] = []
    matched_on: list[str] = []
    for record in records:
        contact, how = resolver.resolve(record)
        contacts.append(contact)
        matched_on.append(how)
    if not dry_run:
        try:
            resolver.save(actor=actor, cause=cause[:500])
        except IntegrityError as exc:
            raise ConflictError(
                "Contacts or accounts of this batch were created meanwhile; run it again.",
                errors={},
            ) from exc
    return BulkResolution(
        contacts=contacts,
        matched_on=matched_on,
        new_contacts=resolver.new_contacts,
        known_contacts=list(resolver.known.values()),
        new_accounts=resolver.new_accounts,
    )


# --- Journey ------------------------------------------------------------------------------------


def _read_stage_start(contacts: Sequence[BulkContact]) -> None:
    """Fill in when each contact's current stage began, where it was not read yet."""
    unread = {contact.pk: contact for contact in contacts if contact.stage_changed_at is None}
    for chunk in lookup_chunks(sorted(unread)):
        rows = Contact.objects.filter(one_of("pk", chunk)).order_by()
        for pk, stage_changed_at in rows.values_list("pk", "stage_changed_at"):
            unread[pk].stage_changed_at = stage_changed_at


def journey_advance_bulk(
    *,
    moves: Iterable[tuple[BulkContact, datetime]],
    to_stage: str,
    actor: User | None = None,
    cause: str = "",
) -> int:
    """``journey_advance`` for many contacts: each moves to *at least* `to_stage` (forward, or a
    reactivation from dormant/lost); those at it or further stay. One transition row per move.

    A move is dated at its given time, or when the contact's current stage began if that is
    later (history stays ordered). The update is a compare-and-set on the stage read: if someone
    moved one of the contacts meanwhile, ConflictError and nothing is kept. Returns how many
    contacts moved.
    """
    if to_stage not in journey.FUNNEL:
        raise ApplicationError(
            "Unknown stage.", errors={"to_stage": [f"{to_stage!r} is not a funnel stage."]}
        )
    cause = (cause or "").strip()[:500]
    earliest: dict[int, tuple[BulkContact, datetime]] = {}
    for contact, at in moves:
        if journey.is_at_or_past(contact.stage, to_stage):
            continue
        current = earliest.get(contact.pk)
        if current is None or at < current[1]:
            earliest[contact.pk] = (contact, at)
    _read_stage_start([contact for contact, _at in earliest.values()])
    by_from_stage: dict[str, list[tuple[BulkContact, datetime]]] = {}
    for contact, at in earliest.values():
        move = journey.classify_move(contact.stage, to_stage)
        if not journey.can_transition(contact.stage, to_stage, has_reason=bool(cause)):
            raise ApplicationError(
                f"Moving from {contact.stage!r} to {to_stage!r} is not allowed here ({move}).",
                errors={"to_stage": ["Not an automatic move."]},
            )
        by_from_stage.setdefault(contact.stage, []).append(
            (contact, max(at, contact.stage_changed_at))
        )
    transitions: list[tuple[Any, ...]] = []
    actor_id = actor.pk if actor is not None else None
    now = timezone.now()
    for from_stage, group in by_from_stage.items():
        for chunk in chunked(group, LOOKUP_CHUNK // 2):
            changed = Contact.objects.filter(
                pk__in=[contact.pk for contact, _at in chunk], stage=from_stage
            ).update(
                stage=to_stage,
                stage_changed_at=Case(
                    *(When(pk=contact.pk, then=Value(at)) for contact, at in chunk),
                    output_field=models.DateTimeField(),
                ),
                updated_at=now,
            )
            if changed != len(chunk):
                raise ConflictError(
                    "Some contacts' stages were changed by someone else; run it again.",
                    errors={"to_stage": ["The stage changed meanwhile."]},
                )
            for contact, at in chunk:
                contact.stage, contact.stage_changed_at = to_stage, at
                transitions.append((contact.pk, from_stage, to_stage, at, actor_id, cause))
    insert_rows(
        JourneyTransition,
        ("contact_id", "from_stage", "to_stage", "created_at", "actor_id", "cause"),
        transitions,
        returning=False,
    )
    return len(transitions)


# --- Timeline -----------------------------------------------------------------------------------

TOUCHPOINT_KINDS = frozenset(TouchpointKind.values)
TOUCHPOINT_CHANNELS = frozenset(TouchpointChannel.values)


@dataclass(slots=True)
class TimelineEntry:
    """One interaction to put on a contact's timeline (see ``touchpoints_record_bulk``)."""

    contact: BulkContact
    kind: str
    channel: str
    occurred_at: datetime
    campaign_id: int | None = None
    summary: str = ""


def touchpoints_record_bulk(
    *,
    entries: Sequence[TimelineEntry],
    actor: User | None = None,
    source: models.Model | None = None,
) -> int:
    """``touchpoint_record`` for many interactions of saved contacts (the account is taken from
    the contact); announces the changed contacts once, after commit. Returns how many."""
    errors = {
        name: [f"Unknown {name}: {', '.join(sorted(unknown))}."]
        for name, unknown in (
            ("kind", {e.kind for e in entries} - TOUCHPOINT_KINDS),
            ("channel", {e.channel for e in entries} - TOUCHPOINT_CHANNELS),
        )
        if unknown
    }
    if errors:
        raise ApplicationError("Unknown touchpoint kind or channel.", errors=errors)
    actor_id = actor.pk if actor is not None else None
    source_type_id = ContentType.objects.get_for_model(source).pk if source is not None else None
    source_id = source.pk if source is not None else None
    now = timezone.now()
    insert_rows(
        Touchpoint,
        (
            "kind",
            "channel",
            "occurred_at",
            "contact_id",
            "account_id",
            "campaign_id",
            "currency",
            "summary",
            "actor_id",
            "source_type_id",
            "source_id",
            "created_at",
        ),
        [
            (
                entry.kind,
                entry.channel,
                entry.occurred_at,
                entry.contact.pk,
                entry.contact.account_id,
                entry.campaign_id,
                "",
                entry.summary.strip()[:300],
                actor_id,
                source_type_id,
                source_id,
                now,
            )
            for entry in entries
        ],
        returning=False,
    )
    announce_touchpoints(entry.contact.pk for entry in entries)
    return len(entries)
