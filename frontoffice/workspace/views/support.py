"""The support agent's pages: the inbox (my inquiries, my teams' queue) and the inquiry page
(the thread across channels, the customer's contact history, suggested answers, and the
actions: reply, internal note, log a call, escalate, move or resolve, take, assign).

Reads go through ``inquiries.selectors`` (an inquiry outside the user's scope is a 404, as in
the API). Every write calls the service the API's action calls, after the API's checks: the
permissions the action requires, and the inquiry must be one the user may work on (403
otherwise). A refusal comes back on the form, inline, with the service's status (400, 403,
409); a success redirects back to the page (htmx follows the redirect and swaps the page's
main part).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Count, DateTimeField, F, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.selectors import contact_timeline, team_ids_of
from frontoffice.errors import ApplicationError
from frontoffice.workspace.access import is_htmx, visible_or_404, workspace_view
from frontoffice.workspace.forms.base import WorkspaceForm, add_service_errors
from frontoffice.workspace.forms.support import (
    SCOPE_MINE,
    SCOPE_TEAM,
    STATUS_ACTIVE,
    STATUS_DONE,
    AssignForm,
    CancelEscalationForm,
    EscalateForm,
    InboxFilterForm,
    InquiryMoveForm,
    LogCallForm,
    NoteForm,
    ReplyForm,
)
from frontoffice.workspace.selectors import timeline_page
from inquiries import channels, escalations, services, statuses
from inquiries.api.inquiries import InquiryFilter, sla_condition, sla_state_of
from inquiries.faq import selectors as faq_selectors
from inquiries.models import (
    Escalation,
    EscalationStatus,
    Inquiry,
    InquiryChannel,
    InquiryStatus,
    InquiryStatusChange,
    Message,
)
from inquiries.selectors import (
    escalations_addressed_to,
    inquiries_visible_to,
    inquiries_workable_by,
)

READ = ("inquiries.view_inquiry",)
ANSWER = (*READ, "inquiries.answer_inquiry")
ASSIGN = (*READ, "inquiries.assign_inquiry")
ESCALATE = (*READ, "inquiries.escalate_inquiry")
LOG_CALL = (*ANSWER, "inquiries.add_phonecall")
INBOX_PAGE_SIZE = 50
SUGGESTIONS_SHOWN = 5


# --- Reads --------------------------------------------------------------------------------------


def next_due() -> Case:
    """The SLA target the inquiry must meet next: the first response while none was given,
    then the resolution; none once it is resolved or closed."""
    return Case(
        When(status__in=sorted(statuses.DONE), then=Value(None)),
        When(
            first_responded_at__isnull=True,
            first_response_due_at__isnull=False,
            then=F("first_response_due_at"),
        ),
        When(resolved_at__isnull=True, then=F("resolution_due_at")),
        default=Value(None),
        output_field=DateTimeField(),
    )


def inbox_scope(user, scope: str, queryset: QuerySet[Inquiry] | None = None) -> QuerySet:
    """The inquiries of an inbox tab that `user` may see: assigned to them (`mine`), or in the
    queues of the teams they belong to or supervise plus the shared queue (`team`)."""
    visible = inquiries_visible_to(user, queryset)
    if scope == SCOPE_TEAM:
        return visible.filter(
            Q(team__in=team_ids_of(user)) | Q(team__isnull=True, assignee__isnull=True)
        )
    return visible.filter(assignee=user)


def _with_status(queryset: QuerySet[Inquiry], status: str) -> QuerySet[Inquiry]:
    if status == STATUS_ACTIVE:
        return queryset.filter(status__in=sorted(statuses.ACTIVE))
    if status == STATUS_DONE:
        return queryset.filter(status__in=sorted(statuses.DONE))
    return queryset.filter(status=status)


ORDERINGS: dict[str, tuple] = {
    "due": (F("next_due").asc(nulls_last=True), "-created_at", "-id"),
    "newest": ("-created_at", "-id"),
    "last_message": ("-last_message_at", "-id"),
}


def inbox_inquiries(user, filters: dict[str, Any]) -> QuerySet[Inquiry]:
    """One inbox tab, filtered through the API's FilterSet (text, channel, priority, SLA
    state), in the chosen order; the columns the rows show are joined in."""
    base = Inquiry.objects.select_related("contact", "account", "assignee", "team").annotate(
        next_due=next_due()
    )
    queryset = _with_status(inbox_scope(user, filters["scope"], base), filters["status"])
    data = QueryDict(mutable=True)
    for name in ("q", "channel", "priority", "sla"):
        if filters[name]:
            data[name] = filters[name]
    if data:
        queryset = InquiryFilter(data, queryset=queryset).qs
    return queryset.order_by(*ORDERINGS[filters["sort"]])


def _active_count(user, scope: str) -> int:
    return _with_status(inbox_scope(user, scope), STATUS_ACTIVE).count()


@dataclass(frozen=True)
class Workload:
    """One person's share of the team queue's active inquiries (nobody: the unassigned)."""

    name: str
    active: int
    breached: int


def team_workload(user, now) -> list[Workload]:
    """Active inquiries of the team tab per assignee, with how many breach their SLA: one
    grouped query (the supervisor's view of who carries what)."""
    rows = (
        _with_status(inbox_scope(user, SCOPE_TEAM), STATUS_ACTIVE)
        .order_by()
        .values("assignee__username", "assignee__first_name", "assignee__last_name")
        .annotate(active=Count("pk"), breached=Count("pk", filter=sla_condition("breached", now)))
    )
    loads = [
        Workload(
            name=" ".join(
                part for part in (row["assignee__first_name"], row["assignee__last_name"]) if part
            )
            or row["assignee__username"]
            or "",
            active=row["active"],
            breached=row["breached"],
        )
        for row in rows
    ]
    return sorted(loads, key=lambda load: (load.name == "", -load.active, load.name))


def _wants_fragment(request: HttpRequest) -> bool:
    # A history restore after "back" needs the whole page, not the fragment.
    return is_htmx(request) and not request.headers.get("HX-History-Restore-Request")


# --- The inbox ----------------------------------------------------------------------------------


@workspace_view(*ANSWER)
def inbox(request: HttpRequest) -> HttpResponse:
    """My inquiries or my team's queue, due first, with breached SLA targets highlighted."""
    form = InboxFilterForm(request.GET)
    status = 200 if form.is_valid() else 400
    # A bad filter value is shown on the form; the valid ones still apply.
    filters = {"q": "", "channel": "", "priority": "", "sla": "", **form.cleaned_data}
    page = Paginator(inbox_inquiries(request.user, filters), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    for inquiry in page.object_list:
        inquiry.sla_state = sla_state_of(inquiry, now)
    user = request.user
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "scope": filters["scope"],
        "now": now,
        "may_take": user.has_perm("inquiries.assign_inquiry"),
        "query": _query_without(request, "page"),
        "inbox_url": request.get_full_path(),
    }
    if _wants_fragment(request):
        return render(request, "workspace/support/_inbox_results.html", context, status=status)
    context["counts"] = {
        SCOPE_MINE: _active_count(user, SCOPE_MINE),
        SCOPE_TEAM: _active_count(user, SCOPE_TEAM),
    }
    if filters["scope"] == SCOPE_TEAM:
        context["workload"] = team_workload(user, now)
    return render(request, "workspace/support/inbox.html", context, status=status)


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


# --- The inquiry page ---------------------------------------------------------------------------


def _load(request: HttpRequest, pk: int) -> Inquiry:
    queryset = Inquiry.objects.select_related(
        "contact", "account", "assignee", "team", "source_rep", "deal", "sla_policy"
    )
    return visible_or_404(inquiries_visible_to, request.user, queryset, pk)


def _is_workable(user, inquiry: Inquiry) -> bool:
    return inquiries_workable_by(user).filter(pk=inquiry.pk).exists()


def _require_workable(request: HttpRequest, inquiry: Inquiry) -> None:
    if not _is_workable(request.user, inquiry):
        raise PermissionDenied(_("You may read this inquiry but not work on it."))


def thread_of(inquiry: Inquiry) -> list[Message]:
    """The thread across channels, oldest first, with authors and call details (one query)."""
    return list(
        Message.objects.filter(inquiry=inquiry)
        .select_related("author_user", "author_contact", "phone_call")
        .order_by("created_at", "id")
    )


def suggestions_for(inquiry: Inquiry, user) -> dict[str, Any]:
    """Published FAQ entries and the saved replies `user` may use, most similar to the
    inquiry's question first (the FAQ selector behind ``GET /inquiries/{id}/suggestions/``),
    each with its similarity."""
    found = faq_selectors.suggestions_for(inquiry=inquiry, user=user, limit=SUGGESTIONS_SHOWN)
    return {"faq_entries": found.entries, "saved_replies": found.saved_replies}


def _escalations_of(inquiry: Inquiry, user) -> list[Escalation]:
    rows = list(
        Escalation.objects.filter(inquiry=inquiry)
        .select_related("owner", "requested_by", "to_team")
        .order_by("created_at", "id")
    )
    admin = escalations.is_escalation_admin(user)
    for escalation in rows:
        escalation.inquiry = inquiry  # may_answer reads the inquiry's team: no query per row
        is_open = escalation.status == EscalationStatus.OPEN
        escalation.may_cancel = is_open and (admin or escalation.requested_by_id == user.pk)
        escalation.may_answer = is_open and escalations.may_answer(user, escalation)
    return rows


def _inquiry_context(request: HttpRequest, inquiry: Inquiry, bound: dict) -> dict[str, Any]:
    user = request.user
    workable = _is_workable(user, inquiry)
    try:
        timeline_number = int(request.GET.get("page") or 1)
    except ValueError:
        timeline_number = 1
    timeline = timeline_page(
        contact_timeline(contact=inquiry.contact),
        page=timeline_number,
        department=request.GET.get("department", ""),
    )
    is_done = inquiry.status == InquiryStatus.CLOSED
    forms: dict[str, WorkspaceForm | None] = {}
    if workable and not is_done:
        if user.has_perms(ANSWER):
            forms["reply"] = bound.get("reply") or ReplyForm(user=user)
            forms["note"] = bound.get("note") or NoteForm()
        if user.has_perms(LOG_CALL):
            forms["call"] = bound.get("call") or LogCallForm()
        if user.has_perms(ESCALATE) and inquiry.status in statuses.ACTIVE:
            forms["escalate"] = bound.get("escalate") or EscalateForm(user=user)
        if user.has_perms(ASSIGN):
            forms["assign"] = bound.get("assign") or AssignForm(inquiry=inquiry)
    if workable and user.has_perms(ANSWER) and statuses.allowed_moves(inquiry.status):
        forms["move"] = bound.get("move") or InquiryMoveForm(status=inquiry.status)
    for key, form in bound.items():
        # A refused form stays on the page with its errors, even when the refusal is that the
        # action no longer applies (a reply to an inquiry closed meanwhile).
        forms.setdefault(key, form)
    may_resolve = (
        "move" in forms
        and InquiryStatus.RESOLVED in statuses.allowed_moves(inquiry.status)
        and not statuses.needs_reason(inquiry.status, InquiryStatus.RESOLVED)
    )
    now = timezone.now()
    return {
        "inquiry": inquiry,
        "now": now,
        "sla_state": sla_state_of(inquiry, now),
        "thread": thread_of(inquiry),
        "escalations": _escalations_of(inquiry, user),
        "status_changes": list(
            InquiryStatusChange.objects.filter(inquiry=inquiry)
            .select_related("actor")
            .order_by("-created_at", "-id")
        ),
        "timeline": timeline,
        "workable": workable,
        "forms": forms,
        "open_panel": next(iter(bound), "reply"),
        "may_take": workable and inquiry.assignee_id is None and user.has_perms(ASSIGN),
        "may_resolve": may_resolve,
        "suggestions": suggestions_for(inquiry, user) if "reply" in forms else None,
        "is_email": inquiry.channel == InquiryChannel.EMAIL,
        "cancel_form": CancelEscalationForm(),
    }


def _render_inquiry(
    request: HttpRequest, pk: int, *, bound: dict | None = None, status: int = 200
) -> HttpResponse:
    inquiry = _load(request, pk)
    context = _inquiry_context(request, inquiry, bound or {})
    return render(request, "workspace/support/inquiry.html", context, status=status)


@workspace_view(*READ)
def inquiry_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The inquiry: its thread, the customer's history beside it, and what the agent can do."""
    return _render_inquiry(request, pk)


def _back_to(request: HttpRequest, inquiry: Inquiry, anchor: str = "") -> HttpResponse:
    """After a success: the inquiry page, or the inbox when the inquiry left the user's scope
    (e.g. given to another team's queue)."""
    if inquiries_visible_to(request.user).filter(pk=inquiry.pk).exists():
        return redirect(reverse("workspace:inquiry", args=[inquiry.pk]) + anchor)
    return redirect("workspace:inbox")


def _act(
    request: HttpRequest,
    inquiry: Inquiry,
    *,
    key: str,
    form: WorkspaceForm,
    perform: Callable[[dict[str, Any]], Any],
    success: Callable[[], str],
    fields: dict[str, str] | None = None,
    anchor: str = "#thread",
) -> HttpResponse:
    """Validate `form`, call the service through `perform`, and answer: back to the page with
    a message, or the page again with the form's errors inline and the service's status."""
    status = 400
    if form.is_valid():
        try:
            perform(form.cleaned_data)
        except ApplicationError as error:
            add_service_errors(form, error, fields=fields)
            status = error.status_code
        else:
            messages.success(request, success())
            return _back_to(request, inquiry, anchor)
    return _render_inquiry(request, inquiry.pk, bound={key: form}, status=status)


@require_POST
@workspace_view(*ANSWER)
def inquiry_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer the customer by the inquiry's channel (an email goes out after commit)."""
    inquiry = _load(request, pk)
    _require_workable(request, inquiry)

    def perform(data):
        channels.inquiry_reply_send(
            inquiry=inquiry, author=request.user, body=data["body"], saved_reply=data["saved_reply"]
        )

    def success() -> str:
        if inquiry.channel == InquiryChannel.EMAIL:
            return _("Your reply is on its way to %(email)s.") % {"email": inquiry.contact.email}
        return _("Your reply was added to the thread.")

    form = ReplyForm(request.POST, user=request.user)
    return _act(
        request,
        inquiry,
        key="reply",
        form=form,
        perform=perform,
        success=success,
        fields={"author_user": "body", "inquiry": "body"},
    )


@require_POST
@workspace_view(*ANSWER)
def inquiry_note(request: HttpRequest, pk: int) -> HttpResponse:
    """An internal note for colleagues."""
    inquiry = _load(request, pk)
    _require_workable(request, inquiry)
    return _act(
        request,
        inquiry,
        key="note",
        form=NoteForm(request.POST),
        perform=lambda data: channels.inquiry_note_add(
            inquiry=inquiry, author=request.user, body=data["body"]
        ),
        success=lambda: _("Note added."),
        fields={"inquiry": "body"},
    )


@require_POST
@workspace_view(*LOG_CALL)
def inquiry_log_call(request: HttpRequest, pk: int) -> HttpResponse:
    """A phone call about the inquiry (on the customer's timeline as a call)."""
    inquiry = _load(request, pk)
    _require_workable(request, inquiry)
    return _act(
        request,
        inquiry,
        key="call",
        form=LogCallForm(request.POST),
        perform=lambda data: channels.phone_call_log(inquiry=inquiry, actor=request.user, **data),
        success=lambda: _("Call logged."),
        fields={"inquiry": "notes", "body": "notes"},
    )


@require_POST
@workspace_view(*ANSWER)
def inquiry_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the status (resolve, wait for the customer, close, reopen)."""
    inquiry = _load(request, pk)
    _require_workable(request, inquiry)
    posted = request.POST.copy()
    if posted.get("expected_status", inquiry.status) != inquiry.status:
        # Someone moved it since the page was drawn: show the move again from where it is now
        # (a second press then means what the agent sees).
        posted["expected_status"] = inquiry.status
        form = InquiryMoveForm(posted, status=inquiry.status)
        form.is_valid()
        form.add_error(None, _("The status changed meanwhile; look again and retry."))
        return _render_inquiry(request, inquiry.pk, bound={"move": form}, status=409)
    form = InquiryMoveForm(posted, status=inquiry.status)

    def perform(data):
        services.inquiry_move(
            inquiry=inquiry, to_status=data["to_status"], note=data["note"], actor=request.user
        )

    return _act(
        request,
        inquiry,
        key="move",
        form=form,
        perform=perform,
        success=lambda: (
            _("The inquiry is now %(status)s.") % {"status": inquiry.get_status_display()}
        ),
        anchor="",
    )


@require_POST
@workspace_view(*ASSIGN)
def inquiry_take(request: HttpRequest, pk: int) -> HttpResponse:
    """Take an unassigned inquiry (409 when someone else was first). From the inbox, back to
    the inbox (`next`); from the inquiry page, back to it."""
    inquiry = _load(request, pk)
    _require_workable(request, inquiry)
    next_url = request.POST.get("next", "")
    safe_next = url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    try:
        channels.inquiry_take(inquiry=inquiry, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        if safe_next:
            return redirect(next_url)
        return _render_inquiry(request, inquiry.pk, status=error.status_code)
    messages.success(request, _("Inquiry #%(number)s is yours.") % {"number": inquiry.pk})
    return redirect(next_url) if safe_next else _back_to(request, inquiry, "")


@require_POST
@workspace_view(*ASSIGN)
def inquiry_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the inquiry to an agent (or nobody), in a team's queue."""
    inquiry = _load(request, pk)
    _require_workable(request, inquiry)

    def perform(data):
        services.inquiry_assign(
            inquiry=inquiry,
            assignee=data["assignee"],
            team=data["team"],
            note=data["note"],
            actor=request.user,
        )

    def success() -> str:
        if inquiry.assignee is None:
            return _("The inquiry is back in the queue.")
        name = inquiry.assignee.get_full_name() or inquiry.assignee.get_username()
        return _("The inquiry is assigned to %(name)s.") % {"name": name}

    return _act(
        request,
        inquiry,
        key="assign",
        form=AssignForm(request.POST, inquiry=inquiry),
        perform=perform,
        success=success,
        anchor="",
    )


@require_POST
@workspace_view(*ESCALATE)
def inquiry_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    """Escalate: a transfer to a specialist department, a request for instructions, or an
    approval request. The owner is notified."""
    inquiry = _load(request, pk)
    _require_workable(request, inquiry)
    created: list[Escalation] = []

    def perform(data):
        created.append(escalations.escalate(inquiry=inquiry, actor=request.user, **data))

    def success() -> str:
        escalation = created[0]
        owner = escalation.owner
        return _("%(kind)s sent to %(owner)s.") % {
            "kind": escalation.get_kind_display(),
            "owner": owner.get_full_name() or owner.get_username(),
        }

    return _act(
        request,
        inquiry,
        key="escalate",
        form=EscalateForm(request.POST, user=request.user),
        perform=perform,
        success=success,
        fields={"inquiry": "kind", "due_at": "kind"},
        anchor="#escalations",
    )


@require_POST
@workspace_view("inquiries.view_escalation")
def escalation_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Withdraw one's own open escalation (the requester or an admin; the service checks)."""
    escalation = visible_or_404(
        escalations_visible_to, request.user, Escalation.objects.select_related("inquiry"), pk
    )
    form = CancelEscalationForm(request.POST)
    inquiry = escalation.inquiry
    if form.is_valid():
        try:
            escalations.escalation_cancel(
                escalation=escalation, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return _render_inquiry(request, inquiry.pk, status=error.status_code)
        messages.success(request, _("Escalation withdrawn."))
        return _back_to(request, inquiry, "#escalations")
    messages.error(request, _("The reason is too long."))
    return _render_inquiry(request, inquiry.pk, status=400)


def escalations_visible_to(user, queryset: QuerySet[Escalation] | None = None) -> QuerySet:
    """The escalations the API's `GET /escalations/{id}/` shows `user`: those they asked for,
    those addressed to them, and those of inquiries they may see (admins: all)."""
    queryset = Escalation.objects.all() if queryset is None else queryset
    if not user.is_authenticated:
        return queryset.none()
    if escalations.is_escalation_admin(user):
        return queryset
    return queryset.filter(
        Q(requested_by=user)
        | Q(pk__in=escalations_addressed_to(user).values("pk"))
        | Q(inquiry__in=inquiries_visible_to(user).values("pk"))
    )
