"""Forms of the sales rep's pages: moving a deal, logging an activity, the daily report, a lead
decision and an inquiry a customer gave a rep. They check input; the pipeline and inquiries
services decide."""

from __future__ import annotations

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Contact
from frontoffice.workspace.forms.base import LocalDateTimeInput, WorkspaceForm, local_datetime
from inquiries.models import InquiryChannel, InquiryPriority
from pipeline import deal_stages, deals, reports
from pipeline.models import ActivityKind, Deal, DealStage
from pipeline.selectors import deals_editable_by

NOTE_HELP = _("Needed to move back, to lose a deal and to reopen one.")


def move_choices(stage: str, user) -> list[tuple[str, str]]:
    """The stages a deal at `stage` may go to for `user` (a reopen only with reopen_deal),
    labelled with whether the move needs a reason."""
    labels = dict(DealStage.choices)
    may_reopen = user.has_perm("pipeline.reopen_deal")
    choices = []
    for to_stage in deal_stages.allowed_moves(stage):
        move = deal_stages.classify_move(stage, to_stage)
        if move == deal_stages.Move.REOPEN and not may_reopen:
            continue
        label = labels[to_stage]
        if move in deal_stages.REASON_REQUIRED:
            label = _("%(stage)s (needs a reason)") % {"stage": label}
        choices.append((to_stage, label))
    return choices


class DealMoveForm(WorkspaceForm):
    to_stage = forms.ChoiceField(label=_("Move to"))
    note = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=deals.REASON_MAX_LENGTH,
        help_text=NOTE_HELP,
        widget=forms.TextInput,
    )
    # The stage the page showed: a deal moved meanwhile is refused (409), not moved twice.
    expected_stage = forms.ChoiceField(choices=DealStage.choices, widget=forms.HiddenInput)

    def __init__(self, *args, deal: Deal, user, **kwargs):
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("expected_stage", deal.stage)
        if deal.stage in deal_stages.OPEN:
            # The usual move: on along the line.
            line = deal_stages.LINE
            initial.setdefault("to_stage", line[line.index(deal.stage) + 1])
        super().__init__(*args, **kwargs)
        self.fields["to_stage"].choices = move_choices(deal.stage, user)


def contacts_for_activities(user, *, deal: Deal | None = None) -> QuerySet[Contact]:
    """The people an activity can be logged with: the deal's customer's people, or (on the
    report page) those of the rep's open deals' customers and their own contacts."""
    if deal is not None:
        if deal.account_id is not None:
            return Contact.objects.filter(account_id=deal.account_id).order_by("name", "id")
        return Contact.objects.filter(pk=deal.contact_id).order_by("name", "id")
    open_deals = deals_editable_by(user).filter(stage__in=deal_stages.OPEN)
    return Contact.objects.filter(
        Q(owner=user)
        | Q(pk__in=open_deals.values("contact"))
        | Q(account__in=open_deals.filter(account__isnull=False).values("account"))
    ).order_by("name", "id")


class ActivityForm(WorkspaceForm):
    """One activity; on the deal page its deal is the page's, on the report page one of the
    rep's open deals (or none, with a contact)."""

    kind = forms.ChoiceField(label=_("What"), choices=ActivityKind.choices)
    occurred_at = forms.DateTimeField(
        label=_("When"), widget=LocalDateTimeInput, input_formats=["%Y-%m-%dT%H:%M"]
    )
    minutes = forms.IntegerField(label=_("Minutes"), min_value=0, max_value=24 * 60)
    outcome = forms.CharField(
        label=_("Outcome"), required=False, max_length=500, widget=forms.TextInput
    )
    deal = forms.ModelChoiceField(label=_("Deal"), queryset=Deal.objects.none(), required=False)
    contact = forms.ModelChoiceField(
        label=_("Contact"), queryset=Contact.objects.none(), required=False
    )

    def __init__(self, *args, user, deal: Deal | None = None, **kwargs):
        now = timezone.localtime().replace(second=0, microsecond=0)
        kwargs.setdefault("initial", {}).setdefault("occurred_at", now)
        kwargs["initial"].setdefault("minutes", 30)
        super().__init__(*args, **kwargs)
        self.page_deal = deal
        if deal is not None:
            del self.fields["deal"]
        else:
            self.fields["deal"].queryset = (
                deals_editable_by(user)
                .filter(stage__in=deal_stages.OPEN)
                .select_related("account")
                .order_by("name", "id")
            )
            self.fields["deal"].label_from_instance = _deal_label
        self.fields["contact"].queryset = contacts_for_activities(user, deal=deal)
        self.fields["contact"].help_text = (
            _("Empty: the deal's contact.") if deal is not None else _("A deal or a contact.")
        )

    def clean_occurred_at(self):
        return local_datetime(self.cleaned_data["occurred_at"])

    def clean(self):
        data = super().clean()
        deal = self.page_deal or data.get("deal")
        if deal is None and data.get("contact") is None and not self.errors:
            message = _("An activity needs a deal or a contact (or both).")
            if "deal" in self.fields:
                self.add_error("deal", message)
            self.add_error("contact", message)
        return data

    def activity_input(self) -> reports.ActivityInput:
        data = self.cleaned_data
        deal = self.page_deal or data.get("deal")
        return reports.ActivityInput(
            kind=data["kind"],
            occurred_at=data["occurred_at"],
            minutes=data["minutes"],
            outcome=data.get("outcome") or "",
            deal_id=deal.pk if deal is not None else None,
            contact_id=data["contact"].pk if data.get("contact") else None,
        )


def _deal_label(deal: Deal) -> str:
    return f"{deal.name} ({deal.account.name})" if deal.account_id else deal.name


class DailyReportForm(WorkspaceForm):
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=reports.TEXT_MAX_LENGTH, widget=forms.Textarea
    )
    tomorrow_plan = forms.CharField(
        label=_("Plan for tomorrow"),
        required=False,
        max_length=reports.TEXT_MAX_LENGTH,
        widget=forms.Textarea,
    )


class DisqualifyForm(WorkspaceForm):
    reason = forms.CharField(
        label=_("Why is this not a lead?"), max_length=500, widget=forms.TextInput
    )


# Channels an agent may log an inquiry by (a rep always logs by `sales_rep`).
AGENT_CHANNELS = [
    (value, label) for value, label in InquiryChannel.choices if value != InquiryChannel.SALES_REP
]


class InquiryLogForm(WorkspaceForm):
    """An inquiry a customer gave the user: the customer (a known contact, or their details to
    find or create them), what they asked, and optionally the deal it concerns."""

    contact = forms.ModelChoiceField(
        queryset=Contact.objects.all(), required=False, widget=forms.HiddenInput
    )
    email = forms.EmailField(label=_("Customer's email"), required=False)
    phone = forms.CharField(label=_("Customer's phone"), required=False, max_length=40)
    name = forms.CharField(label=_("Customer's name"), required=False, max_length=200)
    company = forms.CharField(label=_("Company"), required=False, max_length=200)
    channel = forms.ChoiceField(label=_("How they asked"), choices=AGENT_CHANNELS)
    subject = forms.CharField(label=_("Subject"), required=False, max_length=300)
    body = forms.CharField(label=_("What they asked"), widget=forms.Textarea)
    category = forms.CharField(label=_("Category"), required=False, max_length=100)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=InquiryPriority.choices, initial=InquiryPriority.NORMAL
    )
    deal = forms.ModelChoiceField(
        label=_("About the deal"), queryset=Deal.objects.none(), required=False
    )

    def __init__(self, *args, user, known_contact: Contact | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.known_contact = known_contact
        if not user.has_perm("inquiries.answer_inquiry"):
            # A rep passes an inquiry on to support: the channel is always `sales_rep`.
            del self.fields["channel"]
        if known_contact is not None:
            for name in ("email", "phone", "name", "company"):
                del self.fields[name]
            self.fields["contact"].initial = known_contact.pk
        deals_of_user = deals_editable_by(user).select_related("account").order_by("name", "id")
        if known_contact is not None:
            deals_of_user = deals_of_user.filter(
                Q(contact=known_contact) | Q(account_id=known_contact.account_id)
                if known_contact.account_id
                else Q(contact=known_contact)
            )
        self.fields["deal"].queryset = deals_of_user
        self.fields["deal"].label_from_instance = _deal_label

    def clean(self):
        data = super().clean()
        missing = self.known_contact is None and not (data.get("email") or data.get("phone"))
        if missing and not self.errors.get("email") and not self.errors.get("phone"):
            message = _("Give the customer's email or phone number.")
            self.add_error("email", message)
            self.add_error("phone", message)
        return data
