"""The public web-form endpoint: authenticated by the form's key, not a user login."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from frontoffice.api.parsers import JSONParser
from frontoffice.api.serializers import FormReceivedSerializer, PublicFormSerializer
from pipeline.capture import lead_capture, lead_form_for_key

FORM_KEY_HEADER = "X-Form-Key"


class LeadCaptureSerializer(PublicFormSerializer):
    form_key = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text=f"The form's key (or the {FORM_KEY_HEADER} header).",
    )
    title = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    department = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class LeadCaptureView(APIView):
    """Receive a lead from a public web form of a campaign.

    Authenticated by the form's key (`form_key` in the body or the `X-Form-Key` header);
    throttled per client address. Finds or creates the contact and account, records a web-form
    touchpoint with the campaign, and moves the journey to at least `lead`. The answer does not
    say whether the person was known (no address probing).
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "lead_capture"
    # A campaign's HTML form may post here directly, as well as a script with JSON.
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]

    @extend_schema(
        request=LeadCaptureSerializer,
        responses={201: FormReceivedSerializer},
        parameters=[
            OpenApiParameter(FORM_KEY_HEADER, str, OpenApiParameter.HEADER, required=False)
        ],
    )
    def post(self, request):
        serializer = LeadCaptureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        key = data.pop("form_key", "") or request.headers.get(FORM_KEY_HEADER, "")
        data.pop("website", None)
        lead_form = lead_form_for_key(key=key)
        captured = lead_capture(lead_form=lead_form, **data)
        body = {"result": "received", "reference": f"T{captured.touchpoint.pk}"}
        return Response(body, status=status.HTTP_201_CREATED)
