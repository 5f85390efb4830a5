"""The sales rep's pages: the pipeline board (theirs, or a manager's team's), a deal, the
daily report, hot leads to call and an inquiry a customer gave them.

Every write is a call to the pipeline or inquiries service the API calls, after the same
checks: the deal must be visible (404) and editable (403) through ``pipeline.selectors``, and
the user must hold the permissions the API action requires. A refusal comes back on the form,
with the service's status (400, 403, 409).
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Contact
from accounts.selectors import account_timeline, contact_timeline
from frontoffice.errors import ApplicationError
from frontoffice.workspace.access import is_htmx, visible_or_404, workspace_view
from frontoffice.workspace.forms.base import add_service_errors
from frontoffice.workspace.forms.sales import (
    ActivityForm,
    DailyReportForm,
    DealMoveForm,
    DisqualifyForm,
    InquiryLogForm,
    move_choices,
)
from frontoffice.workspace.selectors import (
    board_columns,
    customer_inquiries,
    next_forward_stage,
    timeline_page,
)
from inquiries import channels
from inquiries import services as inquiry_services
from inquiries.models import InquiryChannel
from pipeline import deal_stages, deals, reports, screening
from pipeline.api.deals import DealFilter
from pipeline.models import (
    Activity,
    DailyReport,
    DailyReportStatusChange,
    Deal,
    DealStageChange,
    FollowUpTask,
)
from pipeline.selectors import (
    deal_owners_assignable_by,
    deals_editable_by,
    deals_visible_to,
    quotes_visible_to,
    reports_visible_to,
)

BOARD_PERMISSIONS = ("pipeline.view_deal", "pipeline.move_deal")
TEAM_BOARD_PERMISSIONS = ("pipeline.view_deal", "pipeline.view_team_deals")
REPORT_PERMISSIONS = ("pipeline.add_dailyreport", "pipeline.change_dailyreport")
LEAD_PERMISSIONS = ("pipeline.view_followuptask", *screening.DECIDE_PERMISSIONS)
# Won and lost deals stay on the board this long after they closed.
CLOSED_ON_BOARD_DAYS = 30
DEAL_TIMELINE_ROWS = 20
REPORTS_PER_PAGE = 30


# --- The board ----------------------------------------------------------------------------------


def _board_deals(request: HttpRequest, params: QueryDict):
    """The deals of the board asked for by `params` (`scope=team`, the API's filters `q`,
    `owner`, `stalled`), and the filter set (for its form)."""
    user = request.user
    team = params.get("scope") == "team"
    if team and not user.has_perms(TEAM_BOARD_PERMISSIONS):
        raise PermissionDenied(_("The team board is for managers."))
    if not team and not user.has_perms(BOARD_PERMISSIONS):
        raise PermissionDenied(_("Your role has no pipeline of its own."))
    scope = deals_visible_to(user) if team else Deal.objects.filter(owner=user)
    since = timezone.now() - timedelta(days=CLOSED_ON_BOARD_DAYS)
    scope = scope.filter(Q(stage__in=deal_stages.OPEN) | Q(closed_at__gte=since))
    filters = DealFilter(params, queryset=scope, request=request)
    return team, (filters.qs if filters.is_valid() else scope), filters


def _render_board(
    request: HttpRequest,
    params: QueryDict,
    *,
    card_errors: dict[int, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    team, deals_on_board, filters = _board_deals(request, params)
    columns, summary = board_columns(deals_on_board)
    card_ids = [deal.pk for column in columns for deal in column.cards]
    editable = set(
        deals_editable_by(request.user, Deal.objects.filter(pk__in=card_ids)).values_list(
            "pk", flat=True
        )
    )
    may_move = request.user.has_perm("pipeline.move_deal")
    for column in columns:
        for deal in column.cards:
            deal.may_move = may_move and deal.pk in editable
            deal.next_stage = next_forward_stage(deal.stage)
            deal.move_choices = move_choices(deal.stage, request.user)
            deal.errors = (card_errors or {}).get(deal.pk, [])
    board_query = params.urlencode()
    context = {
        "team": team,
        "columns": columns,
        "summary": summary,
        "filters": filters,
        "owners": list(deal_owners_assignable_by(request.user).order_by("username"))
        if team
        else [],
        "board_query": board_query,
        "closed_days": CLOSED_ON_BOARD_DAYS,
        # A fragment swapped by htmx carries the page's messages with it.
        "is_fragment": is_htmx(request),
    }
    template = "workspace/sales/_board.html" if is_htmx(request) else "workspace/sales/board.html"
    return render(request, template, context, status=status)


@workspace_view("pipeline.view_deal")
def board(request: HttpRequest) -> HttpResponse:
    """My pipeline by stage (or, `?scope=team`, a manager's teams'): count and amount per
    column, stalled deals marked, a click moves a deal on."""
    return _render_board(request, request.GET)


@require_POST
@workspace_view("pipeline.view_deal", "pipeline.move_deal")
def board_move(request: HttpRequest, pk: int) -> HttpResponse:
    """A move from a board card; the board comes back (the whole page, or its fragment to
    htmx) with the move done, or with the refusal on the card."""
    params = QueryDict(request.POST.get("board_query", ""))
    deal = visible_or_404(deals_visible_to, request.user, Deal.objects.all(), pk)
    if not deals_editable_by(request.user, Deal.objects.filter(pk=deal.pk)).exists():
        raise PermissionDenied(_("You may read this deal but not change it."))
    form = DealMoveForm(request.POST, deal=deal, user=request.user)
    if not form.is_valid():
        errors = [str(message) for messages_ in form.errors.values() for message in messages_]
        return _render_board(request, params, card_errors={deal.pk: errors}, status=400)
    try:
        deals.deal_move(deal=deal, actor=request.user, **form.cleaned_data)
    except ApplicationError as error:
        errors = [str(message) for _field, values in error.errors.items() for message in values]
        return _render_board(
            request,
            params,
            card_errors={deal.pk: errors or [error.message]},
            status=error.status_code,
        )
    messages.success(
        request,
        _("%(deal)s moved to %(stage)s.") % {"deal": deal.name, "stage": deal.get_stage_display()},
    )
    if is_htmx(request):
        return _render_board(request, params)
    url = reverse("workspace:board")
    return redirect(f"{url}?{params.urlencode()}" if params else url)


# --- A deal -------------------------------------------------------------------------------------


def _own_report_day(user, day: dt.date) -> DailyReport | None:
    return (
        DailyReport.objects.filter(rep=user, day=day)
        .prefetch_related(Prefetch("activities", queryset=Activity.objects.order_by("id")))
        .first()
    )


def _existing_inputs(report: DailyReport | None) -> list[reports.ActivityInput]:
    if report is None:
        return []
    return [
        reports.ActivityInput(
            id=activity.pk,
            kind=activity.kind,
            occurred_at=activity.occurred_at,
            minutes=activity.minutes,
            outcome=activity.outcome,
            deal_id=activity.deal_id,
            contact_id=activity.contact_id,
        )
        for activity in report.activities.all()
    ]


def _save_report(
    user,
    day: dt.date,
    *,
    activities: list[reports.ActivityInput],
    notes: str | None = None,
    tomorrow_plan: str | None = None,
    submit: bool = False,
    report: DailyReport | None = None,
) -> DailyReport:
    """The daily report service, given the whole day as the API's PUT gives it: the report's
    notes and plan are kept unless new ones are given."""
    saved, _created = reports.daily_report_save(
        rep=user,
        day=day,
        notes=report.notes if notes is None and report else (notes or ""),
        tomorrow_plan=report.tomorrow_plan
        if tomorrow_plan is None and report
        else (tomorrow_plan or ""),
        activities=activities,
        submit=submit,
    )
    return saved


def log_activity(user, form: ActivityForm, *, day: dt.date | None = None) -> DailyReport:
    """Add the form's activity to the rep's report of its day (or of `day`): the report is
    saved whole, its other activities kept."""
    new = form.activity_input()
    day = day or reports.local_today(new.occurred_at)
    report = _own_report_day(user, day)
    return _save_report(user, day, activities=[*_existing_inputs(report), new], report=report)


ACTIVITY_FIELDS = {"day": "occurred_at", "activities": "__all__"}


def _deal_context(request: HttpRequest, deal: Deal, **forms_) -> dict:
    user = request.user
    editable = deals_editable_by(user, Deal.objects.filter(pk=deal.pk)).exists()
    may_move = editable and user.has_perm("pipeline.move_deal")
    may_log = editable and user.has_perms(REPORT_PERMISSIONS)
    if deal.account_id is not None:
        touchpoints = account_timeline(account=deal.account)
    elif deal.contact_id is not None:
        touchpoints = contact_timeline(contact=deal.contact)
    else:
        touchpoints = None
    timeline = timeline_page(touchpoints) if touchpoints is not None else None
    if timeline is not None:
        timeline.entries = timeline.entries[:DEAL_TIMELINE_ROWS]
    quotes = (
        list(quotes_visible_to(user, deal.quotes.all()).order_by("-created_at", "-id"))
        if user.has_perm("pipeline.view_quote")
        else None
    )
    return {
        "deal": deal,
        "editable": editable,
        "move_form": forms_.get("move_form")
        or (DealMoveForm(deal=deal, user=user) if may_move else None),
        "activity_form": forms_.get("activity_form")
        or (ActivityForm(user=user, deal=deal) if may_log else None),
        "history": list(
            DealStageChange.objects.filter(deal=deal)
            .select_related("actor")
            .order_by("-created_at", "-id")
        ),
        "quotes": quotes,
        "inquiries": customer_inquiries(user, deal=deal)
        if user.has_perm("inquiries.view_inquiry")
        else None,
        "timeline": timeline,
        "next_stage": next_forward_stage(deal.stage),
    }


@workspace_view("pipeline.view_deal")
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The deal: its customer's timeline, quotes, stage history; move it, log an activity."""
    queryset = Deal.objects.select_related("account", "contact", "owner", "team", "campaign")
    deal = visible_or_404(deals_visible_to, request.user, queryset, pk)
    if request.method != "POST":
        return render(request, "workspace/sales/deal.html", _deal_context(request, deal))

    action = request.POST.get("action")
    if action == "move":
        return _deal_move(request, deal)
    if action == "activity":
        return _deal_activity(request, deal)
    raise Http404


def _require_editable(request: HttpRequest, deal: Deal) -> None:
    if not deals_editable_by(request.user, Deal.objects.filter(pk=deal.pk)).exists():
        raise PermissionDenied(_("You may read this deal but not change it."))


def _deal_move(request: HttpRequest, deal: Deal) -> HttpResponse:
    if not request.user.has_perm("pipeline.move_deal"):
        raise PermissionDenied(_("Your role does not move deals."))
    _require_editable(request, deal)
    form = DealMoveForm(request.POST, deal=deal, user=request.user)
    status = 400
    if form.is_valid():
        try:
            deals.deal_move(deal=deal, actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            add_service_errors(form, error)
            status = error.status_code
        else:
            messages.success(
                request,
                _("%(deal)s moved to %(stage)s.")
                % {"deal": deal.name, "stage": deal.get_stage_display()},
            )
            return redirect("workspace:deal", pk=deal.pk)
    context = _deal_context(request, deal, move_form=form)
    return render(request, "workspace/sales/deal.html", context, status=status)


def _deal_activity(request: HttpRequest, deal: Deal) -> HttpResponse:
    if not request.user.has_perms(REPORT_PERMISSIONS):
        raise PermissionDenied(_("Your role does not write daily reports."))
    _require_editable(request, deal)
    form = ActivityForm(request.POST, user=request.user, deal=deal)
    status = 400
    if form.is_valid():
        try:
            log_activity(request.user, form)
        except ApplicationError as error:
            add_service_errors(form, error, fields=ACTIVITY_FIELDS)
            status = error.status_code
        else:
            messages.success(request, _("Activity logged in your daily report."))
            return redirect("workspace:deal", pk=deal.pk)
    context = _deal_context(request, deal, activity_form=form)
    return render(request, "workspace/sales/deal.html", context, status=status)


# --- The daily report ---------------------------------------------------------------------------


def _report_context(request: HttpRequest, day: dt.date, **forms_) -> dict:
    user = request.user
    report = (
        DailyReport.objects.filter(rep=user, day=day)
        .select_related("reviewed_by")
        .prefetch_related(
            Prefetch(
                "activities",
                queryset=Activity.objects.select_related("deal", "contact").order_by(
                    "occurred_at", "id"
                ),
            )
        )
        .first()
    )
    editable = report is None or report.status in reports.EDITABLE_STATUSES
    activities = list(report.activities.all()) if report else []
    changes = (
        list(
            DailyReportStatusChange.objects.filter(report=report)
            .select_related("actor")
            .order_by("-created_at", "-id")
        )
        if report
        else []
    )
    initial = {"notes": report.notes, "tomorrow_plan": report.tomorrow_plan} if report else {}
    return {
        "day": day,
        "is_today": day == reports.local_today(),
        "report": report,
        "editable": editable,
        "activities": activities,
        "total_minutes": sum(activity.minutes for activity in activities),
        "changes": changes,
        "activity_form": forms_.get("activity_form")
        or (ActivityForm(user=user, initial=_activity_initial(day)) if editable else None),
        "report_form": forms_.get("report_form")
        or (DailyReportForm(initial=initial) if editable else None),
    }


def _activity_initial(day: dt.date) -> dict:
    now = timezone.localtime().replace(second=0, microsecond=0)
    if now.date() == day:
        return {"occurred_at": now}
    return {"occurred_at": now.replace(year=day.year, month=day.month, day=day.day, hour=17)}


def _report_url(day: dt.date) -> str:
    if day == reports.local_today():
        return reverse("workspace:report-today")
    return reverse("workspace:report-day", kwargs={"day": day.isoformat()})


@workspace_view(*REPORT_PERMISSIONS)
def report_today(request: HttpRequest) -> HttpResponse:
    return _report_page(request, reports.local_today())


@workspace_view(*REPORT_PERMISSIONS)
def report_day(request: HttpRequest, day: str) -> HttpResponse:
    try:
        parsed = dt.date.fromisoformat(day)
    except ValueError as exc:
        raise Http404 from exc
    if parsed > reports.local_today():
        raise Http404
    return _report_page(request, parsed)


def _report_page(request: HttpRequest, day: dt.date) -> HttpResponse:
    """The rep's report of `day`: add or remove activities, notes and the plan for tomorrow,
    save or submit. Each change saves the whole day through the daily report service."""
    if request.method != "POST":
        return render(request, "workspace/sales/report.html", _report_context(request, day))
    action = request.POST.get("action")
    handlers = {
        "add-activity": _report_add_activity,
        "remove-activity": _report_remove_activity,
        "save": _report_save,
    }
    if action not in handlers:
        raise Http404
    return handlers[action](request, day)


def _report_add_activity(request: HttpRequest, day: dt.date) -> HttpResponse:
    form = ActivityForm(request.POST, user=request.user)
    status = 400
    if form.is_valid():
        try:
            log_activity(request.user, form, day=day)
        except ApplicationError as error:
            add_service_errors(form, error, fields=ACTIVITY_FIELDS)
            status = error.status_code
        else:
            messages.success(request, _("Activity added."))
            return redirect(_report_url(day))
    context = _report_context(request, day, activity_form=form)
    return render(request, "workspace/sales/report.html", context, status=status)


def _report_remove_activity(request: HttpRequest, day: dt.date) -> HttpResponse:
    report = _own_report_day(request.user, day)
    try:
        activity_id = int(request.POST.get("activity", ""))
    except ValueError as exc:
        raise Http404 from exc
    kept = [item for item in _existing_inputs(report) if item.id != activity_id]
    if report is None or len(kept) == len(report.activities.all()):
        raise Http404
    try:
        _save_report(request.user, day, activities=kept, report=report)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Activity removed."))
    return redirect(_report_url(day))


def _report_save(request: HttpRequest, day: dt.date) -> HttpResponse:
    form = DailyReportForm(request.POST)
    submit = "submit" in request.POST
    status = 400
    if form.is_valid():
        report = _own_report_day(request.user, day)
        try:
            _save_report(
                request.user,
                day,
                activities=_existing_inputs(report),
                notes=form.cleaned_data["notes"],
                tomorrow_plan=form.cleaned_data["tomorrow_plan"],
                submit=submit,
                report=report,
            )
        except ApplicationError as error:
            add_service_errors(form, error)
            status = error.status_code
        else:
            messages.success(
                request,
                _("Report submitted to your manager.") if submit else _("Report saved."),
            )
            return redirect(_report_url(day))
    context = _report_context(request, day, report_form=form)
    return render(request, "workspace/sales/report.html", context, status=status)


@workspace_view(*REPORT_PERMISSIONS)
def report_list(request: HttpRequest) -> HttpResponse:
    """My past reports with their status and the manager's comments (one query a page)."""
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    start = (page - 1) * REPORTS_PER_PAGE
    rows = list(
        reports_visible_to(request.user, DailyReport.objects.filter(rep=request.user))
        .select_related("reviewed_by")
        .annotate(activity_count=Count("activities"), minutes=Sum("activities__minutes"))
        .order_by("-day")[start : start + REPORTS_PER_PAGE + 1]
    )
    context = {
        "reports": rows[:REPORTS_PER_PAGE],
        "page": page,
        "has_next": len(rows) > REPORTS_PER_PAGE,
        "today": reports.local_today(),
    }
    return render(request, "workspace/sales/report_list.html", context)


@workspace_view("pipeline.view_dailyreport")
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One report as its rep or their manager sees it: activities, notes, plan, and the status
    history with the manager's comments."""
    queryset = DailyReport.objects.select_related("rep", "reviewed_by").prefetch_related(
        Prefetch(
            "activities",
            queryset=Activity.objects.select_related("deal", "contact").order_by(
                "occurred_at", "id"
            ),
        )
    )
    report = visible_or_404(reports_visible_to, request.user, queryset, pk)
    activities = list(report.activities.all())
    context = {
        "report": report,
        "activities": activities,
        "total_minutes": sum(activity.minutes for activity in activities),
        "changes": list(
            DailyReportStatusChange.objects.filter(report=report)
            .select_related("actor")
            .order_by("-created_at", "-id")
        ),
        "own": report.rep_id == request.user.pk,
        "editable": report.rep_id == request.user.pk and report.status in reports.EDITABLE_STATUSES,
    }
    return render(request, "workspace/sales/report_detail.html", context)


# --- Hot leads ----------------------------------------------------------------------------------


def _my_leads(user):
    return (
        FollowUpTask.objects.filter(assignee=user, status=FollowUpTask.Status.OPEN)
        .select_related("contact__account", "contact__lead_score")
        .order_by("due_at", "id")
    )


def _with_reasons(tasks: list[FollowUpTask], forms_: dict[int, DisqualifyForm]) -> None:
    now = timezone.now()
    for task in tasks:
        score = getattr(task.contact, "lead_score", None)
        task.reasons = sorted(
            (score.breakdown if score else []) or [], key=lambda e: -e.get("points", 0)
        )[:3]
        task.overdue = task.due_at < now
        task.disqualify_form = forms_.get(task.contact_id) or DisqualifyForm(
            prefix=f"lead-{task.contact_id}"
        )


def _leads_page(
    request: HttpRequest, *, forms_: dict[int, DisqualifyForm] | None = None, status: int = 200
) -> HttpResponse:
    tasks = list(_my_leads(request.user))
    _with_reasons(tasks, forms_ or {})
    return render(request, "workspace/sales/leads.html", {"tasks": tasks}, status=status)


@workspace_view(*LEAD_PERMISSIONS)
def leads(request: HttpRequest) -> HttpResponse:
    """The hot leads screening gave me to call, soonest due first, with why they are hot."""
    return _leads_page(request)


@require_POST
@workspace_view(*LEAD_PERMISSIONS)
def lead_decide(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Qualify (the journey moves to prospect) or disqualify (to lost, with a reason) a lead,
    through the screening service, as the API's qualify and disqualify actions do."""
    contact = get_object_or_404(Contact.objects.select_related("account"), pk=contact_id)
    decision = request.POST.get("decision")
    if decision not in ("qualify", "disqualify"):
        raise Http404
    prefix = f"lead-{contact.pk}"
    form = DisqualifyForm(request.POST if decision == "disqualify" else None, prefix=prefix)
    outcome, refusal, status = "", "", 200
    try:
        if decision == "qualify":
            screening.lead_qualify(contact=contact, actor=request.user)
            outcome = _("%(name)s qualified: now a prospect.") % {"name": contact}
        elif form.is_valid():
            screening.lead_disqualify(
                contact=contact, actor=request.user, reason=form.cleaned_data["reason"]
            )
            outcome = _("%(name)s disqualified.") % {"name": contact}
        else:
            status = 400
    except ApplicationError as error:
        status = error.status_code
        if form.is_bound:
            add_service_errors(form, error)
        else:
            refusal = error.message
    if is_htmx(request):
        task = (
            FollowUpTask.objects.filter(contact=contact, assignee=request.user)
            .select_related("contact__account", "contact__lead_score")
            .order_by("-created_at", "-id")
            .first()
        )
        if task is not None:
            _with_reasons([task], {contact.pk: form})
        context = {"task": task, "contact": contact, "outcome": outcome, "refusal": refusal}
        return render(request, "workspace/sales/_lead.html", context, status=status)
    if status == 200:
        messages.success(request, outcome)
        return redirect("workspace:leads")
    if refusal:
        messages.error(request, refusal)
    return _leads_page(request, forms_={contact.pk: form}, status=status)


# --- An inquiry a customer gave the rep ---------------------------------------------------------


@workspace_view("inquiries.add_inquiry")
def inquiry_log(request: HttpRequest) -> HttpResponse:
    """Record an inquiry a customer gave the user. A rep passes it on to support (channel
    `sales_rep`: it enters the routed queues, the rep stays informed); an agent picks the
    channel it came by."""
    contact_id = request.POST.get("contact") or request.GET.get("contact")
    known = None
    if contact_id:
        try:
            known = Contact.objects.select_related("account").get(pk=int(contact_id))
        except (ValueError, Contact.DoesNotExist) as exc:
            raise Http404 from exc
    user = request.user
    if request.method != "POST":
        form = InquiryLogForm(user=user, known_contact=known)
        return render(request, "workspace/sales/inquiry_log.html", {"form": form, "contact": known})
    form = InquiryLogForm(request.POST, user=user, known_contact=known)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        customer = (
            inquiry_services.Customer(contact=known)
            if known is not None
            else inquiry_services.Customer(
                email=data.get("email") or "",
                phone=data.get("phone") or "",
                name=data.get("name") or "",
                company=data.get("company") or "",
            )
        )
        try:
            inquiry = channels.inquiry_log(
                actor=user,
                channel=data.get("channel") or InquiryChannel.SALES_REP,
                customer=customer,
                subject=data["subject"],
                body=data["body"],
                category=data["category"],
                priority=data["priority"],
                deal=data.get("deal"),
            )
        except ApplicationError as error:
            add_service_errors(form, error)
            status = error.status_code
        else:
            messages.success(
                request,
                _("Inquiry #%(number)s logged; support has it in their queue.")
                % {"number": inquiry.pk},
            )
            return redirect("workspace:contact", pk=inquiry.contact_id)
    return render(
        request, "workspace/sales/inquiry_log.html", {"form": form, "contact": known}, status=status
    )
