"""Reps' daily reports: one per rep per day, with the activities they logged, notes and tomorrow's
plan; a manager approves a submitted report or returns it with a comment.

    draft ──submit──▶ submitted ──approve──▶ approved
      ▲                   │
      └──(edit, submit)── returned ◀──return (with a comment)

Only the rep writes their report, and only while it is a draft or returned; only a reviewer
(``pipeline.selectors.reports_reviewable_by``) comments, approves or returns it. Each activity
lands on the customer's timeline as a touchpoint (kept in step when the activity changes or
goes) and marks its deal active. Reminders and managers' summaries run from Celery beat
(``pipeline.tasks``) and are idempotent: notifications are keyed per person and day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import Contact, Team, Touchpoint, TouchpointChannel, TouchpointKind
from accounts.notifications import notification_send
from accounts.roles import SALES_REP
from frontoffice.errors import ApplicationError, ConflictError, PermissionDeniedError
from pipeline import deal_stages
from pipeline.deals import deal_touch
from pipeline.models import (
    Activity,
    ActivityKind,
    DailyReport,
    DailyReportStatusChange,
    Deal,
    DealStage,
    DealStageChange,
    SalesPolicy,
)
from pipeline.selectors import deals_editable_by, reports_reviewable_by

Status = DailyReport.Status

# A rep may start a report for today or for up to this many days back (a trip, a day off sick);
# a report that exists (a draft, or one the manager returned) stays editable whatever its age.
PAST_DAYS_ALLOWED = 7
MAX_ACTIVITIES = 100
COMMENT_MAX_LENGTH = 2000
TEXT_MAX_LENGTH = 10000

EDITABLE_STATUSES = (Status.DRAFT, Status.RETURNED)
SUBMITTED_STATUSES = (Status.SUBMITTED, Status.APPROVED)

ACTIVITY_TOUCHPOINT: dict[str, tuple[str, str]] = {
    ActivityKind.VISIT: (TouchpointKind.VISIT, TouchpointChannel.IN_PERSON),
    ActivityKind.CALL: (TouchpointKind.CALL, TouchpointChannel.PHONE),
    ActivityKind.EMAIL: (TouchpointKind.EMAIL, TouchpointChannel.EMAIL),
    ActivityKind.MEETING: (TouchpointKind.MEETING, TouchpointChannel.IN_PERSON),
    ActivityKind.DEMO: (TouchpointKind.DEMO, TouchpointChannel.IN_PERSON),
    ActivityKind.PROPOSAL: (TouchpointKind.PROPOSAL, TouchpointChannel.SALES_REP),
}

REMINDER_KIND = "daily_report_reminder"
SUMMARY_KIND = "daily_report_summary"
RETURNED_KIND = "daily_report_returned"
COMMENT_KIND = "daily_report_comment"


# --- Time ---------------------------------------------------------------------------------------


def local_today(now: dt.datetime | None = None) -> dt.date:
    """The day it is in the local time zone (settings.TIME_ZONE)."""
    return timezone.localtime(now or timezone.now()).date()


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of `day` in the local time zone, as aware datetimes."""
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=zone)


def sales_policy() -> SalesPolicy:
    """The one policy row; its defaults when the row is missing."""
    return SalesPolicy.objects.filter(pk=1).first() or SalesPolicy(pk=1)


def _working_days(policy: SalesPolicy) -> set[int]:
    days = policy.working_days if isinstance(policy.working_days, list) else []
    return {day for day in days if isinstance(day, int)}


def _is_due(policy: SalesPolicy, now: dt.datetime, due: dt.time) -> bool:
    local = timezone.localtime(now)
    return local.isoweekday() in _working_days(policy) and local.time() >= due


# --- Writing a report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityInput:
    """One activity as the rep writes it; `id` names an activity of the same report to keep."""

    kind: str
    occurred_at: dt.datetime
    minutes: int
    outcome: str = ""
    deal_id: int | None = None
    contact_id: int | None = None
    id: int | None = None


@dataclass
class _Resolved:
    """An input that passed validation, with its deal and contact loaded."""

    data: ActivityInput
    deal: Deal | None
    contact: Contact | None
    existing: Activity | None


def daily_report_save(
    *,
    rep,
    day: dt.date,
    notes: str = "",
    tomorrow_plan: str = "",
    activities: Sequence[ActivityInput] = (),
    submit: bool = False,
    at: dt.datetime | None = None,
) -> tuple[DailyReport, bool]:
    """Create or replace `rep`'s report of `day` and its activities in one transaction; returns
    (report, created). Activities given with the `id` of one of the report's activities update
    it; the report's other activities are removed, with their touchpoints. `submit` submits it.

    Refused (nothing written): a future day or one too far back (`day`), a report already
    submitted or approved (409), and bad activities, as ``{"activities": {index: {field: [..]}}}``.
    """
    at = at or timezone.now()
    today = local_today(at)
    if day > today:
        message = "A report cannot be written for a future day."
        raise ApplicationError(message, errors={"day": [message]})
    errors: dict[str, list[str]] = {}
    for name, text in (("notes", notes), ("tomorrow_plan", tomorrow_plan)):
        if len(text or "") > TEXT_MAX_LENGTH:
            errors[name] = [f"At most {TEXT_MAX_LENGTH} characters."]
    if len(activities) > MAX_ACTIVITIES:
        errors["activities"] = [f"At most {MAX_ACTIVITIES} activities a day."]
    if errors:
        raise ApplicationError("Invalid input.", errors=errors)

    with transaction.atomic():
        report = DailyReport.objects.select_for_update().filter(rep=rep, day=day).first()
        created = report is None
        if report is None:
            if day < today - dt.timedelta(days=PAST_DAYS_ALLOWED):
                message = f"A report can be started at most {PAST_DAYS_ALLOWED} days back."
                raise ApplicationError(message, errors={"day": [message]})
            report, created = DailyReport.objects.select_for_update().get_or_create(
                rep=rep, day=day, defaults={"created_at": at}
            )
            if created:
                _record_change(report, from_status="", actor=rep, at=at)
        if report.status not in EDITABLE_STATUSES:
            raise ConflictError(
                f"The report is {report.status}; it can no longer be edited.",
                errors={"status": [f"The report is {report.status}."]},
            )
        resolved = _validate_activities(report=report, rep=rep, items=activities, now=at)
        report.notes = (notes or "").strip()
        report.tomorrow_plan = (tomorrow_plan or "").strip()
        report.save(update_fields=["notes", "tomorrow_plan", "updated_at"])
        _replace_activities(report=report, rep=rep, resolved=resolved)
        if submit:
            _submit(report, at=at)
    return report, created


def _validate_activities(
    *, report: DailyReport, rep, items: Sequence[ActivityInput], now: dt.datetime
) -> list[_Resolved]:
    existing = {activity.pk: activity for activity in report.activities.all()}
    deal_ids = {item.deal_id for item in items if item.deal_id is not None}
    deals = Deal.objects.select_related("account", "contact").in_bulk(deal_ids)
    editable = set(
        deals_editable_by(rep, Deal.objects.filter(pk__in=deal_ids)).values_list("pk", flat=True)
    )
    contacts = Contact.objects.in_bulk({i.contact_id for i in items if i.contact_id is not None})

    errors: dict[str, dict[str, list[str]]] = {}
    resolved: list[_Resolved] = []
    seen_ids: set[int] = set()
    for index, item in enumerate(items):
        problems: dict[str, list[str]] = defaultdict(list)
        previous = existing.get(item.id) if item.id is not None else None
        if item.id is not None and (previous is None or item.id in seen_ids):
            problems["id"].append("No activity with this id in this report (or given twice).")
        if item.id is not None:
            seen_ids.add(item.id)
        _check_fields(item, problems)
        if timezone.is_naive(item.occurred_at):
            problems["occurred_at"].append("Give the time with its time zone offset.")
        elif local_today(item.occurred_at) != report.day:
            problems["occurred_at"].append(
                f"The activity must be on the report's day, {report.day.isoformat()} "
                f"({timezone.get_current_timezone_name()})."
            )
        elif item.occurred_at > now:
            problems["occurred_at"].append("An activity cannot be in the future.")
        deal = deals.get(item.deal_id) if item.deal_id is not None else None
        contact = contacts.get(item.contact_id) if item.contact_id is not None else None
        # Reassigned since it was logged: the rep may keep an activity on a deal that is no
        # longer theirs, but not log a new one on it.
        kept_deal = previous is not None and previous.deal_id == item.deal_id
        if item.deal_id is not None and (
            deal is None or (deal.pk not in editable and not kept_deal)
        ):
            problems["deal"].append("You can log activities only on deals you can edit.")
            deal = None
        if item.contact_id is not None and contact is None:
            problems["contact"].append(f"No contact with id {item.contact_id}.")
        if item.deal_id is None and item.contact_id is None:
            message = "An activity needs a deal or a contact (or both)."
            problems["deal"].append(message)
            problems["contact"].append(message)
        if deal is not None and contact is not None and not _belongs_to_deal(contact, deal):
            problems["contact"].append("The contact is not one of the deal's customer's people.")
        if (
            item.contact_id is None
            and deal is not None
            and not (deal.contact_id or deal.account_id)
        ):
            problems["contact"].append("The deal has no customer yet: name the contact.")
        if problems:
            errors[str(index)] = dict(problems)
        else:
            resolved.append(_Resolved(data=item, deal=deal, contact=contact, existing=previous))
    if errors:
        raise ApplicationError("Some activities are invalid.", errors={"activities": errors})
    return resolved


def _check_fields(item: ActivityInput, problems: dict[str, list[str]]) -> None:
    candidate = Activity(
        kind=item.kind, occurred_at=item.occurred_at, minutes=item.minutes, outcome=item.outcome
    )
    try:
        candidate.full_clean(
            exclude=["report", "deal", "contact", "touchpoint"], validate_constraints=False
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            problems[name].extend(messages)


def _belongs_to_deal(contact: Contact, deal: Deal) -> bool:
    if deal.account_id is not None:
        return contact.account_id == deal.account_id
    if deal.contact_id is not None:
        return contact.pk == deal.contact_id
    return True  # a deal with no customer yet: the contact is where the activity lands


def _replace_activities(*, report: DailyReport, rep, resolved: list[_Resolved]) -> None:
    kept = {entry.existing.pk for entry in resolved if entry.existing is not None}
    removed = [activity for activity in report.activities.all() if activity.pk not in kept]
    stale_touchpoints = [a.touchpoint_id for a in removed if a.touchpoint_id is not None]
    Activity.objects.filter(pk__in=[activity.pk for activity in removed]).delete()
    for entry in resolved:
        activity = entry.existing
        if activity is not None and _unchanged(activity, entry.data):
            continue
        if activity is None:
            activity = Activity(report=report)
        elif activity.touchpoint_id is not None:
            stale_touchpoints.append(activity.touchpoint_id)
        activity.kind = entry.data.kind
        activity.occurred_at = entry.data.occurred_at
        activity.minutes = entry.data.minutes
        activity.outcome = (entry.data.outcome or "").strip()
        activity.deal = entry.deal
        activity.contact = entry.contact
        activity.touchpoint = None
        activity.save()
        activity.touchpoint = _record_touchpoint(activity, rep=rep)
        activity.save(update_fields=["touchpoint"])
        if activity.deal is not None:
            deal_touch(deal=activity.deal, at=activity.occurred_at)
    _delete_touchpoints(stale_touchpoints)


def _unchanged(activity: Activity, data: ActivityInput) -> bool:
    return (
        activity.kind,
        activity.occurred_at,
        activity.minutes,
        activity.outcome,
        activity.deal_id,
        activity.contact_id,
    ) == (
        data.kind,
        data.occurred_at,
        data.minutes,
        (data.outcome or "").strip(),
        data.deal_id,
        data.contact_id,
    )


def _record_touchpoint(activity: Activity, *, rep) -> Touchpoint:
    kind, channel = ACTIVITY_TOUCHPOINT[activity.kind]
    deal = activity.deal
    contact = activity.contact or (deal.contact if deal is not None else None)
    account = deal.account if deal is not None and deal.account_id is not None else None
    summary = activity.get_kind_display()
    if deal is not None:
        summary = f"{summary} ({deal.name})"
    if activity.outcome:
        summary = f"{summary}: {activity.outcome}"
    return accounts_services.touchpoint_record(
        kind=kind,
        channel=channel,
        contact=contact,
        account=account,
        occurred_at=activity.occurred_at,
        summary=summary,
        actor=rep,
        source=activity,
    )


def _delete_touchpoints(touchpoint_ids: Iterable[int]) -> None:
    """Take a changed or removed activity's entry off the timeline."""
    accounts_services.touchpoints_withdraw(touchpoint_ids=touchpoint_ids, source_model=Activity)


# --- Status changes -----------------------------------------------------------------------------


def _record_change(
    report: DailyReport, *, from_status: str, actor, at, comment: str = "", to_status: str = ""
) -> None:
    DailyReportStatusChange.objects.create(
        report=report,
        from_status=from_status,
        to_status=to_status or report.status,
        actor=actor,
        comment=comment,
        created_at=at,
    )


def _submit(report: DailyReport, *, at: dt.datetime) -> None:
    from_status = report.status
    changed = 0
    if from_status in EDITABLE_STATUSES:
        changed = DailyReport.objects.filter(pk=report.pk, status=from_status).update(
            status=Status.SUBMITTED, submitted_at=at, updated_at=timezone.now()
        )
    if changed != 1:
        report.refresh_from_db(fields=["status"])
        raise ConflictError(
            f"The report is {report.status}; only a draft or returned report can be submitted.",
            errors={"status": [f"The report is {report.status}."]},
        )
    report.status, report.submitted_at = Status.SUBMITTED, at
    _record_change(report, from_status=from_status, actor=report.rep, at=at)


def daily_report_submit(
    *, report: DailyReport, actor, at: dt.datetime | None = None
) -> DailyReport:
    """The rep hands in their draft (or returned and edited) report."""
    if report.rep_id != actor.pk:
        raise PermissionDeniedError("Only the rep who wrote the report can submit it.")
    _submit(report, at=at or timezone.now())
    return report


def _check_reviewer(report: DailyReport, actor) -> None:
    if not reports_reviewable_by(actor, DailyReport.objects.filter(pk=report.pk)).exists():
        raise PermissionDeniedError("Only the rep's manager can review this report.")


def _clean_comment(comment: str, *, required: bool) -> str:
    comment = (comment or "").strip()
    if required and not comment:
        message = "Say what the rep should change or know."
        raise ApplicationError("A comment is required.", errors={"comment": [message]})
    if len(comment) > COMMENT_MAX_LENGTH:
        message = f"At most {COMMENT_MAX_LENGTH} characters."
        raise ApplicationError("The comment is too long.", errors={"comment": [message]})
    return comment


def _review(
    report: DailyReport,
    *,
    actor,
    from_statuses: tuple[str, ...],
    to_status: str,
    comment: str | None,
    at: dt.datetime,
) -> None:
    changes = {"status": to_status, "reviewed_by": actor, "reviewed_at": at}
    if comment is not None:
        changes["manager_comment"] = comment
    with transaction.atomic():
        changed = DailyReport.objects.filter(pk=report.pk, status__in=from_statuses).update(
            **changes, updated_at=timezone.now()
        )
        if changed == 1 and to_status not in from_statuses:
            _record_change(
                report,
                from_status=from_statuses[0],
                to_status=to_status,
                actor=actor,
                at=at,
                comment=comment or "",
            )
    if changed != 1:
        report.refresh_from_db(fields=["status"])
        raise ConflictError(
            f"The report is {report.status}.",
            errors={"status": [f"The report is {report.status}."]},
        )
    for name, value in changes.items():
        setattr(report, name, value)


def daily_report_approve(
    *, report: DailyReport, actor, comment: str = "", at: dt.datetime | None = None
) -> DailyReport:
    """A reviewer approves a submitted report (the comment, when given, replaces theirs)."""
    _check_reviewer(report, actor)
    comment = _clean_comment(comment, required=False)
    _review(
        report,
        actor=actor,
        from_statuses=(Status.SUBMITTED,),
        to_status=Status.APPROVED,
        comment=comment or None,
        at=at or timezone.now(),
    )
    return report


def daily_report_return(
    *, report: DailyReport, actor, comment: str, at: dt.datetime | None = None
) -> DailyReport:
    """A reviewer sends a submitted report back to the rep with a comment; the rep is told."""
    _check_reviewer(report, actor)
    comment = _clean_comment(comment, required=True)
    at = at or timezone.now()
    with transaction.atomic():
        _review(
            report,
            actor=actor,
            from_statuses=(Status.SUBMITTED,),
            to_status=Status.RETURNED,
            comment=comment,
            at=at,
        )
        _notify_rep(report, kind=RETURNED_KIND, subject="returned for changes", at=at)
    return report


def daily_report_comment(
    *, report: DailyReport, actor, comment: str, at: dt.datetime | None = None
) -> DailyReport:
    """A reviewer comments on a handed-in report without changing its status."""
    _check_reviewer(report, actor)
    comment = _clean_comment(comment, required=True)
    at = at or timezone.now()
    with transaction.atomic():
        status = report.status
        if status == Status.DRAFT:
            raise ConflictError(
                "The report is still a draft: comment once it is submitted.",
                errors={"status": ["The report is draft."]},
            )
        _review(
            report,
            actor=actor,
            from_statuses=(status,),
            to_status=status,
            comment=comment,
            at=at,
        )
        _notify_rep(report, kind=COMMENT_KIND, subject="commented", at=at)
    return report


def _notify_rep(report: DailyReport, *, kind: str, subject: str, at: dt.datetime) -> None:
    reviewer = report.reviewed_by
    name = (reviewer.get_full_name() or reviewer.get_username()) if reviewer else "Your manager"
    notification_send(
        recipient=report.rep,
        kind=kind,
        key=f"{kind}:{report.pk}:{at.isoformat()}",
        subject=f"Daily report of {report.day.isoformat()} {subject} by {name}",
        body=report.manager_comment,
        source=report,
    )


# --- Reminders ----------------------------------------------------------------------------------


def reps_expected_to_report() -> QuerySet:
    """Active users who write daily reports: the Sales rep group and sales teams' members."""
    return get_user_model().objects.filter(
        Q(pk__in=get_user_model().objects.filter(groups__name=SALES_REP).values("pk"))
        | Q(pk__in=Team.members.through.objects.filter(team__kind=Team.Kind.SALES).values("user")),
        is_active=True,
    )


def remind_unsubmitted_reports(*, now: dt.datetime) -> dict[str, int]:
    """On a working day at or after the policy's due time (local time), notify every rep with
    no submitted or approved report for the day, once a day (the key is per day)."""
    policy = sales_policy()
    if not _is_due(policy, now, policy.report_due_time):
        return {"due": 0, "reminded": 0}
    day = local_today(now)
    handed_in = DailyReport.objects.filter(day=day, status__in=SUBMITTED_STATUSES).values("rep")
    reps = list(reps_expected_to_report().exclude(pk__in=handed_in).order_by("pk"))
    reminded = 0
    for rep in reps:
        sent = notification_send(
            recipient=rep,
            kind=REMINDER_KIND,
            key=f"daily-report-reminder:{day.isoformat()}",
            subject=f"Your daily report for {day.isoformat()} is due",
            body=(
                f"Your daily report for {day.isoformat()} was due at "
                f"{policy.report_due_time:%H:%M} and is not submitted yet."
            ),
        )
        reminded += sent is not None
    return {"due": len(reps), "reminded": reminded}


# --- Managers' daily summaries ------------------------------------------------------------------


@dataclass(frozen=True)
class KindTotal:
    count: int
    minutes: int


@dataclass
class RepDay:
    """One rep's day: activities per kind, the report's status, deals moved forward and won."""

    rep_id: int
    name: str
    report_status: str | None = None
    by_kind: dict[str, KindTotal] = field(default_factory=dict)
    deals_advanced: int = 0
    deals_won: int = 0

    @property
    def submitted(self) -> bool:
        return self.report_status in SUBMITTED_STATUSES

    @property
    def activity_count(self) -> int:
        return sum(total.count for total in self.by_kind.values())

    @property
    def minutes(self) -> int:
        return sum(total.minutes for total in self.by_kind.values())


@dataclass
class TeamDay:
    team_id: int
    team_name: str
    supervisor_id: int
    day: dt.date
    reps: list[RepDay]


def _stage_rank(field_name: str) -> Case:
    return Case(
        *(
            When(**{field_name: stage}, then=Value(rank))
            for rank, stage in enumerate(deal_stages.LINE)
        ),
        default=Value(None),
        output_field=IntegerField(),
    )


def forward_moves(
    *, start: dt.datetime, end: dt.datetime, actor_ids: Iterable[int]
) -> QuerySet[DealStageChange]:
    """Stage changes in [start, end) by these people that moved a deal forward on the line
    (winning included; opening, losing, moving back and reopening excluded)."""
    return (
        DealStageChange.objects.filter(
            created_at__gte=start, created_at__lt=end, actor_id__in=list(actor_ids)
        )
        .annotate(from_rank=_stage_rank("from_stage"), to_rank=_stage_rank("to_stage"))
        .filter(from_rank__isnull=False, to_rank__gt=F("from_rank"))
    )


def sales_teams_with_supervisor() -> QuerySet[Team]:
    return Team.objects.filter(
        kind=Team.Kind.SALES, supervisor__isnull=False, supervisor__is_active=True
    ).select_related("supervisor")


def team_daily_summaries(*, day: dt.date, teams: Iterable[Team] | None = None) -> list[TeamDay]:
    """Each sales team with a supervisor: per member, the day's activities (count and minutes
    per kind), report status, and the deals they moved forward (and won) that day. A handful of
    grouped queries whatever the number of teams and reps."""
    teams = sorted(
        sales_teams_with_supervisor() if teams is None else teams,
        key=lambda team: (team.name, team.pk),
    )
    memberships = (
        Team.members.through.objects.filter(team__in=teams, user__is_active=True)
        .select_related("user")
        .order_by("user__username", "user_id")
    )
    members: dict[int, list] = defaultdict(list)
    for membership in memberships:
        members[membership.team_id].append(membership.user)
    rep_ids = {user.pk for users in members.values() for user in users}

    by_kind: dict[int, dict[str, KindTotal]] = defaultdict(dict)
    for row in (
        Activity.objects.filter(report__day=day, report__rep_id__in=rep_ids)
        .values("report__rep_id", "kind")
        .annotate(count=Count("pk"), minutes=Sum("minutes"))
        .order_by()
    ):
        by_kind[row["report__rep_id"]][row["kind"]] = KindTotal(row["count"], row["minutes"] or 0)
    statuses = dict(
        DailyReport.objects.filter(day=day, rep_id__in=rep_ids).values_list("rep_id", "status")
    )
    start, end = local_day_bounds(day)
    moves = {
        row["actor_id"]: row
        for row in (
            forward_moves(start=start, end=end, actor_ids=rep_ids)
            .values("actor_id")
            .annotate(
                advanced=Count("deal", distinct=True),
                won=Count("deal", distinct=True, filter=Q(to_stage=DealStage.WON)),
            )
            .order_by()
        )
    }
    summaries = []
    for team in teams:
        reps = [
            RepDay(
                rep_id=user.pk,
                name=user.get_full_name() or user.get_username(),
                report_status=statuses.get(user.pk),
                by_kind=dict(by_kind.get(user.pk, {})),
                deals_advanced=moves.get(user.pk, {}).get("advanced", 0),
                deals_won=moves.get(user.pk, {}).get("won", 0),
            )
            for user in members.get(team.pk, [])
        ]
        summaries.append(
            TeamDay(
                team_id=team.pk,
                team_name=team.name,
                supervisor_id=team.supervisor_id,
                day=day,
                reps=reps,
            )
        )
    return summaries


def summary_text(summary: TeamDay) -> str:
    """The summary as the plain-text body of the manager's notification."""
    lines = [f"Daily summary of {summary.team_name} for {summary.day.isoformat()}", ""]
    for rep in summary.reps:
        report = rep.report_status or "no report"
        kinds = ", ".join(
            f"{kind} {total.count} ({total.minutes} min)"
            for kind, total in sorted(rep.by_kind.items())
        )
        lines.append(
            f"- {rep.name}: report {report}; {rep.activity_count} activities, "
            f"{rep.minutes} min{f' ({kinds})' if kinds else ''}; "
            f"deals advanced {rep.deals_advanced}, won {rep.deals_won}"
        )
    submitted = sum(rep.submitted for rep in summary.reps)
    lines += [
        "",
        f"Reports submitted: {submitted} of {len(summary.reps)}. "
        f"Activities: {sum(rep.activity_count for rep in summary.reps)}, "
        f"{sum(rep.minutes for rep in summary.reps)} min. "
        f"Deals advanced: {sum(rep.deals_advanced for rep in summary.reps)}, "
        f"won: {sum(rep.deals_won for rep in summary.reps)}.",
    ]
    return "\n".join(lines)


def send_daily_summaries(*, now: dt.datetime) -> dict[str, int]:
    """On a working day at or after the policy's summary time, send each sales team's
    supervisor the team's day, once per team and day."""
    policy = sales_policy()
    if not _is_due(policy, now, policy.summary_time):
        return {"teams": 0, "sent": 0}
    day = local_today(now)
    teams = list(sales_teams_with_supervisor())
    supervisors = {team.pk: team.supervisor for team in teams}
    summaries = team_daily_summaries(day=day, teams=teams)
    sent = 0
    for summary in summaries:
        notification = notification_send(
            recipient=supervisors[summary.team_id],
            kind=SUMMARY_KIND,
            key=f"daily-report-summary:{summary.team_id}:{day.isoformat()}",
            subject=f"Daily summary: {summary.team_name}, {day.isoformat()}",
            body=summary_text(summary),
        )
        sent += notification is not None
    return {"teams": len(summaries), "sent": sent}
