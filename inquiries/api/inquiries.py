"""Inquiries over the API: the queue (scoped by ``inquiries.selectors``), logging an inquiry,
its thread and history, and the agents' actions (reply, note, log a call, move, take, assign);
saved replies.

An inquiry the caller may not see is a 404; one they may see but not work on (a sales rep reading
their customer's inquiry) is a 403 on every write.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from accounts.models import Contact, Team
from frontoffice import background
from frontoffice.api.filters import BooleanFilter, DayRangeFilter, IdFilter, TextSearchFilter
from frontoffice.api.serializers import IdField, StrictModelSerializer, StrictSerializer
from frontoffice.api.viewsets import ServiceModelViewSet
from frontoffice.errors import PermissionDeniedError
from inquiries import channels, services, statuses
from inquiries.api.escalations import EscalateActionMixin
from inquiries.models import (
    Inquiry,
    InquiryAssignment,
    InquiryChannel,
    InquiryPriority,
    InquiryStatus,
    InquiryStatusChange,
    Message,
    PhoneCall,
    SavedReply,
)
from inquiries.selectors import inquiries_visible_to, inquiries_workable_by
from pipeline.models import Deal

# A target due within this long counts as "due soon" (`?sla=due_soon`, `sla_state`).
DUE_SOON = timedelta(hours=1)
SLA_STATES = [("breached", "Breached"), ("due_soon", "Due soon"), ("ok", "On time")]
PRIORITY_RANK = {"low": 0, "normal": 1, "high": 2, "urgent": 3}
ACTIVE = sorted(statuses.ACTIVE)


def _display_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- SLA state: pending targets (first response not given yet, resolution not reached yet) ----


def _pending_first_response() -> Q:
    return Q(first_responded_at__isnull=True, first_response_due_at__isnull=False)


def _pending_resolution() -> Q:
    return Q(resolved_at__isnull=True, resolution_due_at__isnull=False)


def sla_condition(state: str, now: datetime) -> Q:
    """The inquiries in SLA `state` at `now`: active ones with a pending target past due
    (breached) or due within DUE_SOON (due_soon); every other inquiry is ok."""
    breached = Q(status__in=ACTIVE) & (
        (_pending_first_response() & Q(first_response_due_at__lt=now))
        | (_pending_resolution() & Q(resolution_due_at__lt=now))
    )
    soon = now + DUE_SOON
    due_soon = (
        Q(status__in=ACTIVE)
        & (
            (_pending_first_response() & Q(first_response_due_at__lt=soon))
            | (_pending_resolution() & Q(resolution_due_at__lt=soon))
        )
        & ~breached
    )
    if state == "breached":
        return breached
    if state == "due_soon":
        return due_soon
    return ~breached & ~due_soon


def sla_state_of(inquiry: Inquiry, now: datetime) -> str:
    """The same rule as `sla_condition`, on a loaded inquiry (no query)."""
    if inquiry.status not in statuses.ACTIVE:
        return "ok"
    pending = []
    if inquiry.first_responded_at is None and inquiry.first_response_due_at is not None:
        pending.append(inquiry.first_response_due_at)
    if inquiry.resolved_at is None and inquiry.resolution_due_at is not None:
        pending.append(inquiry.resolution_due_at)
    if any(due < now for due in pending):
        return "breached"
    if any(due < now + DUE_SOON for due in pending):
        return "due_soon"
    return "ok"


# --- Serializers --------------------------------------------------------------------------------


class StrictNestedSerializer(StrictSerializer):
    """A nested object that also refuses unknown keys (the root's check sees only its own)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field."] for key in sorted(unknown)}
                )
        return super().to_internal_value(data)


READ_ONLY_HINTS = {
    "status": "The status changes only through POST /api/v1/inquiries/{id}/move/.",
    "assignee": "The assignee changes only through the take and assign actions.",
}


def refuse_read_only(serializer: serializers.Serializer, hints: dict[str, str]) -> None:
    """A read-only field in the input is a 400 (saying where it changes), not silently ignored."""
    given = set(getattr(serializer, "initial_data", None) or {})
    read_only = sorted(
        name for name in given if name in serializer.fields and serializer.fields[name].read_only
    )
    if read_only:
        raise serializers.ValidationError(
            {name: [hints.get(name, "This field is read-only.")] for name in read_only}
        )


class InquirySerializer(StrictModelSerializer):
    """An inquiry as read, and the fields a PATCH may change (never status or assignee)."""

    team = IdField(queryset=Team.objects.all(), allow_null=True, required=False)
    deal = IdField(queryset=Deal.objects.all(), allow_null=True, required=False)
    priority = serializers.ChoiceField(choices=InquiryPriority.choices, required=False)
    contact_name = serializers.CharField(source="contact.name", read_only=True)
    contact_email = serializers.CharField(source="contact.email", read_only=True)
    account_name = serializers.CharField(
        source="account.name", read_only=True, allow_null=True, default=None
    )
    assignee_name = serializers.SerializerMethodField()
    source_rep_name = serializers.SerializerMethodField()
    team_name = serializers.CharField(
        source="team.name", read_only=True, allow_null=True, default=None
    )
    deal_name = serializers.CharField(
        source="deal.name", read_only=True, allow_null=True, default=None
    )
    sla_state = serializers.SerializerMethodField()
    next_moves = serializers.SerializerMethodField()

    class Meta:
        model = Inquiry
        fields = [
            "id",
            "subject",
            "channel",
            "category",
            "priority",
            "status",
            "contact",
            "contact_name",
            "contact_email",
            "account",
            "account_name",
            "assignee",
            "assignee_name",
            "team",
            "team_name",
            "source_rep",
            "source_rep_name",
            "deal",
            "deal_name",
            "conversation_id",
            "first_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "sla_state",
            "status_changed_at",
            "last_message_at",
            "created_at",
            "updated_at",
            "next_moves",
        ]
        read_only_fields = [
            "channel",
            "status",
            "contact",
            "account",
            "assignee",
            "source_rep",
            "conversation_id",
            "first_response_due_at",
            "resolution_due_at",
            "first_responded_at",
            "resolved_at",
            "closed_at",
            "status_changed_at",
            "last_message_at",
            "created_at",
            "updated_at",
        ]

    def validate(self, attrs):
        refuse_read_only(self, READ_ONLY_HINTS)
        return super().validate(attrs)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_assignee_name(self, obj: Inquiry) -> str | None:
        return _display_name(obj.assignee)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_source_rep_name(self, obj: Inquiry) -> str | None:
        return _display_name(obj.source_rep)

    @extend_schema_field(serializers.ChoiceField(choices=SLA_STATES))
    def get_sla_state(self, obj: Inquiry) -> str:
        return sla_state_of(obj, self.context.get("now") or timezone.now())

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_next_moves(self, obj: Inquiry) -> list[str]:
        """The statuses `move` accepts from here (escalated is left by answering it)."""
        return statuses.allowed_moves(obj.status)


class PhoneCallSerializer(serializers.ModelSerializer):
    class Meta:
        model = PhoneCall
        fields = ["direction", "duration_seconds", "outcome"]


class MessageSerializer(serializers.ModelSerializer):
    author_name = serializers.SerializerMethodField()
    author_contact_name = serializers.CharField(
        source="author_contact.name", read_only=True, allow_null=True, default=None
    )
    phone_call = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "inquiry",
            "direction",
            "channel",
            "author_user",
            "author_name",
            "author_contact",
            "author_contact_name",
            "subject",
            "body",
            "attachments",
            "created_at",
            "delivery",
            "is_auto_reply",
            "phone_call",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_author_name(self, obj: Message) -> str | None:
        return _display_name(obj.author_user)

    @extend_schema_field(PhoneCallSerializer(allow_null=True))
    def get_phone_call(self, obj: Message) -> dict[str, Any] | None:
        try:
            call = obj.phone_call
        except PhoneCall.DoesNotExist:
            return None
        return PhoneCallSerializer(call).data


class SentReplySerializer(MessageSerializer):
    """The reply as stored, and whether the work of sending it reached the task queue."""

    queued = serializers.BooleanField(
        read_only=True,
        help_text="False when the task queue was unreachable: the email waits and is sent "
        "when the queue is back.",
    )
    detail = serializers.CharField(read_only=True, help_text="Why `queued` is false, or empty.")

    class Meta(MessageSerializer.Meta):
        fields = [*MessageSerializer.Meta.fields, "queued", "detail"]
        read_only_fields = fields


class InquiryDetailSerializer(InquirySerializer):
    messages = MessageSerializer(many=True, read_only=True)

    class Meta(InquirySerializer.Meta):
        fields = [*InquirySerializer.Meta.fields, "messages"]


class CustomerSerializer(StrictNestedSerializer):
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not any(attrs[name].strip() for name in ("email", "phone", "name")):
            message = "Give at least an email, a phone number or a name."
            raise serializers.ValidationError({"email": [message]})
        return attrs


class CallSerializer(StrictNestedSerializer):
    direction = serializers.ChoiceField(choices=PhoneCall.Direction.choices)
    duration_seconds = serializers.IntegerField(min_value=0, max_value=24 * 3600)
    outcome = serializers.ChoiceField(choices=PhoneCall.Outcome.choices)


class InquiryCreateSerializer(StrictSerializer):
    """Log an inquiry a customer gave us: by `contact` id, or by `customer` details (found or
    created by identity resolution). Sales reps use the channel `sales_rep`."""

    channel = serializers.ChoiceField(choices=InquiryChannel.choices)
    contact = IdField(queryset=Contact.objects.all(), required=False)
    customer = CustomerSerializer(required=False)
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    body = serializers.CharField(
        max_length=20000,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the customer asked (the notes of the call with `call`).",
    )
    category = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(
        choices=InquiryPriority.choices, required=False, default=InquiryPriority.NORMAL
    )
    team = IdField(queryset=Team.objects.all(), required=False, allow_null=True, default=None)
    deal = IdField(queryset=Deal.objects.all(), required=False, allow_null=True, default=None)
    call = CallSerializer(required=False, help_text="For the channel phone: the call's details.")

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if ("contact" in attrs) == ("customer" in attrs):
            message = "Give either `contact` (an id) or `customer` (their details)."
            raise serializers.ValidationError({"contact": [message], "customer": [message]})
        return attrs


class InquiryMoveSerializer(StrictSerializer):
    to_status = serializers.ChoiceField(choices=InquiryStatus.choices)
    note = serializers.CharField(
        max_length=services.NOTE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="",
        help_text="Needed to close an unresolved inquiry and to reopen a resolved one.",
    )


class ReplySerializer(StrictSerializer):
    body = serializers.CharField(max_length=50000, required=False, allow_blank=True, default="")
    saved_reply = IdField(
        queryset=SavedReply.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="A saved reply: its text is the body when `body` is empty; its usage counts.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if not attrs["body"].strip() and attrs["saved_reply"] is None:
            raise serializers.ValidationError({"body": ["Write a reply or pick a saved reply."]})
        return attrs


class NoteSerializer(StrictSerializer):
    body = serializers.CharField(max_length=50000)


class LogCallSerializer(StrictSerializer):
    direction = serializers.ChoiceField(choices=PhoneCall.Direction.choices)
    duration_seconds = serializers.IntegerField(min_value=0, max_value=24 * 3600)
    outcome = serializers.ChoiceField(choices=PhoneCall.Outcome.choices)
    notes = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")


class AssignSerializer(StrictSerializer):
    assignee = IdField(
        queryset=channels.agents(), allow_null=True, help_text="An agent, or null to unassign."
    )
    team = IdField(
        queryset=Team.objects.all(),
        required=False,
        allow_null=True,
        help_text="Move it to this team's queue too (left as is when omitted).",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class StatusChangeSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = InquiryStatusChange
        fields = ["id", "from_status", "to_status", "created_at", "actor", "actor_name", "note"]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, obj) -> str | None:
        return _display_name(obj.actor)


class AssignmentSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()
    from_assignee_name = serializers.SerializerMethodField()
    to_assignee_name = serializers.SerializerMethodField()
    team_name = serializers.CharField(
        source="team.name", read_only=True, allow_null=True, default=None
    )
    rule_name = serializers.CharField(
        source="rule.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = InquiryAssignment
        fields = [
            "id",
            "created_at",
            "from_assignee",
            "from_assignee_name",
            "to_assignee",
            "to_assignee_name",
            "team",
            "team_name",
            "actor",
            "actor_name",
            "rule",
            "rule_name",
            "note",
        ]

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, obj) -> str | None:
        return _display_name(obj.actor)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_from_assignee_name(self, obj) -> str | None:
        return _display_name(obj.from_assignee)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_to_assignee_name(self, obj) -> str | None:
        return _display_name(obj.to_assignee)


class InquiryHistorySerializer(serializers.Serializer):
    status_changes = StatusChangeSerializer(many=True, help_text="Newest first.")
    assignments = AssignmentSerializer(many=True, help_text="Newest first.")


# --- Filters ------------------------------------------------------------------------------------


class AssigneeField(forms.CharField):
    """`me` or a user id."""

    def clean(self, value):
        value = super().clean(value)
        if value in (None, ""):
            return None
        if value == "me":
            return value
        try:
            number = int(value)
        except ValueError:
            raise ValidationError("Enter a user id or `me`.", code="invalid") from None
        if not 1 <= number <= 2**63 - 1:
            raise ValidationError("Enter a user id or `me`.", code="invalid")
        return number


class AssigneeFilter(django_filters.Filter):
    field_class = AssigneeField

    def filter(self, qs, value):
        if value is None:
            return qs
        user = self.parent.request.user if value == "me" else None
        return qs.filter(assignee_id=user.pk if user is not None else value)


class SlaFilter(django_filters.ChoiceFilter):
    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(sla_condition(value, timezone.now()))


class InquiryFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("subject", "contact__name", "contact__email"))
    # Columns of the inquiry itself: no duplicates to remove (the default DISTINCT made every
    # filtered queue and its count sort the whole scope).
    status = django_filters.MultipleChoiceFilter(choices=InquiryStatus.choices, distinct=False)
    channel = django_filters.MultipleChoiceFilter(choices=InquiryChannel.choices, distinct=False)
    priority = django_filters.MultipleChoiceFilter(choices=InquiryPriority.choices, distinct=False)
    category = django_filters.CharFilter(lookup_expr="iexact", max_length=100)
    team = IdFilter(field_name="team_id")
    assignee = AssigneeFilter(help_text="A user id, or `me`.")
    unassigned = BooleanFilter(field_name="assignee", lookup_expr="isnull")
    source_rep = IdFilter(field_name="source_rep_id")
    contact = IdFilter(field_name="contact_id")
    account = IdFilter(field_name="account_id")
    deal = IdFilter(field_name="deal_id")
    created_at = DayRangeFilter()
    sla = SlaFilter(
        choices=SLA_STATES,
        help_text="breached: a pending target is past due; due_soon: due within an hour.",
    )

    class Meta:
        model = Inquiry
        fields = [
            "q",
            "status",
            "channel",
            "priority",
            "category",
            "team",
            "assignee",
            "unassigned",
            "source_rep",
            "contact",
            "account",
            "deal",
            "created_at",
            "sla",
        ]


# --- Views --------------------------------------------------------------------------------------

# What a page of the list reads: the inquiry and the names of its related rows
# (InquirySerializer).
INQUIRY_LIST_COLUMNS = (
    *(field.name for field in Inquiry._meta.concrete_fields),
    "contact__name",
    "contact__email",
    "account__name",
    *(
        f"{user}__{name}"
        for user in ("assignee", "source_rep")
        for name in ("username", "first_name", "last_name")
    ),
    "team__name",
    "deal__name",
)

# Actions that change the inquiry: the caller must be able to work on it, not only see it.
WRITE_ACTIONS = frozenset(
    {
        "update",
        "partial_update",
        "reply",
        "note",
        "log_call",
        "move",
        "take",
        "assign",
        "escalate",
    }
)


class InquiryViewSet(EscalateActionMixin, ServiceModelViewSet):
    """Customer inquiries from every channel. Agents see their teams' queues and what is
    assigned to them, supervisors their teams', sales reps their own customers' and those they
    logged (read-only), the admin all. The status changes only through `move` (and escalations),
    the assignee only through `take` and `assign`."""

    permission_model = Inquiry  # see RolePermission._queryset
    serializer_class = InquirySerializer
    create_serializer_class = InquiryCreateSerializer
    filterset_class = InquiryFilter
    ordering_fields = [
        "created_at",
        "updated_at",
        "last_message_at",
        "status_changed_at",
        "first_response_due_at",
        "resolution_due_at",
        "priority_rank",
        "status",
        "subject",
        "id",
    ]
    ordering = ["-created_at", "-id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return InquiryDetailSerializer
        return super().get_serializer_class()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _base_queryset(self) -> QuerySet[Inquiry]:
        rank = Case(
            *(When(priority=name, then=Value(value)) for name, value in PRIORITY_RANK.items()),
            output_field=IntegerField(),
        )
        queryset = Inquiry.objects.select_related(
            "contact", "account", "assignee", "team", "source_rep", "deal"
        ).annotate(priority_rank=rank)
        if self.action == "list":
            # A page shows only the names of the related rows: load those columns alone.
            queryset = queryset.only(*INQUIRY_LIST_COLUMNS)
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("messages", queryset=_thread(Message.objects.all()))
            )
        return queryset

    def get_queryset(self):
        return inquiries_visible_to(self.request.user, self._base_queryset())

    def get_object(self) -> Inquiry:
        inquiry = super().get_object()  # 404 when the caller may not see it
        if (
            self.action in WRITE_ACTIONS
            and not inquiries_workable_by(self.request.user).filter(pk=inquiry.pk).exists()
        ):
            raise PermissionDenied("You may read this inquiry but not work on it.")
        return inquiry

    def _read_back(self, instance):
        # The caller just acted on it; they see the result even when it left their queue.
        fresh = self._base_queryset().get(pk=instance.pk)
        return InquirySerializer(fresh, context=self.get_serializer_context()).data

    def create_object(self, data: dict[str, Any]) -> Inquiry:
        customer_data = data.pop("customer", None)
        contact = data.pop("contact", None)
        customer = (
            services.Customer(contact=contact)
            if contact is not None
            else services.Customer(**customer_data)
        )
        call = data.pop("call", None)
        return channels.inquiry_log(
            actor=self.request.user,
            customer=customer,
            call=channels.CallDetails(**call) if call is not None else None,
            **data,
        )

    def update_object(self, instance: Inquiry, data: dict[str, Any]) -> Inquiry:
        return services.inquiry_update(inquiry=instance, actor=self.request.user, **data)

    def _message_response(self, message: Message) -> Response:
        fresh = _thread(Message.objects.filter(pk=message.pk)).get()
        return Response(MessageSerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReplySerializer,
        responses={201: SentReplySerializer, 400: None, 403: None, 404: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["inquiries.answer_inquiry"])
    def reply(self, request, pk=None):
        """Answer the customer by the inquiry's channel (email replies are sent after commit).
        The first reply is the first response and opens a new inquiry. With the task queue
        down the reply is stored and its email kept for later: `queued` is false."""
        inquiry = self.get_object()
        serializer = ReplySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with background.tasks_kept() as kept:
            message = channels.inquiry_reply_send(
                inquiry=inquiry, author=request.user, **serializer.validated_data
            )
        fresh = _thread(Message.objects.filter(pk=message.pk)).get()
        fresh.queued, fresh.detail = not kept, background.KEPT_DETAIL if kept else ""
        return Response(SentReplySerializer(fresh).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=NoteSerializer,
        responses={201: MessageSerializer, 400: None, 403: None, 404: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["inquiries.answer_inquiry"])
    def note(self, request, pk=None):
        """An internal note for colleagues (not shown to the customer, not on the timeline)."""
        inquiry = self.get_object()
        serializer = NoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = channels.inquiry_note_add(
            inquiry=inquiry, author=request.user, **serializer.validated_data
        )
        return self._message_response(message)

    @extend_schema(
        request=LogCallSerializer,
        responses={201: MessageSerializer, 400: None, 403: None, 404: None},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="log-call",
        required_permissions=["inquiries.answer_inquiry", "inquiries.add_phonecall"],
    )
    def log_call(self, request, pk=None):
        """Log a phone call about the inquiry (on the customer's timeline as a call)."""
        inquiry = self.get_object()
        serializer = LogCallSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = channels.phone_call_log(
            inquiry=inquiry, actor=request.user, **serializer.validated_data
        )
        return self._message_response(message)

    @extend_schema(
        request=InquiryMoveSerializer,
        responses={200: InquirySerializer, 400: None, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["inquiries.answer_inquiry"])
    def move(self, request, pk=None):
        """Change the status (see `next_moves`); closing an unresolved inquiry and reopening a
        resolved one need a `note`. 409 when it changed meanwhile."""
        inquiry = self.get_object()
        serializer = InquiryMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.inquiry_move(inquiry=inquiry, actor=request.user, **serializer.validated_data)
        return Response(self._read_back(inquiry))

    @extend_schema(
        request=None,
        responses={200: InquirySerializer, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["inquiries.assign_inquiry"])
    def take(self, request, pk=None):
        """Assign the unassigned inquiry to yourself; 409 when someone else has it (or took it
        a moment before you)."""
        inquiry = self.get_object()
        channels.inquiry_take(inquiry=inquiry, actor=request.user)
        return Response(self._read_back(inquiry))

    @extend_schema(
        request=AssignSerializer,
        responses={200: InquirySerializer, 400: None, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["inquiries.assign_inquiry"])
    def assign(self, request, pk=None):
        """Give the inquiry to an agent (or nobody) and optionally to another team's queue."""
        inquiry = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.inquiry_assign(inquiry=inquiry, actor=request.user, **serializer.validated_data)
        return Response(self._read_back(inquiry))

    @extend_schema(responses=MessageSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=None)
    def messages(self, request, pk=None):
        """The thread, oldest first, with authors and call details."""
        inquiry = self.get_object()
        page = self.paginate_queryset(_thread(Message.objects.filter(inquiry=inquiry)))
        return self.get_paginated_response(MessageSerializer(page, many=True).data)

    @extend_schema(responses=InquiryHistorySerializer, filters=False)
    @action(
        detail=True,
        methods=["get"],
        filterset_class=None,
        ordering_fields=None,
        pagination_class=None,
    )
    def history(self, request, pk=None):
        """The status changes and assignments, newest first."""
        inquiry = self.get_object()
        changes = InquiryStatusChange.objects.filter(inquiry=inquiry).select_related("actor")
        assignments = InquiryAssignment.objects.filter(inquiry=inquiry).select_related(
            "actor", "from_assignee", "to_assignee", "team", "rule"
        )
        body = {
            "status_changes": changes.order_by("-created_at", "-id"),
            "assignments": assignments.order_by("-created_at", "-id"),
        }
        return Response(InquiryHistorySerializer(body).data)


def _thread(queryset: QuerySet[Message]) -> QuerySet[Message]:
    return queryset.select_related("author_user", "author_contact", "phone_call").order_by(
        "created_at", "id"
    )


# --- Saved replies ------------------------------------------------------------------------------


class SavedReplySerializer(StrictModelSerializer):
    team = IdField(queryset=Team.objects.all(), allow_null=True, required=False)
    team_name = serializers.CharField(
        source="team.name", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = SavedReply
        fields = [
            "id",
            "title",
            "body",
            "category",
            "team",
            "team_name",
            "usage_count",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["usage_count", "created_by", "created_at", "updated_at"]

    def validate(self, attrs):
        refuse_read_only(self, {"usage_count": "Counted when a reply uses it."})
        return super().validate(attrs)


class SavedReplyFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("title", "body"))
    team = IdFilter(field_name="team_id")
    is_global = BooleanFilter(field_name="team", lookup_expr="isnull")
    category = django_filters.CharFilter(lookup_expr="iexact", max_length=100)

    class Meta:
        model = SavedReply
        fields = ["q", "team", "is_global", "category"]


class SavedReplyViewSet(ServiceModelViewSet):
    """Canned responses: the caller's teams' and the global ones, most used first."""

    serializer_class = SavedReplySerializer
    filterset_class = SavedReplyFilter
    ordering_fields = ["usage_count", "title", "created_at", "updated_at", "id"]
    ordering = ["-usage_count", "title", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        queryset = SavedReply.objects.select_related("team")
        return channels.saved_replies_usable_by(self.request.user, queryset)

    def _check_team(self, team) -> None:
        user = self.request.user
        if user.is_superuser or user.has_perm("inquiries.view_all_inquiries"):
            return
        if team is None:
            message = "Only the admin writes global saved replies; choose your team."
        elif not Team.objects.filter(Q(members=user) | Q(supervisor=user), pk=team.pk).exists():
            message = "You may only write saved replies of your own teams."
        else:
            return
        raise PermissionDeniedError(message, errors={"team": [message]})

    def create_object(self, data):
        self._check_team(data.get("team"))
        return channels.saved_reply_create(actor=self.request.user, **data)

    def update_object(self, instance, data):
        self._check_team(data.get("team", instance.team))
        return channels.saved_reply_update(saved_reply=instance, **data)

    def perform_destroy(self, instance):
        self._check_team(instance.team)
        instance.delete()


urlpatterns: list = []


def register(router: DefaultRouter) -> None:
    router.register("inquiries", InquiryViewSet, basename="inquiry")
    router.register("saved-replies", SavedReplyViewSet, basename="savedreply")
