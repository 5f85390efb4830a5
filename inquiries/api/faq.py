"""FAQ over the API: candidates by rank with their members, the review actions (accept, which
publishes an entry; reject; merge), the public FAQ with search, and suggestions for an inquiry.

- ``/faq-candidates/`` staff with the candidate permissions (agents, managers, the admin).
- ``/faqs/`` public and read-only (a help page, a chatbot): published entries, throttled per
  client address (``API_THROTTLE_FAQ_SEARCH``).
- ``/inquiries/{id}/suggestions/`` agents: published entries and saved replies most similar to
  the inquiry's question.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from frontoffice.api.filters import BooleanFilter, IdFilter, TextSearchFilter
from frontoffice.api.serializers import IdField, StrictSerializer
from inquiries.faq import selectors, services, statuses
from inquiries.models import (
    FaqCandidate,
    FaqCandidateChange,
    FaqCandidateMember,
    FaqCandidateStatus,
    FaqEntry,
    FaqMethod,
)
from inquiries.selectors import inquiries_visible_to

EXAMPLES = 3


def _display_name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- Serializers --------------------------------------------------------------------------------


class FaqMemberSerializer(serializers.ModelSerializer):
    subject = serializers.CharField(source="inquiry.subject", read_only=True)
    channel = serializers.CharField(source="inquiry.channel", read_only=True)
    created_at = serializers.DateTimeField(source="inquiry.created_at", read_only=True)

    class Meta:
        model = FaqCandidateMember
        fields = [
            "inquiry",
            "subject",
            "channel",
            "created_at",
            "question",
            "similarity",
            "is_representative",
            "handling_seconds",
            "merged_from",
        ]
        read_only_fields = fields


class FaqCandidateSerializer(serializers.ModelSerializer):
    covered_by_question = serializers.CharField(
        source="covered_by.question", read_only=True, default=None
    )
    examples = serializers.SerializerMethodField()
    next_moves = serializers.SerializerMethodField()

    class Meta:
        model = FaqCandidate
        fields = [
            "id",
            "rank",
            "status",
            "question",
            "draft_answer",
            "category",
            "volume",
            "total_handling_seconds",
            "confidence",
            "covered_by",
            "covered_by_question",
            "coverage_similarity",
            "representative",
            "examples",
            "merged_into",
            "reason",
            "method",
            "period_start",
            "period_end",
            "mined_at",
            "created_at",
            "updated_at",
            "next_moves",
        ]
        read_only_fields = fields

    @extend_schema_field(FaqMemberSerializer(many=True))
    def get_examples(self, obj: FaqCandidate) -> list[dict]:
        """The representative inquiry and the members closest to the group's centre."""
        return FaqMemberSerializer(obj.example_members, many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_next_moves(self, obj: FaqCandidate) -> list[str]:
        return statuses.allowed_moves(obj.status)


class FaqEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = FaqEntry
        fields = ["id", "question", "answer", "category", "published_at", "updated_at"]
        read_only_fields = fields


class FaqAcceptSerializer(StrictSerializer):
    question = serializers.CharField(
        max_length=500, required=False, help_text="Default: the representative question."
    )
    answer = serializers.CharField(
        max_length=20000, required=False, help_text="Default: the draft answer."
    )
    category = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="Default: the candidate's."
    )


class FaqRejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=services.REASON_MAX_LENGTH)


class FaqMergeSerializer(StrictSerializer):
    other = IdField(
        queryset=FaqCandidate.objects.all(),
        help_text="The candidate merged into this one (it becomes `merged`).",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class FaqChangeSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField()

    class Meta:
        model = FaqCandidateChange
        fields = ["id", "from_status", "to_status", "created_at", "actor", "actor_name", "note"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor_name(self, obj) -> str | None:
        return _display_name(obj.actor)


# --- Candidates ---------------------------------------------------------------------------------


class FaqCandidateFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("question", "draft_answer"))
    status = django_filters.MultipleChoiceFilter(choices=FaqCandidateStatus.choices)
    category = django_filters.CharFilter(lookup_expr="iexact", max_length=100)
    method = django_filters.ChoiceFilter(choices=FaqMethod.choices)
    covered = BooleanFilter(
        field_name="covered_by", lookup_expr="isnull", exclude=True, label="Covered by an entry"
    )
    min_volume = IdFilter(field_name="volume", lookup_expr="gte", min_value=0)

    class Meta:
        model = FaqCandidate
        fields = ["q", "status", "category", "method", "covered", "min_volume"]


def _examples() -> Prefetch:
    members = FaqCandidateMember.objects.select_related("inquiry").order_by(
        "-is_representative", "-similarity", "id"
    )
    return Prefetch("members", queryset=members[:EXAMPLES], to_attr="example_members")


class FaqCandidateViewSet(viewsets.ReadOnlyModelViewSet):
    """FAQ candidates mined from the inquiry logs, by rank (1: asked most, not yet covered by
    the FAQ). Accept publishes an FAQ entry; reject needs a reason; merge folds another
    candidate's inquiries into this one. Mining runs are started by the Celery task
    `build_faq_candidates` (weekly) or `manage.py build_faq`."""

    serializer_class = FaqCandidateSerializer
    filterset_class = FaqCandidateFilter
    # Set per @action: what that action needs instead of the model permission.
    required_permissions: list[str] | None = None
    ordering_fields = [
        "rank",
        "volume",
        "total_handling_seconds",
        "confidence",
        "mined_at",
        "created_at",
        "id",
    ]
    ordering = ["rank", "-volume", "id"]

    def get_queryset(self) -> QuerySet[FaqCandidate]:
        return FaqCandidate.objects.select_related("covered_by").prefetch_related(_examples())

    def _read_back(self, candidate: FaqCandidate) -> dict:
        fresh = self.get_queryset().get(pk=candidate.pk)
        return FaqCandidateSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        request=FaqAcceptSerializer,
        responses={201: FaqEntrySerializer, 400: None, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["inquiries.review_faqcandidate"])
    def accept(self, request, pk=None):
        """Publish the candidate as an FAQ entry (question and answer as edited here; the
        representative question and draft answer by default). 409 if already reviewed."""
        candidate = self.get_object()
        serializer = FaqAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.faq_candidate_accept(
            candidate=candidate, actor=request.user, **serializer.validated_data
        )
        return Response(FaqEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=FaqRejectSerializer,
        responses={200: FaqCandidateSerializer, 400: None, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["inquiries.review_faqcandidate"])
    def reject(self, request, pk=None):
        """Reject with a reason; later mining runs keep it rejected."""
        candidate = self.get_object()
        serializer = FaqRejectSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.faq_candidate_reject(
            candidate=candidate, actor=request.user, **serializer.validated_data
        )
        return Response(self._read_back(candidate))

    @extend_schema(
        request=FaqMergeSerializer,
        responses={200: FaqCandidateSerializer, 400: None, 403: None, 404: None, 409: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["inquiries.review_faqcandidate"])
    def merge(self, request, pk=None):
        """Merge `other` into this candidate (both new): its inquiries join this one's members."""
        candidate = self.get_object()
        serializer = FaqMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.faq_candidate_merge(
            candidate=candidate, actor=request.user, **serializer.validated_data
        )
        return Response(self._read_back(candidate))

    @extend_schema(responses=FaqMemberSerializer(many=True), filters=False)
    @action(
        detail=True,
        methods=["get"],
        filterset_class=None,
        ordering_fields=None,
        required_permissions=["inquiries.view_faqcandidate"],
    )
    def members(self, request, pk=None):
        """Every inquiry of the group (most central first), to check the grouping."""
        candidate = self.get_object()
        rows = FaqCandidateMember.objects.filter(candidate=candidate).select_related("inquiry")
        page = self.paginate_queryset(rows.order_by("-is_representative", "-similarity", "id"))
        return self.get_paginated_response(FaqMemberSerializer(page, many=True).data)

    @extend_schema(responses=FaqChangeSerializer(many=True), filters=False)
    @action(
        detail=True,
        methods=["get"],
        filterset_class=None,
        ordering_fields=None,
        pagination_class=None,
        required_permissions=["inquiries.view_faqcandidate"],
    )
    def history(self, request, pk=None):
        """The status changes, newest first."""
        candidate = self.get_object()
        changes = FaqCandidateChange.objects.filter(candidate=candidate).select_related("actor")
        return Response(FaqChangeSerializer(changes.order_by("-created_at", "-id"), many=True).data)


# --- The public FAQ -----------------------------------------------------------------------------


class FaqSearchFilter(django_filters.CharFilter):
    def filter(self, qs, value):
        return selectors.faq_search(qs, value or "")


class FaqEntryFilter(django_filters.FilterSet):
    q = FaqSearchFilter(
        max_length=200,
        help_text="Words the question or answer must all contain (case and width ignored).",
    )
    category = django_filters.CharFilter(lookup_expr="iexact", max_length=100)

    class Meta:
        model = FaqEntry
        fields = ["q", "category"]


class FaqViewSet(viewsets.ReadOnlyModelViewSet):
    """The published FAQ, for anyone (a help page, a chatbot): `?q=` searches questions and
    answers (entries whose question holds the whole query first), `?category=` filters.
    Throttled per client address."""

    serializer_class = FaqEntrySerializer
    filterset_class = FaqEntryFilter
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "faq_search"
    # No default `ordering`: it would override the search's relevance order.
    ordering_fields = ["question", "category", "published_at", "id"]

    def get_queryset(self) -> QuerySet[FaqEntry]:
        return selectors.faq_entries_published().order_by("category", "question", "id")


# --- Suggestions for an inquiry -----------------------------------------------------------------


class SuggestedEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    question = serializers.CharField()
    answer = serializers.CharField()
    category = serializers.CharField()
    score = serializers.FloatField(help_text="Cosine similarity to the inquiry's question.")


class SuggestedReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    body = serializers.CharField()
    category = serializers.CharField()
    team = serializers.IntegerField(allow_null=True)
    team_name = serializers.CharField(allow_null=True)
    score = serializers.FloatField(help_text="Cosine similarity to the inquiry's question.")


class SuggestionsSerializer(serializers.Serializer):
    inquiry = serializers.IntegerField()
    question = serializers.CharField(help_text="The inquiry's question as compared (cleaned).")
    faqs = SuggestedEntrySerializer(many=True)
    saved_replies = SuggestedReplySerializer(many=True)


class InquirySuggestionsView(APIView):
    """Published FAQ entries and saved replies (the caller's teams' and the global ones) most
    similar to the inquiry's first question, best first (at most five of each)."""

    required_permissions = ["inquiries.answer_inquiry"]

    @extend_schema(responses={200: SuggestionsSerializer, 403: None, 404: None})
    def get(self, request, pk: int):
        inquiry = get_object_or_404(inquiries_visible_to(request.user), pk=pk)
        found = selectors.suggestions_for(inquiry=inquiry, user=request.user)
        body = {
            "inquiry": inquiry.pk,
            "question": found.question,
            "faqs": [
                {
                    "id": entry.pk,
                    "question": entry.question,
                    "answer": entry.answer,
                    "category": entry.category,
                    "score": score,
                }
                for entry, score in found.entries
            ],
            "saved_replies": [
                {
                    "id": reply.pk,
                    "title": reply.title,
                    "body": reply.body,
                    "category": reply.category,
                    "team": reply.team_id,
                    "team_name": reply.team.name if reply.team else None,
                    "score": score,
                }
                for reply, score in found.saved_replies
            ],
        }
        return Response(SuggestionsSerializer(body).data)


urlpatterns = [
    path(
        "inquiries/<int:pk>/suggestions/",
        InquirySuggestionsView.as_view(),
        name="inquiry-suggestions",
    ),
]


def register(router: DefaultRouter) -> None:
    router.register("faq-candidates", FaqCandidateViewSet, basename="faqcandidate")
    router.register("faqs", FaqViewSet, basename="faq")
