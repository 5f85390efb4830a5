"""POST /api/v1/inbound/email/: a mail server's inbound hook delivers one raw RFC 822 message.

Authenticated by a shared secret (header X-Inbound-Key, FRONTOFFICE_INBOUND_EMAIL_KEY), not a
user login; checked before the body is read. The body is the raw message (Content-Type
message/rfc822 or application/octet-stream), or a multipart form with the message in the field
`message`. A message we cannot read is quarantined and still answered 202: the mail server must
not retry it or bounce it to the customer, and nothing is lost.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from frontoffice.errors import ApplicationError
from inquiries.email_in import email_receive
from inquiries.models import QuarantinedEmail

INBOUND_KEY_HEADER = "X-Inbound-Key"
THROTTLE_SCOPE = "inbound_email"
READ_CHUNK = 64 * 1024


class MessageTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The message is too large."
    default_code = "too_large"


def _read_capped(stream, content_length: int | None) -> bytes:
    limit = settings.FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES
    too_large = MessageTooLarge(f"The message is larger than {limit} bytes.")
    if content_length is not None and content_length > limit:
        raise too_large
    chunks, size = [], 0
    while chunk := stream.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:  # a body sent without (or with a false) Content-Length
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


class RawEmailParser(parsers.BaseParser):
    """The request body as bytes, up to FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES (413 beyond)."""

    media_type = "message/rfc822"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        if stream is None:
            return b""
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        try:
            content_length = int(length) if length else None
        except ValueError:
            content_length = None
        return _read_capped(stream, content_length)


class OctetStreamEmailParser(RawEmailParser):
    media_type = "application/octet-stream"


class CappedMultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        length = request.META.get("CONTENT_LENGTH") if request is not None else None
        if length and length.isdigit():
            limit = settings.FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES
            if int(length) > limit + READ_CHUNK:  # room for the form's own framing
                raise MessageTooLarge(f"The message is larger than {limit} bytes.")
        return super().parse(stream, media_type, parser_context)


class InboundKeyPermission(permissions.BasePermission):
    """The shared secret in X-Inbound-Key, compared in constant time; no key set: refuse all."""

    message = "Unknown inbound key."

    def has_permission(self, request, view) -> bool:
        expected = settings.FRONTOFFICE_INBOUND_EMAIL_KEY
        given = request.headers.get(INBOUND_KEY_HEADER, "")
        if not expected:
            self.message = "Inbound email is switched off (FRONTOFFICE_INBOUND_EMAIL_KEY is empty)."
            return False
        return hmac.compare_digest(given.encode(), expected.encode())


class InboundEmailResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["threaded", "opened", "duplicate", "quarantined"])
    inquiry = serializers.IntegerField(allow_null=True)
    message = serializers.IntegerField(allow_null=True)
    quarantine = serializers.IntegerField(
        allow_null=True, help_text="The quarantined email's id when the message was quarantined."
    )


class InboundEmailFormSerializer(serializers.Serializer):
    message = serializers.FileField(help_text="The raw RFC 822 message.")


class InboundEmailErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def _raw_message(request) -> bytes:
    data = request.data
    if isinstance(data, bytes):
        return data
    if not data and not request.content_type.startswith("multipart/"):
        return b""  # an empty raw body (DRF does not call the parser for it)
    upload = data.get("message") if hasattr(data, "get") else None
    if upload is None:
        message = "Send the raw message as the body, or in the form field `message`."
        raise ApplicationError("No message.", errors={"message": [message]})
    if isinstance(upload, str):
        return upload.encode("utf-8", errors="surrogateescape")
    if upload.size > settings.FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES:
        raise MessageTooLarge(
            f"The message is larger than {settings.FRONTOFFICE_INBOUND_EMAIL_MAX_BYTES} bytes."
        )
    return upload.read()


class InboundEmailView(APIView):
    """Receive one raw email from the mail server's inbound hook.

    Threads it onto its inquiry (In-Reply-To/References or a `[#id]` subject token of the
    sender's own inquiry), opens a new inquiry, recognises a message delivered before
    (`duplicate`, by Message-ID), or keeps an unreadable one in the quarantine for an admin
    (`quarantined`). Every one of these is a 202.
    """

    authentication_classes: list = []
    permission_classes = [InboundKeyPermission]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = THROTTLE_SCOPE
    parser_classes = [RawEmailParser, OctetStreamEmailParser, CappedMultiPartParser]

    @extend_schema(
        operation_id="inbound_email_receive",
        request={
            "message/rfc822": OpenApiTypes.BINARY,
            "application/octet-stream": OpenApiTypes.BINARY,
            "multipart/form-data": InboundEmailFormSerializer,
        },
        responses={
            202: InboundEmailResultSerializer,
            400: OpenApiResponse(
                InboundEmailErrorSerializer, description="No message in the request."
            ),
            403: OpenApiResponse(
                InboundEmailErrorSerializer, description="Missing or wrong inbound key."
            ),
            413: OpenApiResponse(
                InboundEmailErrorSerializer, description="Larger than the size cap."
            ),
        },
        # The shared secret is this operation's security scheme (settings: APPEND_COMPONENTS).
        auth=[{"inboundEmailKey": []}],
    )
    def post(self, request):
        raw = _raw_message(request)
        if not raw.strip():
            message = "The message is empty."
            raise ApplicationError(message, errors={"message": [message]})
        received = email_receive(raw=raw, source=QuarantinedEmail.Source.WEBHOOK)
        body = {
            "status": received.outcome,
            "inquiry": received.inquiry_id,
            "message": received.message.pk if received.message is not None else None,
            "quarantine": received.quarantined.pk if received.quarantined is not None else None,
        }
        return Response(body, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path("inbound/email/", InboundEmailView.as_view(), name="inbound-email"),
]
