"""Forms of the support agent's pages: the inbox filters and the actions on an inquiry (reply,
internal note, phone call, status move, take, assign, escalate). They check the input's shape;
the inquiries services decide (their refusals come back on these forms)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Team
from frontoffice.workspace.forms.base import WorkspaceForm
from inquiries import channels, escalations, services, statuses
from inquiries.models import (
    EscalationKind,
    InquiryChannel,
    InquiryPriority,
    InquiryStatus,
    PhoneCall,
)

BODY_MAX_LENGTH = 50000
CALL_NOTES_MAX_LENGTH = 20000

# The inbox's tabs: what is assigned to me, and my teams' queues with the shared queue.
SCOPE_MINE = "mine"
SCOPE_TEAM = "team"
SCOPES = (SCOPE_MINE, SCOPE_TEAM)
# Status groups of the inbox filter, besides single statuses.
STATUS_ACTIVE = "active"
STATUS_DONE = "done"
SORT_CHOICES = [
    ("due", _("Due first")),
    ("newest", _("Newest first")),
    ("last_message", _("Latest message first")),
]
SLA_CHOICES = [
    ("", _("Any SLA state")),
    ("breached", _("Breached")),
    ("due_soon", _("Due within an hour")),
    ("ok", _("On time")),
]


def _person_name(user) -> str:
    return user.get_full_name() or user.get_username()


class PanelForm(WorkspaceForm):
    """One of several forms on a page: its element ids carry `id_prefix`, so two forms' fields
    of the same name (a reply's and a note's `body`) keep distinct ids and labels."""

    id_prefix = "panel"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return _person_name(obj)


class InboxFilterForm(WorkspaceForm):
    """The inbox's filters (a GET form): the API's filters by channel, priority and SLA state,
    a status group and the order."""

    scope = forms.ChoiceField(
        choices=[(SCOPE_MINE, _("Mine")), (SCOPE_TEAM, _("Team queue"))],
        required=False,
        widget=forms.HiddenInput,
    )
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            (STATUS_ACTIVE, _("Active (new, open, pending, escalated)")),
            (STATUS_DONE, _("Resolved or closed")),
            *InquiryStatus.choices,
        ],
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("Any channel")), *InquiryChannel.choices],
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        required=False,
        choices=[("", _("Any priority")), *InquiryPriority.choices],
    )
    sla = forms.ChoiceField(label=_("SLA"), required=False, choices=SLA_CHOICES)
    sort = forms.ChoiceField(label=_("Order"), required=False, choices=SORT_CHOICES)

    def clean(self):
        data = super().clean()
        data["scope"] = data.get("scope") or SCOPE_MINE
        data["status"] = data.get("status") or STATUS_ACTIVE
        data["sort"] = data.get("sort") or "due"
        return data


class ReplyForm(PanelForm):
    """An answer to the customer, by the inquiry's channel; a saved reply's text is the body
    when the body is left empty."""

    id_prefix = "reply"

    body = forms.CharField(
        label=_("Reply"),
        required=False,
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    saved_reply = forms.ModelChoiceField(
        label=_("Saved reply"),
        queryset=None,
        required=False,
        empty_label=_("None"),
        help_text=_("Its text is sent when the reply above is empty."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["saved_reply"].queryset = channels.saved_replies_usable_by(user).order_by(
            "-usage_count", "title", "id"
        )

    def clean(self):
        data = super().clean()
        empty = not (data.get("body") or "").strip() and data.get("saved_reply") is None
        if empty and "body" not in self.errors:
            self.add_error("body", _("Write a reply or pick a saved reply."))
        return data


class NoteForm(PanelForm):
    id_prefix = "note"

    body = forms.CharField(
        label=_("Internal note"),
        max_length=BODY_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For colleagues only: not sent, not on the customer's timeline."),
    )


class LogCallForm(PanelForm):
    id_prefix = "call"

    direction = forms.ChoiceField(label=_("Direction"), choices=PhoneCall.Direction.choices)
    duration_seconds = forms.IntegerField(
        label=_("Duration (seconds)"), min_value=0, max_value=24 * 3600
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=PhoneCall.Outcome.choices)
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=CALL_NOTES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def move_choices(status: str) -> list[tuple[str, str]]:
    """The statuses an inquiry at `status` may be moved to by hand, labelled with whether the
    move needs a reason (the escalated status is left by answering the escalation)."""
    labels = dict(InquiryStatus.choices)
    choices = []
    for to_status in statuses.allowed_moves(status):
        label = labels[to_status]
        if statuses.needs_reason(status, to_status):
            label = _("%(status)s (needs a reason)") % {"status": label}
        choices.append((to_status, label))
    return choices


class InquiryMoveForm(PanelForm):
    id_prefix = "move"

    to_status = forms.ChoiceField(label=_("Move to"))
    note = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=services.NOTE_MAX_LENGTH,
        help_text=_("Needed to close an unresolved inquiry and to reopen a resolved one."),
    )
    # The status the page showed: an inquiry changed meanwhile is refused (409), not moved on.
    expected_status = forms.ChoiceField(choices=InquiryStatus.choices, widget=forms.HiddenInput)

    def __init__(self, *args, status: str, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("expected_status", status)
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = move_choices(status)


def inquiry_teams() -> QuerySet[Team]:
    """Teams an inquiry can be queued with: support teams and specialist departments."""
    return Team.objects.filter(kind__in=[Team.Kind.SUPPORT, Team.Kind.SPECIALIST]).order_by(
        "name", "id"
    )


class AssignForm(PanelForm):
    id_prefix = "assign"

    assignee = UserChoiceField(
        label=_("Agent"),
        queryset=None,
        required=False,
        empty_label=_("Nobody (back to the queue)"),
    )
    team = forms.ModelChoiceField(
        label=_("Team queue"),
        queryset=None,
        required=False,
        empty_label=_("No team (the shared queue)"),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def __init__(self, *args, inquiry, **kwargs):
        kwargs.setdefault("initial", {}).update(
            {"assignee": inquiry.assignee_id, "team": inquiry.team_id}
        )
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = channels.agents().order_by("username")
        self.fields["team"].queryset = inquiry_teams()


def escalation_owners(user) -> QuerySet:
    """Whom instructions and approvals can be addressed to: active supervisors of a team and
    managers (``inquiries.answer_escalation``), never oneself (the service's rule)."""
    permission = Q(
        groups__permissions__codename="answer_escalation",
        groups__permissions__content_type__app_label="inquiries",
    ) | Q(
        user_permissions__codename="answer_escalation",
        user_permissions__content_type__app_label="inquiries",
    )
    owners = get_user_model().objects.filter(
        Q(pk__in=Team.objects.filter(supervisor__isnull=False).values("supervisor"))
        | Q(pk__in=get_user_model().objects.filter(permission).values("pk")),
        is_active=True,
    )
    return owners.exclude(pk=user.pk).order_by("first_name", "last_name", "username")


class EscalateForm(PanelForm):
    """Escalate an inquiry (or an open escalation, one level up): a transfer to a specialist
    department, a request for instructions, or an approval request."""

    id_prefix = "escalate"

    kind = forms.ChoiceField(
        label=_("Kind"), choices=EscalationKind.choices, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=escalations.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    to_team = forms.ModelChoiceField(
        label=_("Specialist department"),
        queryset=None,
        required=False,
        empty_label="—",
        help_text=_("Transfers only."),
    )
    owner = UserChoiceField(
        label=_("Supervisor or manager"),
        queryset=None,
        required=False,
        empty_label=_("The supervisor of the inquiry's team"),
        help_text=_("Instructions and approvals only."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_team"].queryset = Team.objects.filter(kind=Team.Kind.SPECIALIST).order_by(
            "name", "id"
        )
        self.fields["owner"].queryset = escalation_owners(user)


class CancelEscalationForm(PanelForm):
    id_prefix = "cancel"

    reason = forms.CharField(
        label=_("Why (optional)"), required=False, max_length=escalations.TEXT_MAX_LENGTH
    )
