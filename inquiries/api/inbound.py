"""Public inbound endpoints for chat and web forms: authenticated by an inbound channel's key
(header or body), not a user login."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import parsers, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from frontoffice.api.parsers import JSONParser
from frontoffice.api.serializers import (
    BoundedDateTimeField,
    FormReceivedSerializer,
    PublicFormSerializer,
    StrictSerializer,
)
from inquiries import channels, services
from inquiries.api.inquiries import StrictNestedSerializer
from inquiries.models import InboundChannel

CHANNEL_KEY_HEADER = "X-Channel-Key"
KEY_PARAMETER = OpenApiParameter(CHANNEL_KEY_HEADER, str, OpenApiParameter.HEADER, required=False)


def _key_field() -> serializers.CharField:
    return serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text=f"The inbound channel's key (or the {CHANNEL_KEY_HEADER} header).",
    )


def _channel(request, data: dict, kind: str) -> InboundChannel:
    key = data.pop("channel_key", "") or request.headers.get(CHANNEL_KEY_HEADER, "")
    return channels.inbound_channel_for_key(key=key, kind=kind)


# --- Chat ---------------------------------------------------------------------------------------


class ChatCustomerSerializer(StrictNestedSerializer):
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class ChatMessageSerializer(StrictSerializer):
    channel_key = _key_field()
    conversation_id = serializers.CharField(max_length=200)
    message = serializers.CharField(max_length=20000)
    sent_at = BoundedDateTimeField(required=False, allow_null=True, default=None)
    customer = ChatCustomerSerializer(
        required=False,
        help_text="Who writes (needed on a conversation's first message to find the customer).",
    )


class ChatReceivedSerializer(serializers.Serializer):
    inquiry = serializers.IntegerField()
    message = serializers.IntegerField()
    opened = serializers.BooleanField(help_text="True when this message opened the inquiry.")


class ChatMessageView(APIView):
    """Receive one chat message from a chat widget or provider.

    One conversation (`conversation_id`) is one inquiry: the first message opens it (the customer
    is found or created from `customer`), later ones are added to it as the customer's messages.
    Authenticated by a chat channel's key; 403 for an unknown or inactive key.
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    # A chat provider posts every conversation from its own few addresses: a generous rate.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "inbound_chat"

    @extend_schema(
        request=ChatMessageSerializer,
        responses={201: ChatReceivedSerializer, 400: None, 403: None, 409: None},
        parameters=[KEY_PARAMETER],
    )
    def post(self, request):
        serializer = ChatMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        inbound_channel = _channel(request, data, InboundChannel.Kind.CHAT)
        received = channels.chat_message_receive(
            inbound_channel=inbound_channel,
            conversation_id=data["conversation_id"],
            message=data["message"],
            sent_at=data["sent_at"],
            customer=services.Customer(**(data.get("customer") or {})),
        )
        body = {
            "inquiry": received.inquiry.pk,
            "message": received.message.pk,
            "opened": received.opened,
        }
        return Response(body, status=status.HTTP_201_CREATED)


# --- Web form -----------------------------------------------------------------------------------


class WebFormSerializer(PublicFormSerializer):
    channel_key = _key_field()
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    message = serializers.CharField(max_length=20000)
    category = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class WebFormView(APIView):
    """Receive an inquiry from a public web form (a support contact form).

    Authenticated by a web-form channel's key (`channel_key` in the body or the `X-Channel-Key`
    header); throttled per client address like lead capture. The customer is found or created;
    the answer does not say whether they were known.
    """

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "lead_capture"
    # A campaign's HTML form may post here directly, as well as a script with JSON.
    parser_classes = [JSONParser, parsers.FormParser, parsers.MultiPartParser]

    @extend_schema(
        request=WebFormSerializer,
        responses={201: FormReceivedSerializer, 400: None, 403: None, 429: None},
        parameters=[KEY_PARAMETER],
    )
    def post(self, request):
        serializer = WebFormSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("website", None)
        inbound_channel = _channel(request, data, InboundChannel.Kind.WEB_FORM)
        inquiry = channels.web_form_submit(inbound_channel=inbound_channel, **data)
        body = {"result": "received", "reference": f"#{inquiry.pk}"}
        return Response(body, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("inbound/chat/", ChatMessageView.as_view(), name="inbound-chat"),
    path("inbound/web-form/", WebFormView.as_view(), name="inbound-web-form"),
]
