"""The OpenAPI schema documents the error answers every operation can give, not only success.

`frontoffice.api.errors.exception_handler` answers every error with one JSON body; this schema
class adds it, with the status codes an operation can actually produce, derived from what the
operation is (the fuzz test, tests/reliability/test_fuzz_api.py, holds the API to them):

- 400 an operation that reads input (a request body or query parameters) refuses bad input;
- 401 the view authenticates with a token first (its WWW-Authenticate makes "no or a bad
  token" a 401);
- 403 a role without the permission, a session without its CSRF token, a wrong channel key;
- 404 a path parameter that matches no visible row, or a page past the end;
- 409 a write to a record that lost a compare-and-set, or a delete of a row still referenced
  (a collection's POST declares its 409 itself when it has one);
- 415 a body in a media type the operation does not read (JSON, unless it says otherwise);
- 429 a throttled view.

A response a view documents itself with a body is kept as it is; one it documents without a
body (`400: None`) gets this body, since the API always sends one.

Optional query parameters are `allowEmptyValue`: a blank one (`?owner=`, as a form sends an
unused field) means the parameter is not set, everywhere in the API.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers


@extend_schema_serializer(component_name="ApiError")
class ApiErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in one sentence.")
    errors = serializers.DictField(
        child=serializers.JSONField(),
        help_text=(
            "Per field, its messages (a list of strings), or for a nested input the nested "
            "field errors (per index for a list); empty when no field is at fault."
        ),
    )


ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `errors` names each field at fault.",
    "401": "No credentials, or a wrong token.",
    "403": "Not allowed: the role lacks the permission, or the key is wrong.",
    "404": "No such record visible to the caller (or no such page).",
    "409": "Conflict: the record changed meanwhile, or is still referenced.",
    "415": "The body is not in a media type this operation reads.",
    "429": "Too many requests: try again after `Retry-After` seconds.",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class DecimalFieldExtension(OpenApiSerializerFieldExtension):
    """Amounts come back as decimal strings ("1200.50", exact); as input DRF takes a JSON
    number too, and the schema says so."""

    target_class = "rest_framework.fields.DecimalField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction != "request":
            return schema
        return {"oneOf": [schema, {"type": "number"}]}


class AutoSchema(openapi.AutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        error_body = {
            "application/json": {
                "schema": self.resolve_serializer(ApiErrorSerializer, "response").ref
            }
        }
        documented_errors = {code for code in responses if code >= "400"}
        for code in sorted(set(self._error_codes(operation)) | documented_errors):
            documented = responses.get(code)
            if documented is not None and documented.get("content"):
                continue
            description = (documented or {}).get("description", "")
            if not description or description == "No response body":
                description = ERROR_DESCRIPTIONS.get(code, "An error.")
            responses[code] = {
                **(documented or {}),
                "description": description,
                "content": error_body,
            }
        operation["responses"] = dict(sorted(responses.items()))
        for parameter in operation.get("parameters", []):
            # A blank optional query parameter (`?owner=`, a form's empty field) means "not set"
            # throughout: filters (FilterBackend), ordering, pages, query serializers.
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        return operation

    def _error_codes(self, operation: dict) -> list[str]:
        parameters = operation.get("parameters", [])
        located = {parameter["in"] for parameter in parameters}
        query = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
        codes = ["403"]
        if "requestBody" in operation or query or self.method in WRITE_METHODS - {"DELETE"}:
            codes.append("400")
        authenticators = self.view.get_authenticators()
        if authenticators and authenticators[0].authenticate_header(None):
            codes.append("401")
        if "path" in located or "page" in query:
            codes.append("404")
        if self.method in WRITE_METHODS and "path" in located:
            codes.append("409")
        if "requestBody" in operation:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes
