"""Forms of the supervisor's pages: escalations addressed to them (answer, approve or reject
with a comment) and their team's daily reports (approve, return or comment). The escalation and
report services decide who may act and what a decision needs."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from frontoffice.workspace.forms.base import WorkspaceForm
from inquiries import escalations
from inquiries.models import EscalationKind, EscalationStatus
from pipeline import reports
from pipeline.models import DailyReport

ESCALATIONS_OPEN = "open"
ESCALATIONS_CLOSED = "closed"
ESCALATIONS_ALL = "all"
REPORTS_TO_REVIEW = "submitted"
REPORTS_ALL = "all"


class EscalationFilterForm(WorkspaceForm):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            (ESCALATIONS_OPEN, _("Open")),
            (ESCALATIONS_CLOSED, _("Closed")),
            (ESCALATIONS_ALL, _("All")),
        ],
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *EscalationKind.choices]
    )

    def clean(self):
        data = super().clean()
        data["status"] = data.get("status") or ESCALATIONS_OPEN
        return data


def closed_statuses() -> list[str]:
    return [value for value in EscalationStatus.values if value != EscalationStatus.OPEN]


class EscalationAnswerForm(WorkspaceForm):
    """The owner's answer to a transfer or a request for instructions."""

    text = forms.CharField(
        label=_("Answer"),
        max_length=escalations.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class DecisionForm(WorkspaceForm):
    """A form sent by one of several buttons (``name="decision"``): the button is the decision,
    the fields are what goes with it."""

    decisions: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision = str(self.data.get("decision") or "") if self.is_bound else ""

    def clean(self):
        data = super().clean()
        if self.decision not in self.decisions:
            self.add_error(None, _("Choose one of the buttons."))
        return data


class EscalationDecisionForm(DecisionForm):
    """Approve or reject an approval request; a rejection needs a comment (the service says so
    on the comment field)."""

    decisions = ("approve", "reject")

    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=escalations.TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional when approving; required when rejecting."),
    )


class ReportFilterForm(WorkspaceForm):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            (REPORTS_TO_REVIEW, _("Waiting for review")),
            (REPORTS_ALL, _("All")),
            *[
                (value, label)
                for value, label in DailyReport.Status.choices
                if value != DailyReport.Status.SUBMITTED
            ],
        ],
    )

    def clean(self):
        data = super().clean()
        data["status"] = data.get("status") or REPORTS_TO_REVIEW
        return data


class ReportReviewForm(DecisionForm):
    """A reviewer's decision on a rep's report: approve it (the comment optional), return it
    for changes (a comment required) or only comment."""

    decisions = ("approve", "return", "comment")

    comment = forms.CharField(
        label=_("Comment to the rep"),
        required=False,
        max_length=reports.COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required to return the report or to comment."),
    )
