"""Explainable lead scoring: rules in, one score per contact with the points of every rule out.

Fit rules give their points once when a contact attribute (title, department) or its account's
(industry, size, region) equals or contains the rule's value, case-insensitively. Behaviour rules
give their points for every matching touchpoint (kind, channel, campaign; a blank condition
matches anything), decayed by age: ``points * 0.5 ** (age_days / half_life_days)``; a half-life
of 0 means no decay. Touchpoints after ``now`` do not count yet.

The score is the sum of the breakdown, and the breakdown is each rule's points rounded to cents,
so the two always agree. The work is set-based: per chunk of contacts, one query evaluates every
fit rule (a CASE per rule over contacts and their accounts), one query sums every behaviour rule
(a filtered SUM per rule over touchpoints, the decay computed by the database), then one upsert
of ``LeadScore`` rows and one insert of ``LeadScoreChange`` rows for the scores that moved, each
a single ``INSERT … SELECT`` (``pipeline.scoring_sql`` says why not ``bulk_create``).

Writes on scoring rules go through ``scoring_rule_save`` / ``scoring_rule_delete``, which
schedule a full rescore once the change commits.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Case, FloatField, Q, Sum, Value, When
from django.db.models.functions import Power
from django.utils import timezone

from accounts.models import Contact, JourneyStage, Touchpoint
from frontoffice import background
from frontoffice.errors import ApplicationError
from pipeline.models import LeadScore, LeadScoreChange, ScoringRule
from pipeline.scoring_sql import EpochDays, insert_rows

logger = logging.getLogger(__name__)

# Contacts further along (customer, promoter) or aside (dormant, lost) keep their last score.
SCORED_STAGES: tuple[str, ...] = (JourneyStage.AWARENESS, JourneyStage.LEAD, JourneyStage.PROSPECT)
# Contacts per round trip: bounds memory (and stays under SQLite's and PostgreSQL's
# bound-parameter limits when ids are listed).
CHUNK_SIZE = 10_000
CENT = Decimal("0.01")
# A rule's points, either way: a score is a sum of these, stored in 10 digits with cents.
MAX_RULE_POINTS = 1000
# What LeadScore.score (max_digits=10, decimal_places=2) can hold. A sum past it (a behaviour
# rule counted over a very long timeline) is stored at the bound: SQLite would keep a number it
# cannot read back and PostgreSQL would refuse the whole chunk.
MAX_SCORE = Decimal("99999999.99")
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

FIT_LOOKUPS: dict[str, str] = {
    ScoringRule.Attribute.TITLE: "title",
    ScoringRule.Attribute.DEPARTMENT: "department",
    ScoringRule.Attribute.INDUSTRY: "account__industry",
    ScoringRule.Attribute.SIZE: "account__size",
    ScoringRule.Attribute.REGION: "account__region",
}
FIT_FIELDS = ("attribute", "operator", "value")
BEHAVIOUR_FIELDS = ("touchpoint_kind", "channel", "campaign")
RULE_FIELDS = (
    "name",
    "kind",
    "is_active",
    "points",
    *FIT_FIELDS,
    *BEHAVIOUR_FIELDS,
    "half_life_days",
)


@dataclass(frozen=True)
class ScoringResult:
    scored: int  # contacts whose score was computed
    changed: int  # of them, those whose score moved (a LeadScoreChange row each)


# --- The score ----------------------------------------------------------------------------------


def cents(value: float | int | Decimal) -> Decimal:
    """Round to cents, halves away from zero (as a person would), from the shortest repr."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def fit_condition(rule: ScoringRule) -> Q:
    lookup = "iexact" if rule.operator == ScoringRule.Operator.EQUALS else "icontains"
    return Q(**{f"{FIT_LOOKUPS[rule.attribute]}__{lookup}": rule.value.strip()})


def behaviour_condition(rule: ScoringRule) -> Q:
    """The touchpoints the rule counts; an empty Q (every touchpoint) when all are blank."""
    condition = Q()
    if rule.touchpoint_kind:
        condition &= Q(kind=rule.touchpoint_kind)
    if rule.channel:
        condition &= Q(channel=rule.channel)
    if rule.campaign_id:
        condition &= Q(campaign_id=rule.campaign_id)
    return condition


def _decay(rule: ScoringRule, now_days: float) -> models.Expression:
    if not rule.half_life_days:
        return Value(1.0, output_field=FloatField())
    age_days = Value(now_days, output_field=FloatField()) - EpochDays("occurred_at")
    exponent = age_days / Value(float(rule.half_life_days), output_field=FloatField())
    return Power(Value(0.5, output_field=FloatField()), exponent, output_field=FloatField())


def _alias(rule: ScoringRule) -> str:
    return f"rule_{rule.pk}"


def _fit_matches(
    rules: list[ScoringRule], contacts: models.QuerySet[Contact]
) -> Iterator[tuple[int, tuple[bool, ...]]]:
    """(contact id, whether each fit rule matches) for the scored contacts of `contacts`."""
    flags = {
        _alias(rule): Case(
            When(fit_condition(rule), then=Value(True)),
            default=Value(False),
            output_field=models.BooleanField(),
        )
        for rule in rules
    }
    rows = (
        contacts.filter(stage__in=SCORED_STAGES)
        .order_by()
        .annotate(**flags)
        .values_list("pk", *flags)
    )
    for contact_id, *matched in rows.iterator(chunk_size=CHUNK_SIZE):
        yield contact_id, tuple(bool(value) for value in matched)


def _behaviour_sums(
    rules: list[ScoringRule], touchpoints: models.QuerySet[Touchpoint], now: datetime
) -> dict[int, tuple[float, ...]]:
    """contact id → the decayed touchpoint count of each behaviour rule (one grouped query)."""
    if not rules:
        return {}
    now_days = (now - UNIX_EPOCH).total_seconds() / 86400
    conditions = [behaviour_condition(rule) for rule in rules]
    sums = {
        _alias(rule): Sum(
            _decay(rule, now_days), filter=condition or None, output_field=FloatField()
        )
        for rule, condition in zip(rules, conditions, strict=True)
    }
    # Skip the touchpoints no rule counts, unless a rule counts every touchpoint.
    if all(conditions):
        touchpoints = touchpoints.filter(functools.reduce(operator.or_, conditions))
    rows = (
        touchpoints.filter(contact__isnull=False, occurred_at__lte=now)
        .order_by()
        .values("contact_id")
        .annotate(**sums)
        .values_list("contact_id", *sums)
    )
    return {contact_id: tuple(totals) for contact_id, *totals in rows}


def _breakdown(
    fit: tuple[bool, ...],
    behaviour: tuple[float | None, ...] | None,
    fit_rules: list[ScoringRule],
    behaviour_rules: list[ScoringRule],
) -> tuple[Decimal, list[dict[str, Any]]]:
    entries: list[tuple[Decimal, ScoringRule]] = [
        (Decimal(rule.points), rule)
        for rule, matched in zip(fit_rules, fit, strict=True)
        if matched
    ]
    if behaviour is not None:  # None: no touchpoint counted
        for rule, total in zip(behaviour_rules, behaviour, strict=True):
            if total:
                entries.append((cents(rule.points * total), rule))
    entries = [(points, rule) for points, rule in entries if points]
    entries.sort(key=lambda entry: (-entry[0], entry[1].pk))
    breakdown = [
        {"rule": rule.pk, "name": rule.name, "kind": rule.kind, "points": float(points)}
        for points, rule in entries
    ]
    total = sum((points for points, _rule in entries), Decimal("0.00"))
    return max(-MAX_SCORE, min(total, MAX_SCORE)), breakdown


def _chunks(contact_ids: Iterable[int] | None) -> Iterator[tuple[Q, Q]]:
    """Per chunk: the filter on contacts and the same one on touchpoints.

    Everyone: consecutive id ranges of scored contacts (index range scans). Given ids: the ids.
    """
    if contact_ids is None:
        ids = list(
            Contact.objects.filter(stage__in=SCORED_STAGES)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for start in range(0, len(ids), CHUNK_SIZE):
            low, high = ids[start], ids[min(start + CHUNK_SIZE, len(ids)) - 1]
            # Relations have no __range lookup; gte/lte is the same BETWEEN.
            yield Q(pk__range=(low, high)), Q(contact_id__gte=low, contact_id__lte=high)
        return
    ids = sorted({int(pk) for pk in contact_ids})
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = ids[start : start + CHUNK_SIZE]
        yield Q(pk__in=chunk), Q(contact_id__in=chunk)


def active_rules() -> tuple[list[ScoringRule], list[ScoringRule]]:
    rules = list(ScoringRule.objects.filter(is_active=True).order_by("pk"))
    fit = [rule for rule in rules if rule.kind == ScoringRule.Kind.FIT]
    behaviour = [rule for rule in rules if rule.kind == ScoringRule.Kind.BEHAVIOUR]
    return fit, behaviour


def score_contacts(
    *,
    contact_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    cause: str = "",
) -> ScoringResult:
    """Compute and store the lead score of the given contacts (None: every scored contact).

    Only contacts at awareness, lead or prospect are scored; the others keep their last score.
    Each stored ``LeadScore`` gets the score, its breakdown and ``computed_at = now``; a
    ``LeadScoreChange`` (with `cause`) is written only where the score differs from the stored
    one (a first score counts as a change from nothing unless it is 0). Running it twice with
    the same `now` writes no second change. Each chunk is one transaction that locks the
    chunk's stored scores first, so two scorings of the same contacts take turns.
    """
    now = now or timezone.now()
    cause = (cause or "")[:100]
    fit_rules, behaviour_rules = active_rules()
    scored = changed = 0
    for by_pk, by_contact_id in _chunks(contact_ids):
        with transaction.atomic():
            previous = dict(
                LeadScore.objects.select_for_update()
                .filter(by_contact_id)
                .order_by("pk")
                .values_list("contact_id", "score")
            )
            behaviour = _behaviour_sums(
                behaviour_rules, Touchpoint.objects.filter(by_contact_id), now
            )
            fit = _fit_matches(fit_rules, Contact.objects.filter(by_pk))
            computed = {
                contact_id: _breakdown(
                    matched, behaviour.get(contact_id), fit_rules, behaviour_rules
                )
                for contact_id, matched in fit
            }
            changed += _store(computed, previous, now=now, cause=cause)
        scored += len(computed)
    logger.info("scored %d contacts, %d changed (%s)", scored, changed, cause or "-")
    return ScoringResult(scored=scored, changed=changed)


def _store(
    computed: dict[int, tuple[Decimal, list[dict[str, Any]]]],
    previous: dict[int, Decimal],
    *,
    now: datetime,
    cause: str,
) -> int:
    """Upsert every computed score and add a change row per score that moved (a first score
    moved from 0). Returns how many moved."""
    changes = [
        (contact_id, previous.get(contact_id), score)
        for contact_id, (score, _breakdown) in computed.items()
        if previous.get(contact_id, Decimal("0.00")) != score
    ]
    insert_rows(
        LeadScore,
        ["contact", "score", "breakdown"],
        [(contact_id, score, breakdown) for contact_id, (score, breakdown) in computed.items()],
        constants={"segment": "", "computed_at": now},
        on_conflict="contact",
        update_fields=["score", "breakdown", "computed_at"],
    )
    insert_rows(
        LeadScoreChange,
        ["contact", "from_score", "to_score"],
        changes,
        constants={"cause": cause, "created_at": now},
    )
    return len(changes)


# --- Rules --------------------------------------------------------------------------------------


def rule_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """What is wrong with a rule's shape: fit rules need attribute, operator and value and look
    at no touchpoint; behaviour rules look at touchpoints only. Pure, for the service and forms."""
    errors: dict[str, list[str]] = {}
    points = values.get("points")
    if isinstance(points, int) and abs(points) > MAX_RULE_POINTS:
        errors["points"] = [f"From -{MAX_RULE_POINTS} to {MAX_RULE_POINTS}."]
    if values.get("kind") == ScoringRule.Kind.FIT:
        for name in FIT_FIELDS:
            if not str(values.get(name) or "").strip():
                errors[name] = ["A fit rule needs this."]
        for name in BEHAVIOUR_FIELDS:
            if values.get(name):
                errors[name] = ["Only behaviour rules look at touchpoints."]
    elif values.get("kind") == ScoringRule.Kind.BEHAVIOUR:
        for name in FIT_FIELDS:
            if values.get(name):
                errors[name] = ["Only fit rules look at contact and account attributes."]
    return errors


def schedule_full_rescore() -> None:
    """Rescore (and screen) everyone once the current transaction commits."""
    from pipeline.tasks import rescore_all  # the tasks module imports this one

    # robust: the change is committed; a failed rescore must not turn it into an error page
    # (the nightly rescore catches up). A broker outage keeps the task in the outbox.
    background.schedule(rescore_all, robust=True)


def refuse_unknown_fields(changes: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = set(changes) - set(allowed)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", errors={name: ["Unknown field."] for name in sorted(unknown)}
        )


def save_validated(instance: models.Model, *, rescore: bool) -> None:
    """full_clean (field errors as an ApplicationError), save, and maybe rescore after commit."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise ApplicationError("Invalid input.", errors=exc.message_dict) from exc
    with transaction.atomic():
        instance.save()
        if rescore:
            schedule_full_rescore()


def scoring_rule_save(*, rule: ScoringRule, **changes: Any) -> ScoringRule:
    """Create (an unsaved `rule`) or change a scoring rule, then rescore everyone after commit."""
    refuse_unknown_fields(changes, RULE_FIELDS)
    for name, value in changes.items():
        setattr(rule, name, value.strip() if isinstance(value, str) else value)
    errors = rule_errors({name: getattr(rule, name) for name in RULE_FIELDS})
    if errors:  # before full_clean: its check-constraint message names no field
        raise ApplicationError("Invalid scoring rule.", errors=errors)
    save_validated(rule, rescore=True)
    return rule


def scoring_rule_delete(*, rule: ScoringRule) -> None:
    """Delete a rule; every score is recomputed without it after commit."""
    with transaction.atomic():
        rule.delete()
        schedule_full_rescore()


def scoring_rules_delete(*, rules: models.QuerySet[ScoringRule]) -> int:
    """Delete several rules (admin bulk delete) with a single rescore after commit."""
    with transaction.atomic():
        deleted, _per_model = rules.delete()
        schedule_full_rescore()
    return deleted
