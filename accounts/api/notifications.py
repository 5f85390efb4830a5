"""/api/v1/notifications/: the caller's own inbox (newest first) and marking it read.

Every staff member has an inbox, whatever their role: the only permission is being signed in,
and every query is scoped to the caller as recipient (someone else's notification is a 404).
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Notification
from accounts.notifications import notification_mark_read
from frontoffice.api.filters import BooleanFilter, DayRangeFilter
from frontoffice.api.serializers import StrictSerializer

MARK_READ_MAX_IDS = 1000


class NotificationSerializer(serializers.ModelSerializer):
    is_read = serializers.SerializerMethodField()
    source_type = serializers.SerializerMethodField(
        help_text='"app_label.model", e.g. "pipeline.deal".'
    )

    class Meta:
        model = Notification
        fields = [
            "id",
            "kind",
            "subject",
            "body",
            "link",
            "source_type",
            "source_id",
            "created_at",
            "emailed_at",
            "read_at",
            "is_read",
        ]
        read_only_fields = fields

    def get_source_type(self, notification: Notification) -> str | None:
        content_type = notification.source_type
        return f"{content_type.app_label}.{content_type.model}" if content_type else None

    def get_is_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class NotificationFilter(django_filters.FilterSet):
    unread = BooleanFilter(field_name="read_at", lookup_expr="isnull", label="Unread only")
    kind = django_filters.CharFilter(max_length=50)
    created = DayRangeFilter(field_name="created_at")

    class Meta:
        model = Notification
        fields = ["unread", "kind", "created"]


class MarkReadSerializer(StrictSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=MARK_READ_MAX_IDS,
        help_text="The notifications to mark read; leave out to mark all unread ones.",
    )


class MarkReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The signed-in user's notifications (stalled deals, report reminders, ...)."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["created_at", "read_at", "kind", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Notification.objects.none()
        return Notification.objects.filter(recipient=self.request.user).select_related(
            "source_type"
        )

    @extend_schema(request=MarkReadSerializer, responses=MarkReadResultSerializer, filters=False)
    @action(
        detail=False,
        methods=["post"],
        url_path="mark-read",
        filterset_class=None,
        ordering_fields=None,
    )
    def mark_read(self, request):
        """Mark the given notifications (`ids`) read, or all unread ones when `ids` is left out.
        Ids of other people's or already read notifications are skipped."""
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notification_mark_read(
            recipient=request.user, ids=serializer.validated_data.get("ids")
        )
        return Response(MarkReadResultSerializer({"marked": marked}).data)
