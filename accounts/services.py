"""Writes on customers: create/update, identity resolution, the journey, the timeline, merges.

Every function is keyword-only and validates before it writes; refusals raise
``frontoffice.errors.ApplicationError`` (400) or ``ConflictError`` (409).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
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
    Team,
    Touchpoint,
)
from accounts.selectors import manages_all_teams
from accounts.signals import announce_touchpoints
from frontoffice.audit.models import AuditAction
from frontoffice.audit.services import (
    audit_delete,
    audit_record,
    created,
    diff,
    field_values,
    stored_values,
)
from frontoffice.errors import ApplicationError, ConflictError, PermissionDeniedError
from frontoffice.validation import full_clean_or_400

User = AbstractBaseUser

ACCOUNT_FIELDS = ("name", "domain", "industry", "size", "region", "owner")
CONTACT_FIELDS = ("name", "email", "phone", "title", "department", "account", "owner")
# What the audit log records of a customer on create, delete and merge.
ACCOUNT_AUDIT_FIELDS = (*ACCOUNT_FIELDS, "customer_since")
CONTACT_AUDIT_FIELDS = (*CONTACT_FIELDS, "stage")


def _refuse_unknown_fields(changes: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", errors={name: ["Unknown field."] for name in sorted(unknown)}
        )


def _save_unique(
    instance: models.Model,
    *,
    field: str,
    what: str,
    then=None,
    update_fields: Iterable[str] | None = None,
) -> None:
    """Save (and run `then`) in a savepoint; a unique `field` taken meanwhile is a 409.
    `update_fields`: write only these (an edit must not put back what others changed since
    the instance was read, e.g. a journey stage)."""
    try:
        with transaction.atomic():
            instance.save(update_fields=update_fields)
            if then is not None:
                then()
    except IntegrityError as exc:  # a concurrent write took the value first
        raise ConflictError(
            f"{what} with this {field} was just created.",
            errors={field: [f"{what} with this {field} already exists."]},
        ) from exc


# --- Accounts -----------------------------------------------------------------------------------


def _check_account_domain_free(domain: str, *, exclude_pk: int | None = None) -> None:
    if not domain:
        return
    clash = Account.objects.filter(domain=domain).exclude(pk=exclude_pk).first()
    if clash is not None:
        message = f"An account with this domain already exists (#{clash.pk} {clash.name})."
        raise ApplicationError(message, errors={"domain": [message]})


def account_create(
    *,
    name: str,
    domain: str = "",
    industry: str = "",
    size: str = "",
    region: str = "",
    owner: User | None = None,
    actor: User | None = None,
) -> Account:
    """Create an organisation; its domain (normalised) must not belong to another account."""
    account = Account(
        name=(name or "").strip(),
        domain=normalize_domain(domain),
        industry=(industry or "").strip(),
        size=size or "",
        region=(region or "").strip(),
        owner=owner,
    )
    full_clean_or_400(account)
    _check_account_domain_free(account.domain)
    _save_unique(
        account,
        field="domain",
        what="An account",
        then=lambda: _audit_created(account, ACCOUNT_AUDIT_FIELDS, actor),
    )
    return account


def _audit_created(instance: models.Model, fields: tuple[str, ...], actor: User | None) -> None:
    audit_record(
        action=AuditAction.CREATE,
        target=instance,
        actor=actor,
        changes=created(field_values(instance, fields)),
    )


def _audit_updated(instance: models.Model, before: dict[str, Any], actor: User | None) -> None:
    """Record the fields that changed (none changed: nothing is recorded)."""
    changes = diff(before, field_values(instance, before))
    if changes:
        audit_record(action=AuditAction.UPDATE, target=instance, actor=actor, changes=changes)


def account_update(*, account: Account, actor: User | None = None, **changes: Any) -> Account:
    """Change an account's fields (only those in ACCOUNT_FIELDS)."""
    _refuse_unknown_fields(changes, ACCOUNT_FIELDS)
    before = stored_values(Account, account.pk, changes)
    if "domain" in changes:
        changes["domain"] = normalize_domain(changes["domain"])
        _check_account_domain_free(changes["domain"], exclude_pk=account.pk)
    for name, value in changes.items():
        setattr(account, name, value.strip() if isinstance(value, str) else value)
    full_clean_or_400(account)
    if changes:
        _save_unique(
            account,
            field="domain",
            what="An account",
            update_fields=[*changes, "updated_at"],
            then=lambda: _audit_updated(account, before, actor),
        )
    return account


def account_delete(*, account: Account, actor: User | None = None) -> None:
    """Delete an organisation (the Admin's: refused while anything references it)."""
    audit_delete(instance=account, fields=ACCOUNT_AUDIT_FIELDS, actor=actor)


def account_resolve(
    *, name: str = "", domain: str = "", owner: User | None = None, actor: User | None = None
) -> Account | None:
    """Find the organisation by domain, then by exact (case-insensitive) name; create it when
    a name is given and nothing matches. None when neither name nor domain is given."""
    domain = normalize_domain(domain)
    name = (name or "").strip()
    if domain:
        account = Account.objects.filter(domain=domain).first()
        if account is not None:
            return account
    if name:
        same_name = Account.objects.annotate(name_lower=Lower("name")).filter(
            name_lower=name.lower()
        )
        if domain:  # a same-named organisation with another domain is another organisation
            same_name = same_name.filter(models.Q(domain="") | models.Q(domain=domain))
        account = same_name.order_by("id").first()
        if account is not None:
            if domain and not account.domain:
                with transaction.atomic():
                    account.domain = domain
                    account.save(update_fields=["domain", "updated_at"])
                    audit_record(
                        action=AuditAction.UPDATE,
                        target=account,
                        actor=actor,
                        changes={"domain": ["", domain]},
                    )
            return account
    if not name and not domain:
        return None
    try:
        return account_create(name=name or domain, domain=domain, owner=owner, actor=actor)
    except ApplicationError:
        # Someone created the organisation since the look-up above (seen by the domain check or
        # by the unique index): theirs is the one.
        existing = Account.objects.filter(domain=domain).first() if domain else None
        if existing is None:
            raise
        return existing


# --- Contacts -----------------------------------------------------------------------------------


def _check_contact_email_free(email: str, *, exclude_pk: int | None = None) -> None:
    if not email:
        return
    clash = Contact.objects.filter(email=email).exclude(pk=exclude_pk).only("pk").first()
    if clash is not None:
        message = f"A contact with this email already exists (#{clash.pk})."
        raise ApplicationError(message, errors={"email": [message]})


def _check_identity(contact: Contact) -> None:
    if not (contact.name or contact.email or contact.phone):
        message = "A contact needs at least a name, an email or a phone number."
        raise ApplicationError(
            message, errors={"name": [message], "email": [message], "phone": [message]}
        )


def contact_create(
    *,
    name: str = "",
    email: str = "",
    phone: str = "",
    title: str = "",
    department: str = "",
    account: Account | None = None,
    owner: User | None = None,
    stage: str = JourneyStage.AWARENESS,
    actor: User | None = None,
    cause: str = "created",
) -> Contact:
    """Create a person and the first row of their journey history (∅ → stage)."""
    if stage not in JourneyStage.values:
        raise ApplicationError("Unknown stage.", errors={"stage": [f"Unknown stage {stage!r}."]})
    contact = Contact(
        name=(name or "").strip(),
        email=normalize_email(email),
        phone=(phone or "").strip(),
        title=(title or "").strip(),
        department=(department or "").strip(),
        account=account,
        owner=owner,
        stage=stage,
    )
    return contact_register(contact=contact, actor=actor, cause=cause)


def contact_register(
    *, contact: Contact, actor: User | None = None, cause: str = "created"
) -> Contact:
    """Save a new, unsaved Contact (built by a form or by ``contact_create``) together with the
    first row of its journey history."""
    contact.email = normalize_email(contact.email)
    contact.phone_normalized = normalize_phone(contact.phone)
    _check_identity(contact)
    full_clean_or_400(contact)
    _check_contact_email_free(contact.email)
    _save_unique(
        contact,
        field="email",
        what="A contact",
        then=lambda: _first_stage(contact, actor=actor, cause=cause),
    )
    return contact


def _first_stage(contact: Contact, *, actor: User | None, cause: str) -> None:
    JourneyTransition.objects.create(
        contact=contact,
        from_stage="",
        to_stage=contact.stage,
        actor=actor,
        cause=cause,
        created_at=contact.stage_changed_at,
    )
    _audit_created(contact, CONTACT_AUDIT_FIELDS, actor)


def contact_update(*, contact: Contact, actor: User | None = None, **changes: Any) -> Contact:
    """Change a contact's details. The journey stage is not a field: use ``journey_move``."""
    _refuse_unknown_fields(changes, CONTACT_FIELDS)
    before = stored_values(Contact, contact.pk, changes)
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
        _check_contact_email_free(changes["email"], exclude_pk=contact.pk)
    for name, value in changes.items():
        setattr(contact, name, value.strip() if isinstance(value, str) else value)
    contact.phone_normalized = normalize_phone(contact.phone)
    _check_identity(contact)
    full_clean_or_400(contact)
    if changes:
        written = [*changes, *(["phone_normalized"] if "phone" in changes else []), "updated_at"]
        _save_unique(
            contact,
            field="email",
            what="A contact",
            update_fields=written,
            then=lambda: _audit_updated(contact, before, actor),
        )
    return contact


def contact_delete(*, contact: Contact, actor: User | None = None) -> None:
    """Delete a person (an erasure request: the Admin's). What is theirs goes with them (the
    timeline, the journey history, their inquiries); their deals stay, without a contact."""
    audit_delete(instance=contact, fields=CONTACT_AUDIT_FIELDS, actor=actor)


@dataclass(frozen=True)
class ResolvedContact:
    contact: Contact
    created: bool
    # "email", "phone", "name", "merged_email", "merged_phone" or "" when created.
    matched_on: str


def _find_contact(*, email: str, phone: str, name: str, domain: str) -> tuple[Contact | None, str]:
    base = Contact.objects.select_related("account")
    if email:
        found = base.filter(email=email).first()
        if found is not None:
            return found, "email"
        merge = (
            CustomerMerge.objects.filter(kind="contact", duplicate_email=email)
            .select_related("survivor_contact__account")
            .first()
        )
        if merge is not None:
            return merge.survivor_contact, "merged_email"
    if phone:
        found = base.filter(phone_normalized=phone).order_by("id").first()
        if found is not None:
            return found, "phone"
        merge = (
            CustomerMerge.objects.filter(kind="contact", duplicate_phone_normalized=phone)
            .select_related("survivor_contact__account")
            .first()
        )
        if merge is not None:
            return merge.survivor_contact, "merged_phone"
    if name and domain:
        found = (
            base.annotate(name_lower=Lower("name"))
            .filter(name_lower=name.lower(), account__domain=domain)
            .order_by("id")
            .first()
        )
        if found is not None:
            return found, "name"
    return None, ""


def contact_resolve(
    *,
    email: str = "",
    phone: str = "",
    name: str = "",
    company: str = "",
    domain: str = "",
    title: str = "",
    department: str = "",
    owner: User | None = None,
    stage: str = JourneyStage.AWARENESS,
    actor: User | None = None,
    cause: str = "",
) -> ResolvedContact:
    """Find the one Contact for incoming data, or create it (with its account).

    Matches on normalised email first, then normalised phone (both also through past merges),
    then the same name within the same company domain. A found contact gets its blank
    details filled in; nothing it already has is overwritten.
    """
    email = normalize_email(email)
    phone_normalized = normalize_phone(phone)
    name = (name or "").strip()
    domain = normalize_domain(domain)
    if domain in FREE_MAIL_DOMAINS:  # a mailbox provider is nobody's company site
        domain = ""
    domain = domain or company_domain_of(email)
    if not (email or phone_normalized or name):
        message = "Give at least an email, a phone number or a name."
        raise ApplicationError(
            message, errors={"email": [message], "phone": [message], "name": [message]}
        )

    contact, matched_on = _find_contact(
        email=email, phone=phone_normalized, name=name, domain=domain
    )
    if contact is not None:
        _fill_blanks(
            contact,
            name=name,
            email=email,
            phone=(phone or "").strip(),
            title=title,
            department=department,
            company=company,
            domain=domain,
            owner=owner,
            actor=actor,
        )
        return ResolvedContact(contact=contact, created=False, matched_on=matched_on)

    try:
        with transaction.atomic():
            account = account_resolve(name=company, domain=domain, owner=owner, actor=actor)
            contact = contact_create(
                name=name,
                email=email,
                phone=phone,
                title=title,
                department=department,
                account=account,
                owner=owner,
                stage=stage,
                actor=actor,
                cause=cause or "identity resolution",
            )
    except ApplicationError:
        # Someone created the same person a moment ago: theirs is the one.
        contact = (
            Contact.objects.select_related("account").filter(email=email).first() if email else None
        )
        if contact is None:
            raise
        return ResolvedContact(contact=contact, created=False, matched_on="email")
    return ResolvedContact(contact=contact, created=True, matched_on="")


def _fill_blanks(
    contact: Contact,
    *,
    name: str,
    email: str,
    phone: str,
    title: str,
    department: str,
    company: str,
    domain: str,
    owner: User | None,
    actor: User | None,
) -> None:
    changes: dict[str, Any] = {}
    if name and not contact.name:
        changes["name"] = name
    if email and not contact.email and not Contact.objects.filter(email=email).exists():
        changes["email"] = email
    if phone and not contact.phone:
        changes["phone"] = phone
    if title and not contact.title:
        changes["title"] = title.strip()
    if department and not contact.department:
        changes["department"] = department.strip()
    if owner is not None and contact.owner_id is None:
        changes["owner"] = owner
    if contact.account_id is None and (company or domain):
        changes["account"] = account_resolve(name=company, domain=domain, owner=owner, actor=actor)
    if changes:
        contact_update(contact=contact, actor=actor, **changes)


# --- Journey ------------------------------------------------------------------------------------


def journey_move(
    *,
    contact: Contact,
    to_stage: str,
    actor: User | None = None,
    cause: str = "",
    at: datetime | None = None,
) -> JourneyTransition:
    """Move a contact along the journey and write the transition row, in one transaction.

    Forward moves are free; backward moves and moves to lost/dormant need a cause. The update is
    a compare-and-set on the stage the caller saw: if someone moved the contact meanwhile, the
    move is refused with ConflictError and nothing is written.
    """
    cause = (cause or "").strip()
    from_stage = contact.stage
    if to_stage not in JourneyStage.values:
        raise ApplicationError(
            "Unknown stage.", errors={"to_stage": [f"{to_stage!r} is not a journey stage."]}
        )
    move = journey.classify_move(from_stage, to_stage)
    if move is None:
        raise ApplicationError(
            "The contact is already at this stage.",
            errors={"to_stage": [f"The contact is already at {to_stage!r}."]},
        )
    if not journey.can_transition(from_stage, to_stage, has_reason=bool(cause)):
        message = f"Moving from {from_stage!r} to {to_stage!r} needs a reason."
        raise ApplicationError(message, errors={"cause": [message]})
    if len(cause) > 500:
        raise ApplicationError(
            "The reason is too long.", errors={"cause": ["At most 500 characters."]}
        )
    at = at or timezone.now()
    if at < contact.stage_changed_at:
        # History is ordered: a move cannot be dated before the stage it leaves began.
        message = "The move cannot be dated before the current stage began."
        raise ApplicationError(message, errors={"at": [message]})
    with transaction.atomic():
        changed = Contact.objects.filter(pk=contact.pk, stage=from_stage).update(
            stage=to_stage, stage_changed_at=at, updated_at=timezone.now()
        )
        if changed != 1:
            raise ConflictError(
                "The contact's stage was changed by someone else; reload and try again.",
                errors={"to_stage": ["The stage changed meanwhile."]},
            )
        transition = JourneyTransition.objects.create(
            contact=contact,
            from_stage=from_stage,
            to_stage=to_stage,
            actor=actor,
            cause=cause,
            created_at=at,
        )
        audit_record(
            action=AuditAction.STATE_CHANGE,
            target=contact,
            actor=actor,
            changes={"stage": [from_stage, to_stage]},
        )
    contact.stage = to_stage
    contact.stage_changed_at = at
    return transition


def journey_advance(
    *,
    contact: Contact,
    to_stage: str,
    actor: User | None = None,
    cause: str = "",
    at: datetime | None = None,
) -> JourneyTransition | None:
    """Move the contact to *at least* `to_stage`: nothing happens when it is there or further.
    A dormant or lost contact is reactivated. For automatic moves (a capture, a won deal)."""
    if journey.is_at_or_past(contact.stage, to_stage):
        return None
    for _attempt in range(3):
        try:
            return journey_move(contact=contact, to_stage=to_stage, actor=actor, cause=cause, at=at)
        except ConflictError:
            contact.refresh_from_db(fields=["stage", "stage_changed_at"])
            if journey.is_at_or_past(contact.stage, to_stage):
                return None
    raise ConflictError("The contact's stage keeps changing; try again.")


def account_become_customer(
    *, account: Account, at: datetime | None = None, actor: User | None = None
) -> bool:
    """Mark the organisation a customer from `at` (its first order). Only the first call sets
    the date (a compare-and-set on NULL); returns whether this call set it."""
    at = at or timezone.now()
    with transaction.atomic(savepoint=False):
        changed = Account.objects.filter(pk=account.pk, customer_since__isnull=True).update(
            customer_since=at, updated_at=timezone.now()
        )
        if changed:
            account.customer_since = at
            audit_record(
                action=AuditAction.STATE_CHANGE,
                target=account,
                actor=actor,
                changes={"customer_since": [None, at]},
            )
    return bool(changed)


# --- Timeline -----------------------------------------------------------------------------------


def touchpoint_record(
    *,
    kind: str,
    channel: str,
    contact: Contact | None = None,
    account: Account | None = None,
    occurred_at: datetime | None = None,
    campaign: models.Model | None = None,
    amount: Decimal | None = None,
    currency: str = "",
    summary: str = "",
    actor: User | None = None,
    source: models.Model | None = None,
    announce: bool = True,
) -> Touchpoint:
    """Put one interaction on the customer's timeline (the account is taken from the contact).

    `announce=False` leaves announcing the change to the caller (batch writers announce once).
    """
    if contact is None and account is None:
        message = "A touchpoint needs a contact or an account."
        raise ApplicationError(message, errors={"contact": [message], "account": [message]})
    if contact is not None and account is not None and contact.account_id not in (None, account.pk):
        message = "The contact belongs to another account."
        raise ApplicationError(message, errors={"account": [message]})
    if amount is not None and not currency:
        message = "An amount needs its currency."
        raise ApplicationError(message, errors={"currency": [message]})
    touchpoint = Touchpoint(
        kind=kind,
        channel=channel,
        contact=contact,
        # The id, not the object: loading the contact's account would cost a query.
        account_id=account.pk if account is not None else (contact.account_id if contact else None),
        occurred_at=occurred_at or timezone.now(),
        campaign=campaign,
        amount=amount,
        currency=(currency or "").upper(),
        summary=(summary or "").strip()[:300],
        actor=actor,
    )
    if source is not None:
        touchpoint.source_type = ContentType.objects.get_for_model(source)
        touchpoint.source_id = source.pk
    # An account taken from the contact exists (the contact's foreign key says so).
    derived = ["account"] if account is None else []
    full_clean_or_400(touchpoint, exclude=["source_type", "source_id", *derived])
    touchpoint.save()
    if announce:
        announce_touchpoints([touchpoint.contact_id])
    return touchpoint


def touchpoints_withdraw(*, touchpoint_ids: Iterable[int], source_model: type[models.Model]) -> int:
    """Take entries off the timeline that a record of `source_model` wrote (an activity that was
    changed or removed); entries from any other source are left alone. Returns how many went."""
    source_type = ContentType.objects.get_for_model(source_model)
    stale = Touchpoint.objects.filter(pk__in=list(touchpoint_ids), source_type=source_type)
    contact_ids = list(stale.values_list("contact_id", flat=True))
    deleted, _per_model = stale.delete()
    announce_touchpoints(contact_ids)
    return deleted


@dataclass(frozen=True)
class IngestedTouchpoint:
    index: int
    touchpoint: Touchpoint | None = None
    contact_created: bool = False
    errors: dict[str, list[str]] | None = None


def touchpoints_ingest(
    *, items: list[dict[str, Any]], actor: User | None = None
) -> list[IngestedTouchpoint]:
    """Store many touchpoints sent by a marketing tool or site tag, each resolved to its contact
    (found or created by ``contact_resolve``). Each item stands alone: a refused item is reported
    with its errors and does not stop the others. Announces the changed contacts once."""
    results: list[IngestedTouchpoint] = []
    for index, item in enumerate(items):
        identity = {key: item.get(key, "") for key in ("email", "phone", "name", "company")}
        try:
            with transaction.atomic():
                resolved = contact_resolve(**identity, actor=actor, cause="touchpoint batch")
                touchpoint = touchpoint_record(
                    kind=item["kind"],
                    channel=item["channel"],
                    contact=resolved.contact,
                    occurred_at=item.get("occurred_at"),
                    campaign=item.get("campaign"),
                    summary=item.get("summary", ""),
                    actor=actor,
                    announce=False,
                )
        except ApplicationError as exc:
            results.append(
                IngestedTouchpoint(
                    index=index, errors=exc.errors or {"non_field_errors": [exc.message]}
                )
            )
            continue
        results.append(
            IngestedTouchpoint(index=index, touchpoint=touchpoint, contact_created=resolved.created)
        )
    announce_touchpoints(r.touchpoint.contact_id for r in results if r.touchpoint is not None)
    return results


# --- Teams --------------------------------------------------------------------------------------


def team_change_check(
    *, actor: User | None, team: Team, supervisor: User | None, members: Iterable[User] | None
) -> None:
    """Refuse (403) a team change that would widen `actor`'s own sight: joining or taking over
    a team they do not supervise, or pulling in people of a team someone else supervises (a
    manager sees the deals and inquiries of the teams they belong to or supervise). Moving
    people between other supervisors' teams is the Admin's. No actor (a command): no check."""
    if actor is None or manages_all_teams(actor):
        return
    current = set(team.members.values_list("pk", flat=True)) if team.pk else set()
    newcomers = {member.pk for member in members or ()} - current
    if supervisor is not None and supervisor.pk != team.supervisor_id:
        newcomers.add(supervisor.pk)
    if team.pk is not None and team.supervisor_id != actor.pk and actor.pk in newcomers:
        message = "You may not join or take over a team you do not supervise."
        raise PermissionDeniedError(message, errors={"members": [message]})
    others = Team.objects.filter(members__in=newcomers - {actor.pk}).exclude(supervisor=actor)
    if team.pk is not None:
        others = others.exclude(pk=team.pk)
    if others.exists():
        message = "Someone you add is in a team another supervisor leads; the Admin moves people."
        raise PermissionDeniedError(message, errors={"members": [message]})


def team_save(
    *,
    team: Team | None = None,
    name: str,
    kind: str,
    supervisor: User | None = None,
    members: list[User] | None = None,
    actor: User | None = None,
) -> Team:
    """Create or change a team; its supervisor is always one of its members. `actor` may not
    use it to widen their own sight (``team_change_check``)."""
    team = team or Team()
    team_change_check(actor=actor, team=team, supervisor=supervisor, members=members)
    team.name = (name or "").strip()
    team.kind = kind
    team.supervisor = supervisor
    full_clean_or_400(team)
    taken = ApplicationError(
        "A team with this name exists.", errors={"name": ["A team with this name exists."]}
    )
    # Both sides lowered by the database, as its unique index does (SQLite folds only ASCII).
    clash = (
        Team.objects.annotate(name_lower=Lower("name"))
        .filter(name_lower=Lower(models.Value(team.name)))
        .exclude(pk=team.pk)
        .exists()
    )
    if clash:
        raise taken
    try:
        with transaction.atomic():
            team.save()
            if members is not None:
                team.members.set(members)
            if supervisor is not None:
                team.members.add(supervisor)
    except IntegrityError as exc:  # the same name saved by someone else meanwhile
        raise taken from exc
    return team


# --- Merges -------------------------------------------------------------------------------------


def _move_related_rows(
    model: type[models.Model], survivor: models.Model, duplicate: models.Model
) -> dict[str, int]:
    """Re-point every row of every table that references `duplicate` to `survivor`.

    Found through the model's relations, so tables of apps added later (deals, inquiries) move
    too without this app knowing them.
    """
    moved: dict[str, int] = {}
    # include_hidden: relations declared with related_name="+" must move too.
    relations = [
        field
        for field in model._meta.get_fields(include_hidden=True)
        if field.is_relation and field.auto_created and not field.concrete
    ]
    for relation in relations:
        related_model = relation.related_model
        label = related_model._meta.label
        if relation.many_to_many:
            through = relation.through
            own = next(
                f.name for f in through._meta.fields if f.related_model is model and f.name != "id"
            )
            other = next(
                f.name
                for f in through._meta.fields
                if f.is_relation and f.name not in (own, "id") and f.related_model is related_model
            )
            already = through.objects.filter(**{own: survivor}).values(other)
            rows = through.objects.filter(**{own: duplicate})
            count = rows.exclude(**{f"{other}__in": already}).update(**{own: survivor})
            rows.delete()
        else:
            field = relation.field
            count = related_model._base_manager.filter(**{field.name: duplicate}).update(
                **{field.name: survivor}
            )
        if count:
            moved[f"{label}.{relation.field.name}"] = count
    return moved


def _lock_pair(model, survivor, duplicate):
    """Both rows, locked in id order (no deadlock between two merges of the same pair)."""
    locked = {
        row.pk: row
        for row in model.objects.select_for_update()
        .filter(pk__in=[survivor.pk, duplicate.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        plural = model._meta.verbose_name_plural
        raise ConflictError(f"One of the {plural} no longer exists (merged or deleted).")
    return locked[survivor.pk], locked[duplicate.pk]


def _snapshot(instance: models.Model) -> dict[str, Any]:
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


def _audit_merge(
    survivor: models.Model,
    duplicate: models.Model,
    before: dict[str, Any],
    fields: tuple[str, ...],
    actor: User | None,
) -> None:
    """Two entries: the survivor (the blanks it took over, `merged_from`) and the duplicate
    (`merged_into`), so either record's history tells where it went."""
    audit_record(
        action=AuditAction.MERGE,
        target=survivor,
        actor=actor,
        changes={
            **diff(before, field_values(survivor, fields)),
            "merged_from": [None, duplicate.pk],
        },
    )
    audit_record(
        action=AuditAction.MERGE,
        target=duplicate,
        actor=actor,
        changes={"merged_into": [None, survivor.pk]},
    )


def _journey_rank(stage: str) -> int:
    return journey.FUNNEL.index(stage) if stage in journey.FUNNEL else -1


def contact_merge(
    *, survivor: Contact, duplicate: Contact, actor: User | None = None, reason: str = ""
) -> CustomerMerge:
    """Merge `duplicate` into `survivor`: every related row moves, blanks are filled, the
    furthest journey stage is kept, an audit row records it all, and the duplicate is deleted.

    The duplicate's email and phone keep resolving to the survivor (through the audit row).
    """
    if survivor.pk == duplicate.pk:
        message = "A contact cannot be merged into itself."
        raise ApplicationError(message, errors={"duplicate": [message]})
    try:
        with transaction.atomic():
            survivor, duplicate = _lock_pair(Contact, survivor, duplicate)
            before = field_values(survivor, CONTACT_AUDIT_FIELDS)
            snapshot = _snapshot(duplicate)
            moved = _move_related_rows(Contact, survivor, duplicate)
            duplicate_email = duplicate.email
            duplicate_phone = duplicate.phone_normalized
            Contact.objects.filter(pk=duplicate.pk).delete()

            for name in ("name", "email", "phone", "title", "department", "account_id", "owner_id"):
                if not getattr(survivor, name) and getattr(duplicate, name):
                    setattr(survivor, name, getattr(duplicate, name))
            survivor.phone_normalized = normalize_phone(survivor.phone)
            if _journey_rank(duplicate.stage) > _journey_rank(survivor.stage):
                survivor.stage = duplicate.stage
                # The stage was reached when the duplicate reached it, not when it was merged.
                survivor.stage_changed_at = duplicate.stage_changed_at
            survivor.save()
            _close_merged_history(survivor, actor=actor, note=f"merged with #{duplicate.pk}")

            merge = CustomerMerge.objects.create(
                kind=CustomerMerge.Kind.CONTACT,
                survivor_contact=survivor,
                duplicate_id=duplicate.pk,
                duplicate_email=duplicate_email,
                duplicate_phone_normalized=duplicate_phone,
                duplicate_snapshot=snapshot,
                moved=moved,
                actor=actor,
                reason=(reason or "").strip()[:500],
            )
            _audit_merge(survivor, duplicate, before, CONTACT_AUDIT_FIELDS, actor)
    except IntegrityError as exc:
        raise ConflictError(
            f"These contacts cannot be merged automatically: {exc}", errors={}
        ) from exc
    return merge


def _close_merged_history(contact: Contact, *, actor: User | None, note: str) -> None:
    """After two histories are joined, the last transition must end at the current stage."""
    last = contact.journey_transitions.order_by("-created_at", "-id").first()
    if last is not None and last.to_stage != contact.stage:
        now = timezone.now()
        JourneyTransition.objects.create(
            contact=contact,
            from_stage=last.to_stage,
            to_stage=contact.stage,
            actor=actor,
            cause=note,
            created_at=now,
        )
        Contact.objects.filter(pk=contact.pk).update(stage_changed_at=now)
        contact.stage_changed_at = now


def account_merge(
    *, survivor: Account, duplicate: Account, actor: User | None = None, reason: str = ""
) -> CustomerMerge:
    """Merge organisation `duplicate` into `survivor`: contacts, timeline and every other
    related row move; blanks are filled; an audit row is kept; the duplicate is deleted."""
    if survivor.pk == duplicate.pk:
        message = "An account cannot be merged into itself."
        raise ApplicationError(message, errors={"duplicate": [message]})
    try:
        with transaction.atomic():
            survivor, duplicate = _lock_pair(Account, survivor, duplicate)
            before = field_values(survivor, ACCOUNT_AUDIT_FIELDS)
            snapshot = _snapshot(duplicate)
            moved = _move_related_rows(Account, survivor, duplicate)
            Account.objects.filter(pk=duplicate.pk).delete()
            for name in ("domain", "industry", "size", "region", "owner_id"):
                if not getattr(survivor, name) and getattr(duplicate, name):
                    setattr(survivor, name, getattr(duplicate, name))
            # The organisation has been a customer since the earlier of the two first orders.
            since = [d for d in (survivor.customer_since, duplicate.customer_since) if d]
            survivor.customer_since = min(since) if since else None
            survivor.save()
            merge = CustomerMerge.objects.create(
                kind=CustomerMerge.Kind.ACCOUNT,
                survivor_account=survivor,
                duplicate_id=duplicate.pk,
                duplicate_snapshot=snapshot,
                moved=moved,
                actor=actor,
                reason=(reason or "").strip()[:500],
            )
            _audit_merge(survivor, duplicate, before, ACCOUNT_AUDIT_FIELDS, actor)
    except IntegrityError as exc:
        raise ConflictError(
            f"These accounts cannot be merged automatically: {exc}", errors={}
        ) from exc
    return merge
