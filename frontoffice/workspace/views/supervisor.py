"""The supervisor's and manager's pages: escalations addressed to me (answer, approve, reject
with a comment, or escalate further) and my team's daily reports (approve, return or comment).
My team's pipeline is the sales board with ``?scope=team`` (views/sales.py), my team's queue
the inbox's team tab (views/support.py), the KPI dashboard ``/dashboard/``.

Lists come from the same selectors as the API (``escalations_addressed_to``,
``reports_reviewable_by``); decisions call the escalation and report services, which check who
may decide (an agent cannot answer an escalation addressed to a supervisor: 403).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from frontoffice.errors import ApplicationError
from frontoffice.workspace.access import visible_or_404, workspace_view
from frontoffice.workspace.forms.base import add_service_errors
from frontoffice.workspace.forms.supervisor import (
    ESCALATIONS_CLOSED,
    ESCALATIONS_OPEN,
    REPORTS_ALL,
    EscalationAnswerForm,
    EscalationDecisionForm,
    EscalationFilterForm,
    ReportFilterForm,
    ReportReviewForm,
    closed_statuses,
)
from frontoffice.workspace.forms.support import EscalateForm
from frontoffice.workspace.views.support import escalations_visible_to, thread_of
from inquiries import escalations
from inquiries.models import Escalation, EscalationChange, EscalationKind, EscalationStatus
from inquiries.selectors import escalations_addressed_to
from pipeline import reports
from pipeline.models import Activity, DailyReport, DailyReportStatusChange
from pipeline.selectors import reports_reviewable_by

ESCALATION_READ = ("inquiries.view_escalation",)
ESCALATE = ("inquiries.view_escalation", "inquiries.escalate_inquiry")
REVIEW = ("pipeline.view_dailyreport", "pipeline.review_dailyreport")
PAGE_SIZE = 50
ANSWERED_KINDS = (EscalationKind.TRANSFER, EscalationKind.INSTRUCTIONS)


# --- Escalations addressed to me ----------------------------------------------------------------


def _escalation_rows():
    return Escalation.objects.select_related(
        "inquiry__contact", "inquiry__team", "requested_by", "owner", "to_team"
    )


@workspace_view(*ESCALATION_READ)
def escalation_list(request: HttpRequest) -> HttpResponse:
    """Escalations I must act on (owned by me or to a team I supervise), soonest due first;
    overdue ones highlighted."""
    form = EscalationFilterForm(request.GET)
    status = 200 if form.is_valid() else 400
    filters = {"kind": "", **form.cleaned_data}
    queryset = escalations_addressed_to(request.user, _escalation_rows())
    if filters["status"] == ESCALATIONS_OPEN:
        queryset = queryset.filter(status=EscalationStatus.OPEN).order_by("due_at", "id")
    elif filters["status"] == ESCALATIONS_CLOSED:
        queryset = queryset.filter(status__in=closed_statuses()).order_by("-closed_at", "-id")
    else:
        queryset = queryset.order_by("-created_at", "-id")
    if filters["kind"]:
        queryset = queryset.filter(kind=filters["kind"])
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for escalation in page.object_list:
        escalation.is_overdue = escalation.status == EscalationStatus.OPEN and (
            escalation.due_at < now
        )
    context = {"form": form, "page": page, "filters": filters, "query": _query(request)}
    return render(request, "workspace/supervisor/escalations.html", context, status=status)


def _query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _load_escalation(request: HttpRequest, pk: int) -> Escalation:
    queryset = _escalation_rows().select_related("inquiry__assignee", "parent__owner")
    return visible_or_404(escalations_visible_to, request.user, queryset, pk)


def _escalation_context(request: HttpRequest, escalation: Escalation, bound: dict) -> dict:
    user = request.user
    is_open = escalation.status == EscalationStatus.OPEN
    may_answer = is_open and escalations.may_answer(user, escalation)
    forms: dict[str, Any] = {}
    if may_answer:
        if escalation.kind in ANSWERED_KINDS:
            forms["answer"] = bound.get("answer") or EscalationAnswerForm()
        else:
            forms["decide"] = bound.get("decide") or EscalationDecisionForm()
        if user.has_perms(ESCALATE):
            forms["escalate"] = bound.get("escalate") or EscalateForm(user=user)
    for key, form in bound.items():
        forms.setdefault(key, form)  # a refused form keeps its errors on the page
    return {
        "escalation": escalation,
        "inquiry": escalation.inquiry,
        "is_overdue": is_open and escalation.due_at < timezone.now(),
        "may_answer": may_answer,
        "forms": forms,
        "changes": list(
            EscalationChange.objects.filter(escalation=escalation)
            .select_related("actor")
            .order_by("created_at", "id")
        ),
        "children": list(
            Escalation.objects.filter(parent=escalation)
            .select_related("owner", "to_team")
            .order_by("created_at", "id")
        ),
        "thread": thread_of(escalation.inquiry),
    }


def _render_escalation(
    request: HttpRequest, pk: int, *, bound: dict | None = None, status: int = 200
) -> HttpResponse:
    escalation = _load_escalation(request, pk)
    context = _escalation_context(request, escalation, bound or {})
    return render(request, "workspace/supervisor/escalation.html", context, status=status)


@workspace_view(*ESCALATION_READ)
def escalation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One escalation: the inquiry and its thread, the reason, the history, and (for who may
    answer it) the answer or the decision."""
    return _render_escalation(request, pk)


def _require_answerer(request: HttpRequest, escalation: Escalation) -> None:
    if not escalations.may_answer(request.user, escalation):
        raise PermissionDenied(
            _("Only the escalation's owner, their team's supervisor or an admin may answer it.")
        )


def _decide(
    request: HttpRequest, escalation: Escalation, *, key: str, form, perform, success: str
) -> HttpResponse:
    status = 400
    if form.is_valid():
        try:
            perform(form.cleaned_data)
        except ApplicationError as error:
            add_service_errors(form, error, fields={"text": "text", "parent": "kind"})
            status = error.status_code
        else:
            messages.success(request, success)
            return redirect("workspace:escalation", pk=escalation.pk)
    return _render_escalation(request, escalation.pk, bound={key: form}, status=status)


@require_POST
@workspace_view(*ESCALATION_READ)
def escalation_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner answers a transfer or a request for instructions."""
    escalation = _load_escalation(request, pk)
    _require_answerer(request, escalation)
    return _decide(
        request,
        escalation,
        key="answer",
        form=EscalationAnswerForm(request.POST),
        perform=lambda data: escalations.escalation_answer(
            escalation=escalation, actor=request.user, text=data["text"]
        ),
        success=_("Answer sent."),
    )


@require_POST
@workspace_view(*ESCALATION_READ)
def escalation_decide(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner approves an approval request (comment optional) or rejects it (comment
    required)."""
    escalation = _load_escalation(request, pk)
    _require_answerer(request, escalation)
    form = EscalationDecisionForm(request.POST)

    def perform(data):
        if form.decision == "approve":
            escalations.escalation_approve(
                escalation=escalation, actor=request.user, comment=data["comment"]
            )
        else:
            escalations.escalation_reject(
                escalation=escalation, actor=request.user, comment=data["comment"]
            )

    success = _("Approved.") if form.decision == "approve" else _("Rejected.")
    return _decide(request, escalation, key="decide", form=form, perform=perform, success=success)


@require_POST
@workspace_view(*ESCALATE)
def escalation_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    """Escalate an open escalation one level up (to one's own manager, another department)."""
    parent = _load_escalation(request, pk)
    _require_answerer(request, parent)
    return _decide(
        request,
        parent,
        key="escalate",
        form=EscalateForm(request.POST, user=request.user),
        perform=lambda data: escalations.escalate(
            inquiry=parent.inquiry, parent=parent, actor=request.user, **data
        ),
        success=_("Escalated one level up."),
    )


# --- My team's daily reports --------------------------------------------------------------------


def _report_rows(user):
    queryset = DailyReport.objects.select_related("rep", "reviewed_by").annotate(
        activity_count=Count("activities"), total_minutes=Sum("activities__minutes")
    )
    return reports_reviewable_by(user, queryset)


@workspace_view(*REVIEW)
def team_reports(request: HttpRequest) -> HttpResponse:
    """My team's reports: those waiting for my review first (oldest handed in first)."""
    form = ReportFilterForm(request.GET)
    status = 200 if form.is_valid() else 400
    chosen = form.cleaned_data["status"]
    queryset = _report_rows(request.user)
    if chosen == DailyReport.Status.SUBMITTED:
        queryset = queryset.filter(status=chosen).order_by("submitted_at", "id")
    elif chosen == REPORTS_ALL:
        queryset = queryset.order_by("-day", "rep__username", "id")
    else:
        queryset = queryset.filter(status=chosen).order_by("-day", "rep__username", "id")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "chosen": chosen, "query": _query(request)}
    return render(request, "workspace/supervisor/reports.html", context, status=status)


def _load_report(request: HttpRequest, pk: int) -> DailyReport:
    return visible_or_404(
        reports_reviewable_by,
        request.user,
        DailyReport.objects.select_related("rep", "reviewed_by"),
        pk,
    )


def _report_context(report: DailyReport, form: ReportReviewForm | None) -> dict:
    activities = list(
        Activity.objects.filter(report=report)
        .select_related("deal", "contact")
        .order_by("occurred_at", "id")
    )
    reviewable = report.status != DailyReport.Status.DRAFT
    return {
        "report": report,
        "activities": activities,
        "total_minutes": sum(activity.minutes for activity in activities),
        "changes": list(
            DailyReportStatusChange.objects.filter(report=report)
            .select_related("actor")
            .order_by("created_at", "id")
        ),
        "form": form or (ReportReviewForm() if reviewable else None),
        "may_decide": report.status == DailyReport.Status.SUBMITTED,
    }


@workspace_view(*REVIEW)
def team_report(request: HttpRequest, pk: int) -> HttpResponse:
    """A rep's report with its activities, plan and history; approve, return or comment."""
    report = _load_report(request, pk)
    return render(request, "workspace/supervisor/report.html", _report_context(report, None))


REVIEWS = {
    "approve": (reports.daily_report_approve, gettext_lazy("Report approved.")),
    "return": (reports.daily_report_return, gettext_lazy("Report returned to the rep.")),
    "comment": (reports.daily_report_comment, gettext_lazy("Comment sent to the rep.")),
}


@require_POST
@workspace_view(*REVIEW)
def team_report_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The reviewer's decision, by the button pressed; refusals inline (a return without a
    comment, a report changed meanwhile: 409)."""
    report = _load_report(request, pk)
    form = ReportReviewForm(request.POST)
    status = 400
    if form.is_valid():
        review, success = REVIEWS[form.decision]
        try:
            review(report=report, actor=request.user, comment=form.cleaned_data["comment"])
        except ApplicationError as error:
            add_service_errors(form, error)
            status = error.status_code
        else:
            messages.success(request, str(success))
            return redirect("workspace:team-report", pk=report.pk)
    report = _load_report(request, pk)
    context = _report_context(report, form)
    return render(request, "workspace/supervisor/report.html", context, status=status)
