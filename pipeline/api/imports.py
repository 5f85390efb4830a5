"""Lead list imports over the API: upload a CSV (multipart), list and read past runs."""

from __future__ import annotations

import django_filters
from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from frontoffice.api.filters import DayRangeFilter, IdFilter, TextSearchFilter
from frontoffice.api.serializers import IdField, StrictSerializer
from pipeline.imports import ENCODINGS, MAPPINGS, RUN_COUNTS, leads_import, max_file_bytes
from pipeline.models import Campaign, LeadImport

# Multipart framing and the other fields on top of the file itself.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


def _too_large_message() -> str:
    return f"The file is larger than {max_file_bytes() // (1024 * 1024)} MB."


class LeadImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class LeadImportListSerializer(serializers.ModelSerializer):
    campaign_name = serializers.CharField(
        source="campaign.name", read_only=True, allow_null=True, default=None
    )
    created_by_name = serializers.SerializerMethodField()

    class Meta:
        model = LeadImport
        fields = [
            "id",
            "campaign",
            "campaign_name",
            "file_name",
            "encoding",
            "status",
            *RUN_COUNTS,
            "created_by",
            "created_by_name",
            "created_at",
            "duration_ms",
        ]
        read_only_fields = fields

    def get_created_by_name(self, obj: LeadImport) -> str | None:
        user = obj.created_by
        return (user.get_full_name() or user.get_username()) if user is not None else None


class LeadImportSerializer(LeadImportListSerializer):
    """A run with its bad rows (line in the file and reason; the first 500)."""

    errors = LeadImportErrorSerializer(many=True, read_only=True)

    class Meta(LeadImportListSerializer.Meta):
        fields = [*LeadImportListSerializer.Meta.fields, "errors"]
        read_only_fields = fields


class LeadImportUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="The CSV: UTF-8 (with or without BOM) or Shift_JIS.")
    campaign = IdField(
        queryset=Campaign.objects.all(),
        required=False,
        allow_null=True,
        help_text="The campaign (exhibition, event) the list comes from; optional for the olist "
        "mappings.",
    )
    dry_run = serializers.BooleanField(default=False, help_text="Check and count only.")
    partial = serializers.BooleanField(
        default=False, help_text="Import the good rows even when some rows are bad."
    )
    encoding = serializers.ChoiceField(choices=ENCODINGS, default="auto")
    mapping = serializers.ChoiceField(choices=sorted(MAPPINGS), default="standard")

    def validate_file(self, value):
        if value.size > max_file_bytes():
            raise serializers.ValidationError(_too_large_message())
        return value


class LeadImportRefusedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    lead_import = LeadImportSerializer(
        required=False,
        help_text="The refused run, when the file was read (absent when the upload itself was "
        "unusable: no file, a wrong field).",
    )


class LeadImportFilter(django_filters.FilterSet):
    q = TextSearchFilter(search_fields=("file_name",))
    campaign = IdFilter(field_name="campaign_id")
    status = django_filters.MultipleChoiceFilter(choices=LeadImport.Status.choices)
    created_by = django_filters.ModelChoiceFilter(queryset=get_user_model().objects.all())
    created_at = DayRangeFilter()

    class Meta:
        model = LeadImport
        fields = ["q", "campaign", "status", "created_by", "created_at"]


class LeadImportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Lead list imports. A run is history: made by an upload, never edited."""

    queryset = LeadImport.objects.select_related("campaign", "created_by")
    serializer_class = LeadImportSerializer
    filterset_class = LeadImportFilter
    ordering_fields = ["created_at", "total_rows", "rejected_rows", "duration_ms", "id"]
    ordering = ["-created_at", "-id"]
    parser_classes = [MultiPartParser, FormParser]

    def get_serializer_class(self):
        if self.action == "list":
            return LeadImportListSerializer
        if self.action == "create":
            return LeadImportUploadSerializer
        return LeadImportSerializer

    @extend_schema(
        request={"multipart/form-data": LeadImportUploadSerializer},
        responses={
            201: LeadImportSerializer,
            200: LeadImportSerializer,
            400: LeadImportRefusedSerializer,
        },
    )
    def create(self, request, *args, **kwargs):
        """Import a lead list (multipart: `file`, `campaign`, `dry_run`, `partial`,
        `encoding`, `mapping`). 201 with the run when imported (also in part), 200 for a dry
        run, 400 when the upload is unusable or, without `partial`, when a row is bad: then
        `errors.rows` lists each bad line and nothing but the refused run is recorded."""
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        if declared > max_file_bytes() + UPLOAD_OVERHEAD_BYTES:
            # Refused before the body is read.
            raise serializers.ValidationError({"file": [_too_large_message()]})
        upload = LeadImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        outcome = leads_import(
            content=data["file"].read(),
            file_name=data["file"].name,
            campaign=data.get("campaign"),
            actor=request.user,
            dry_run=data["dry_run"],
            partial=data["partial"],
            encoding=data["encoding"],
            mapping=data["mapping"],
        )
        body = LeadImportSerializer(outcome.lead_import, context=self.get_serializer_context()).data
        if outcome.refused:
            run = outcome.lead_import
            rows = [f"line {error['line']}: {error['reason']}" for error in run.errors]
            return Response(
                {
                    "detail": f"{run.rejected_rows} bad rows: nothing was imported. Fix them, "
                    "or send partial=true to import the good rows.",
                    "errors": {"rows": rows},
                    "lead_import": body,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        code = status.HTTP_200_OK if data["dry_run"] else status.HTTP_201_CREATED
        return Response(body, status=code)
