from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404  # a non-numeric id: 404, not 500
from rest_framework.response import Response

from accounts import selectors, services
from accounts.api import filters
from accounts.api.serializers import (
    AccountSerializer,
    ContactCreateSerializer,
    ContactResolveResultSerializer,
    ContactResolveSerializer,
    ContactSerializer,
    JourneyMoveSerializer,
    JourneyTransitionSerializer,
    MergeResultSerializer,
    MergeSerializer,
    StaffSerializer,
    TeamSerializer,
    TouchpointBatchItemSerializer,
    TouchpointBatchResponseSerializer,
    TouchpointBatchSerializer,
    TouchpointCreateSerializer,
    TouchpointSerializer,
)
from accounts.models import Account, Contact, CustomerMerge
from frontoffice.api.viewsets import ServiceModelViewSet


def _merge_result(merge: CustomerMerge) -> dict[str, Any]:
    return {
        "merge_id": merge.pk,
        "survivor": merge.survivor_contact_id or merge.survivor_account_id,
        "duplicate": merge.duplicate_id,
        "moved": merge.moved,
    }


class TimelineMixin:
    def _timeline_response(self, queryset):
        page = self.paginate_queryset(queryset)
        serializer = TouchpointSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(serializer.data)


class AccountViewSet(TimelineMixin, ServiceModelViewSet):
    """Organisations. Delete is refused (409) while contacts or history reference the account."""

    serializer_class = AccountSerializer
    filterset_class = filters.AccountFilter
    ordering_fields = ["name", "domain", "industry", "region", "created_at", "updated_at", "id"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return selectors.account_list()

    def create_object(self, data):
        return services.account_create(**data, actor=self.request.user)

    def update_object(self, instance, data):
        return services.account_update(account=instance, actor=self.request.user, **data)

    def perform_destroy(self, instance):
        services.account_delete(account=instance, actor=self.request.user)

    @extend_schema(responses=TouchpointSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=None)
    def timeline(self, request, pk=None):
        """The organisation's timeline, newest first."""
        account = get_object_or_404(Account.objects.only("pk"), pk=self.kwargs["pk"])
        return self._timeline_response(selectors.account_timeline(account=account))

    @extend_schema(request=MergeSerializer, responses=MergeResultSerializer)
    @action(detail=True, methods=["post"], required_permissions=["accounts.merge_account"])
    def merge(self, request, pk=None):
        """Merge another account (`duplicate`) into this one; the duplicate is deleted."""
        survivor = self.get_object()
        serializer = MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        duplicate = _get_or_400(Account, serializer.validated_data["duplicate"], "duplicate")
        merge = services.account_merge(
            survivor=survivor,
            duplicate=duplicate,
            actor=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(MergeResultSerializer(_merge_result(merge)).data)


def _get_or_400(model, pk: int, field: str):
    from frontoffice.errors import ApplicationError

    instance = model.objects.filter(pk=pk).first()
    if instance is None:
        message = f"No {model._meta.verbose_name} with id {pk}."
        raise ApplicationError(message, errors={field: [message]})
    return instance


class ContactViewSet(TimelineMixin, ServiceModelViewSet):
    """People. The journey stage changes only through `move` (and merges)."""

    serializer_class = ContactSerializer
    create_serializer_class = ContactCreateSerializer
    filterset_class = filters.ContactFilter
    ordering_fields = [
        "name",
        "email",
        "stage",
        "stage_changed_at",
        "created_at",
        "updated_at",
        "id",
    ]
    ordering = ["name", "id"]

    def get_queryset(self):
        return selectors.contact_list()

    def create_object(self, data):
        return services.contact_create(**data, actor=self.request.user, cause="created via API")

    def update_object(self, instance, data):
        return services.contact_update(contact=instance, actor=self.request.user, **data)

    def perform_destroy(self, instance):
        services.contact_delete(contact=instance, actor=self.request.user)

    @extend_schema(responses=TouchpointSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=None)
    def timeline(self, request, pk=None):
        """The person's contact history across marketing, sales and support, newest first."""
        contact = get_object_or_404(Contact.objects.only("pk"), pk=self.kwargs["pk"])
        return self._timeline_response(selectors.contact_timeline(contact=contact))

    @extend_schema(responses=JourneyTransitionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, ordering_fields=None)
    def journey(self, request, pk=None):
        """The journey history: every stage move with who, when and why, newest first."""
        contact = get_object_or_404(Contact.objects.only("pk"), pk=self.kwargs["pk"])
        page = self.paginate_queryset(selectors.contact_journey(contact=contact))
        return self.get_paginated_response(JourneyTransitionSerializer(page, many=True).data)

    @extend_schema(
        request=JourneyMoveSerializer,
        responses={200: ContactSerializer, 400: None, 409: None},
    )
    @action(detail=True, methods=["post"], required_permissions=["accounts.move_journey_contact"])
    def move(self, request, pk=None):
        """Move the journey stage. Backward moves and moves to lost/dormant need a `cause`."""
        contact = self.get_object()
        serializer = JourneyMoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.journey_move(contact=contact, actor=request.user, **serializer.validated_data)
        return Response(self._read_back(contact))

    @extend_schema(request=MergeSerializer, responses=MergeResultSerializer)
    @action(detail=True, methods=["post"], required_permissions=["accounts.merge_contact"])
    def merge(self, request, pk=None):
        """Merge another contact (`duplicate`) into this one; every related row moves here."""
        survivor = self.get_object()
        serializer = MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        duplicate = _get_or_400(Contact, serializer.validated_data["duplicate"], "duplicate")
        merge = services.contact_merge(
            survivor=survivor,
            duplicate=duplicate,
            actor=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(MergeResultSerializer(_merge_result(merge)).data)

    @extend_schema(
        request=ContactResolveSerializer,
        responses={200: ContactResolveResultSerializer, 201: ContactResolveResultSerializer},
    )
    @action(detail=False, methods=["post"], required_permissions=["accounts.add_contact"])
    def resolve(self, request):
        """Find the one contact for this email/phone/name, or create it (and its account)."""
        serializer = ContactResolveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        resolved = services.contact_resolve(
            **serializer.validated_data, actor=request.user, cause="resolved via API"
        )
        contact = self.get_queryset().get(pk=resolved.contact.pk)
        body = {
            "created": resolved.created,
            "matched_on": resolved.matched_on,
            "contact": ContactSerializer(contact, context=self.get_serializer_context()).data,
        }
        return Response(
            body, status=status.HTTP_201_CREATED if resolved.created else status.HTTP_200_OK
        )


class TouchpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """The timeline rows. They are history: created by services or here, never edited."""

    required_permissions: list[str] | None = None
    serializer_class = TouchpointSerializer
    filterset_class = filters.TouchpointFilter
    ordering_fields = ["occurred_at", "kind", "channel", "created_at", "id"]
    ordering = ["-occurred_at", "-id"]

    def get_queryset(self):
        return selectors.touchpoint_list()

    def get_serializer_class(self):
        return TouchpointCreateSerializer if self.action == "create" else TouchpointSerializer

    @extend_schema(request=TouchpointBatchSerializer, responses=TouchpointBatchResponseSerializer)
    @action(detail=False, methods=["post"], required_permissions=["accounts.add_touchpoint"])
    def batch(self, request):
        """Store up to 500 marketing touchpoints at once (web visits, downloads, email opens and
        clicks...), each resolved to its contact; reports per item what was stored or why not."""
        envelope = TouchpointBatchSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        valid: list[tuple[int, dict]] = []
        results: dict[int, dict] = {}
        for index, raw in enumerate(envelope.validated_data["items"]):
            item = TouchpointBatchItemSerializer(data=raw)
            if item.is_valid():
                valid.append((index, item.validated_data))
            else:
                results[index] = _batch_result(index, errors=item.errors)
        stored = services.touchpoints_ingest(
            items=[data for _index, data in valid], actor=request.user
        )
        for (index, _data), outcome in zip(valid, stored, strict=True):
            results[index] = _batch_result(
                index,
                touchpoint=outcome.touchpoint,
                contact_created=outcome.contact_created,
                errors=outcome.errors,
            )
        ordered = [results[index] for index in sorted(results)]
        body = {
            "stored": sum(1 for row in ordered if row["status"] == "stored"),
            "rejected": sum(1 for row in ordered if row["status"] == "rejected"),
            "results": ordered,
        }
        return Response(TouchpointBatchResponseSerializer(body).data)

    @extend_schema(request=TouchpointCreateSerializer, responses={201: TouchpointSerializer})
    def create(self, request, *args, **kwargs):
        serializer = TouchpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        touchpoint = services.touchpoint_record(**serializer.validated_data, actor=request.user)
        fresh = self.get_queryset().get(pk=touchpoint.pk)
        return Response(
            TouchpointSerializer(fresh, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


def _batch_result(index: int, *, touchpoint=None, contact_created=False, errors=None) -> dict:
    return {
        "index": index,
        "status": "stored" if touchpoint is not None else "rejected",
        "touchpoint": touchpoint.pk if touchpoint is not None else None,
        "contact": touchpoint.contact_id if touchpoint is not None else None,
        "contact_created": contact_created,
        "errors": errors or {},
    }


class TeamViewSet(ServiceModelViewSet):
    serializer_class = TeamSerializer
    filterset_class = filters.TeamFilter
    ordering_fields = ["name", "kind", "created_at", "id"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.team_list()

    def create_object(self, data):
        return services.team_save(**data, actor=self.request.user)

    def update_object(self, instance, data):
        values = {
            "name": data.get("name", instance.name),
            "kind": data.get("kind", instance.kind),
            "supervisor": data.get("supervisor", instance.supervisor),
            "members": data.get("members"),
        }
        return services.team_save(team=instance, **values, actor=self.request.user)


class StaffViewSet(viewsets.ReadOnlyModelViewSet):
    """Active staff, to pick owners and assignees; any signed-in staff member may read it."""

    serializer_class = StaffSerializer
    filterset_class = filters.StaffFilter
    permission_classes = [permissions.IsAuthenticated]
    ordering_fields = ["username", "id"]
    ordering = ["username"]

    def get_queryset(self):
        return selectors.staff_list()

    @extend_schema(responses=StaffSerializer, filters=False)
    @action(detail=False, methods=["get"], filterset_class=None)
    def me(self, request):
        """The signed-in user, with roles and teams."""
        user = self.get_queryset().get(pk=request.user.pk)
        return Response(StaffSerializer(user).data)
