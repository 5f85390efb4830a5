"""Screening: after scoring, hot leads go to a sales rep, the others are nurtured.

A scored contact at or above the policy's hot threshold is in the `hot` segment, below it in
`nurture`. A hot contact still at awareness or lead with no open follow-up becomes a prospect
candidate: its journey moves to at least `lead` and it gets a ``FollowUpTask`` for the next
sales rep of the policy's sales team, in turn. It becomes a `prospect` only when a rep
qualifies it (``lead_qualify``); a rep who finds it is not one disqualifies it
(``lead_disqualify``, with a reason: the journey goes to `lost`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts import roles
from accounts.models import Contact, JourneyStage, JourneyTransition, Team
from accounts.services import journey_advance, journey_move
from frontoffice.errors import ApplicationError, ConflictError
from pipeline.models import FollowUpTask, LeadScore, LeadSegment, ScreeningPolicy
from pipeline.scoring import CHUNK_SIZE, refuse_unknown_fields, save_validated

logger = logging.getLogger(__name__)

User = AbstractBaseUser

# Only these get a follow-up; a prospect has already been qualified.
SCREENED_STAGES: tuple[str, ...] = (JourneyStage.AWARENESS, JourneyStage.LEAD)
POLICY_FIELDS = ("hot_threshold", "sales_team", "follow_up_within_hours")
POLICY_ID = 1
# Who may qualify or disqualify a lead (API actions and admin actions alike).
DECIDE_PERMISSIONS = ["accounts.move_journey_contact", "pipeline.change_followuptask"]


@dataclass(frozen=True)
class ScreeningResult:
    hot: int = 0  # contacts that entered the hot segment
    nurture: int = 0  # contacts that entered the nurture segment
    follow_ups: list[int] = field(default_factory=list)  # ids of the follow-ups created


def screening_policy() -> ScreeningPolicy:
    """The one policy row (created with its defaults when missing)."""
    policy, _created = ScreeningPolicy.objects.select_related("sales_team").get_or_create(
        pk=POLICY_ID
    )
    return policy


def sales_reps(team: Team | None) -> list[int]:
    """Ids of the team's members who can take a lead: active and in the Sales rep role."""
    if team is None:
        return []
    return list(
        team.members.filter(is_active=True, groups__name=roles.SALES_REP)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


def round_robin(rep_ids: Sequence[int], *, after: int | None, count: int) -> list[int | None]:
    """The next `count` turns: reps in id order, starting after the one who had the last turn
    (by id, so a rep who left the team still marks the place). No reps: no assignee."""
    if not rep_ids:
        return [None] * count
    start = next((index for index, pk in enumerate(rep_ids) if after is None or pk > after), 0)
    return [rep_ids[(start + turn) % len(rep_ids)] for turn in range(count)]


def _id_chunks(contact_ids: Iterable[int] | None) -> Iterable[list[int] | None]:
    if contact_ids is None:
        yield None
        return
    ids = sorted({int(pk) for pk in contact_ids})
    for start in range(0, len(ids), CHUNK_SIZE):
        yield ids[start : start + CHUNK_SIZE]


def screen_contacts(*, contact_ids: Iterable[int] | None = None) -> ScreeningResult:
    """Sort scored contacts (None: all) into hot and nurture; hand new hot leads to reps.

    Idempotent: segments are only set where they differ, and a contact with an open follow-up
    gets no second one. Each chunk of contacts is one transaction that first locks the policy
    row, so concurrent screenings take turns and never give out the same round-robin turn.
    """
    hot = nurture = 0
    follow_ups: list[int] = []
    screening_policy()  # make sure the row exists before locking it
    for chunk in _id_chunks(contact_ids):
        with transaction.atomic():
            policy = ScreeningPolicy.objects.select_for_update().get(pk=POLICY_ID)
            scores = LeadScore.objects.all()
            if chunk is not None:
                scores = scores.filter(contact_id__in=chunk)
            threshold = policy.hot_threshold
            hot += (
                scores.filter(score__gte=threshold)
                .exclude(segment=LeadSegment.HOT)
                .update(segment=LeadSegment.HOT)
            )
            nurture += (
                scores.filter(score__lt=threshold)
                .exclude(segment=LeadSegment.NURTURE)
                .update(segment=LeadSegment.NURTURE)
            )
            follow_ups += _hand_out_hot_leads(policy, scores.filter(score__gte=threshold))
    return ScreeningResult(hot=hot, nurture=nurture, follow_ups=follow_ups)


def _hand_out_hot_leads(policy: ScreeningPolicy, hot_scores) -> list[int]:
    open_task = FollowUpTask.objects.filter(contact=OuterRef("pk"), status=FollowUpTask.Status.OPEN)
    candidates = list(
        Contact.objects.filter(stage__in=SCREENED_STAGES, pk__in=hot_scores.values("contact_id"))
        .exclude(Exists(open_task))
        .select_related("lead_score")
        .order_by("pk")
    )
    now = timezone.now()
    tasks = []
    for contact in candidates:
        score = contact.lead_score.score
        try:
            journey_advance(
                contact=contact, to_stage=JourneyStage.LEAD, cause=f"hot lead (score {score})"
            )
        except ApplicationError as exc:  # moved meanwhile, or dated oddly: next screening
            logger.warning("hot lead %s not advanced: %s", contact.pk, exc.message)
            continue
        tasks.append(
            FollowUpTask(
                contact=contact,
                score=score,
                due_at=now + timedelta(hours=policy.follow_up_within_hours),
                created_at=now,
            )
        )
    if not tasks:
        return []
    turns = round_robin(
        sales_reps(policy.sales_team), after=policy.last_assignee_id, count=len(tasks)
    )
    for task, assignee_id in zip(tasks, turns, strict=True):
        task.assignee_id = assignee_id
    FollowUpTask.objects.bulk_create(tasks)
    if turns[-1] is not None:
        policy.last_assignee_id = turns[-1]
        policy.save(update_fields=["last_assignee", "updated_at"])
    return [task.pk for task in tasks]


def screening_policy_update(*, policy: ScreeningPolicy, **changes: Any) -> ScreeningPolicy:
    """Change the hot threshold, the sales team or the follow-up time. A new threshold
    re-screens everyone after commit (through a full rescore)."""
    refuse_unknown_fields(changes, POLICY_FIELDS)
    team = changes.get("sales_team", policy.sales_team)
    if team is not None and team.kind != Team.Kind.SALES:
        message = "Hot leads go to a sales team."
        raise ApplicationError(message, errors={"sales_team": [message]})
    threshold_changed = (
        "hot_threshold" in changes and changes["hot_threshold"] != policy.hot_threshold
    )
    for name, value in changes.items():
        setattr(policy, name, value)
    save_validated(policy, rescore=threshold_changed)
    return policy


# --- A rep's decision ---------------------------------------------------------------------------


def _check_decidable(contact: Contact) -> None:
    if contact.stage not in SCREENED_STAGES:
        message = (
            f"Only a lead can be qualified or disqualified; this contact is at {contact.stage!r}."
        )
        raise ConflictError(message, errors={"stage": [message]})


def _close_follow_up(contact: Contact, *, status: str, outcome: str) -> int:
    return FollowUpTask.objects.filter(contact=contact, status=FollowUpTask.Status.OPEN).update(
        status=status, outcome=outcome[:500], closed_at=timezone.now()
    )


def lead_qualify(*, contact: Contact, actor: User | None) -> JourneyTransition:
    """A rep confirms the lead: the journey moves to `prospect` and its open follow-up is done.

    Only from awareness or lead (409 otherwise); the journey move is a compare-and-set, so of
    two reps deciding at once one wins and the other gets a 409.
    """
    _check_decidable(contact)
    with transaction.atomic():
        transition = journey_move(
            contact=contact, to_stage=JourneyStage.PROSPECT, actor=actor, cause="qualified"
        )
        _close_follow_up(contact, status=FollowUpTask.Status.DONE, outcome="qualified")
    return transition


def lead_disqualify(*, contact: Contact, actor: User | None, reason: str) -> JourneyTransition:
    """A rep rejects the lead, saying why: the journey moves to `lost` with the reason and the
    open follow-up is cancelled with the reason as its outcome."""
    reason = (reason or "").strip()
    if not reason:
        message = "Say why the lead is disqualified."
        raise ApplicationError(message, errors={"reason": [message]})
    if len(reason) > 500:
        raise ApplicationError(
            "The reason is too long.", errors={"reason": ["At most 500 characters."]}
        )
    _check_decidable(contact)
    with transaction.atomic():
        transition = journey_move(
            contact=contact, to_stage=JourneyStage.LOST, actor=actor, cause=reason
        )
        _close_follow_up(contact, status=FollowUpTask.Status.CANCELLED, outcome=reason)
    return transition
