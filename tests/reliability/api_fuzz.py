"""Fuzz every operation of the OpenAPI schema, generated at run time, with schemathesis.

Shared by the bounded CI test (`tests/reliability/test_fuzz_api.py`) and the long run
(`bench/fuzz_api.py`). Requests go in-process to `frontoffice.wsgi.application` (the production
middleware stack, behind a proxy that says HTTPS), on the caller's database connection, so a
pytest-django test sees and rolls back everything the fuzzer writes.

Every operation is driven by the same Hypothesis test schemathesis builds for its own runner:
positive cases (valid by the schema) and negative ones (wrong types, missing or unknown fields,
out-of-range values), and, when asked, its coverage phase (boundary values, each required
parameter missing, undeclared methods). Path ids are pointed at rows that exist half of the time,
so the fuzzer gets past the 404 into validation and the services.

Checks (see `CHECKS`, `EXCLUDED_CHECKS`): no 5xx; the status code, content type, headers and
body as the schema documents them; input the schema forbids is refused (4xx: one exception, a
JSON scalar DRF reads as another scalar, see `negative_data_rejection`); an operation that
declares authentication refuses the request without it; a missing required header and an
undeclared method are refused (coverage phase).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
import werkzeug.test
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.core.result import Err

# The builder schemathesis' own pytest plugin uses (pinned version): the plugin's lazy schema
# (`schemathesis.pytest.from_fixture`, needed to build the schema inside a test) writes
# `Node._nodeid`, which pytest 9.2 no longer has.
from schemathesis.generation.hypothesis.builder import (
    HypothesisTestConfig,
    HypothesisTestMode,
    create_test,
)
from schemathesis.generation.meta import CoveragePhaseData, CoverageScenario
from schemathesis.specs.openapi import checks as openapi_checks

# Production sits behind a proxy that terminates TLS and says so (SECURE_PROXY_SSL_HEADER);
# without it the SecurityMiddleware would answer every request with a redirect to https.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}


def _scalar_read_as_another_scalar(case) -> bool:
    """The negative case's only fault is a JSON scalar in the body where the schema names
    another scalar type: DRF reads those leniently (`0` as the text "0", `"5"` as 5, `"true"`
    as true), and the API keeps that on purpose (tests/accounts/test_api_bad_input.py: a phone
    may be sent as a number, an id as a string). Everything a scalar cannot stand for (a list,
    an object where text is due) DRF refuses, and the check still sees it."""
    meta = case.meta
    if meta is None:
        return False
    data = meta.phase.data
    if isinstance(data, CoveragePhaseData):
        if data.scenario != CoverageScenario.INCORRECT_TYPE or not isinstance(case.body, dict):
            return False
        value: Any = case.body
        for name in data.description.split(":", 1)[0].split(" -> "):  # "customer -> name"
            value = value.get(name) if isinstance(value, dict) else None
        return value is not None and not isinstance(value, list | dict)
    mutations = getattr(data, "mutations", ())
    return bool(mutations) and all(
        mutation.parameter_location == ParameterLocation.BODY
        and set(mutation.keywords) <= {"type", "anyOf"}
        and _is_scalar_or_null(_value_at(case.body, mutation.path))
        for mutation in mutations
    )


_MISSING = object()


def _value_at(body: Any, path: tuple) -> Any:
    for step in path:
        if (isinstance(body, dict) and step in body) or (
            isinstance(body, list) and isinstance(step, int) and -len(body) <= step < len(body)
        ):
            body = body[step]
        else:
            return _MISSING
    return body


def _is_scalar_or_null(value: Any) -> bool:
    # null too: schemathesis reads a nullable field as `anyOf [type, null]` and takes a null it
    # drew for the first branch violated; where null is not allowed DRF refuses it.
    return value is not _MISSING and not isinstance(value, list | dict)


def negative_data_rejection(ctx, response, case):
    """schemathesis' check, except for the lenient scalars above."""
    if _scalar_read_as_another_scalar(case):
        return None
    return openapi_checks.negative_data_rejection(ctx, response, case)


CHECKS = (
    not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    negative_data_rejection,
    openapi_checks.ignored_auth,
    openapi_checks.missing_required_header,
    openapi_checks.unsupported_method,
    openapi_checks.allow_header_conformance,
)

# Checks we do not run, and why (README, "Reliability and security").
EXCLUDED_CHECKS = {
    "positive_data_acceptance": (
        "input valid by the schema can still be refused by the domain: an id that does not "
        "exist or is outside the caller's scope, a move the state machine forbids, a duplicate; "
        "those are 400/404/409 by design"
    ),
    "use_after_free": "needs the stateful phase's chains of requests; our runs are stateless",
    "ensure_resource_availability": "the same: it follows a POST by the requests it links to",
    "object_level_authorization": (
        "needs two identities sharing one run; role scopes are tested by the permission matrix "
        "(tests/reliability/test_permission_matrix.py)"
    ),
}

_PATH_PARAMETER = re.compile(r"\{([^}]+)\}")


def build_schema(app=None) -> schemathesis.schemas.BaseSchema:
    """The schema exactly as `/api/schema/` serves it now, bound to the WSGI application."""
    from frontoffice.wsgi import application

    generated = SchemaGenerator().get_schema(request=None, public=True)
    document = json.loads(OpenApiJsonRenderer().render(generated))
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app or application
    return schema


USER_SCHEMES = {"tokenAuth", "cookieAuth"}


def is_public(operation) -> bool:
    """The operation is called without a user's login: its security allows none (`{}`), or
    names only keys that are not a user's (the inbound email's shared secret)."""
    security = operation.definition.raw.get("security") or [{}]
    return {} in security or not any(USER_SCHEMES & set(entry) for entry in security)


def open_the_public_doors() -> None:
    """A fresh active chat channel, web-form channel and lead form (of a planned campaign), the
    newest of each: what `public_keys` hands out, whatever an earlier pass changed."""
    from inquiries.models import InboundChannel
    from pipeline.models import Campaign, LeadForm

    campaign = Campaign.objects.create(name="Fuzzed campaign", kind=Campaign.Kind.WEB)
    LeadForm.objects.create(name="Fuzzed form", campaign=campaign)
    for kind in (InboundChannel.Kind.CHAT, InboundChannel.Kind.WEB_FORM):
        InboundChannel.objects.create(name=f"Fuzzed {kind}", kind=kind)


def public_keys(operation, *, inbound_email_key: str) -> dict[str, str]:
    """The valid key each public endpoint takes in a header (the body may carry its own, which
    the fuzzer draws): those of `open_the_public_doors`."""
    from inquiries.models import InboundChannel
    from pipeline.models import LeadForm

    def channel_key(kind: str) -> str:
        return InboundChannel.objects.filter(kind=kind).latest("pk").key

    keys = {
        "/api/v1/inbound/chat/": lambda: {"X-Channel-Key": channel_key("chat")},
        "/api/v1/inbound/web-form/": lambda: {"X-Channel-Key": channel_key("web_form")},
        "/api/v1/inbound/email/": lambda: {"X-Inbound-Key": inbound_email_key},
        "/api/v1/leads/capture/": lambda: {"X-Form-Key": LeadForm.objects.latest("pk").key},
    }
    return keys[operation.path]() if operation.path in keys else {}


@dataclass
class Failure:
    operation: str
    message: str


@dataclass
class FuzzReport:
    operations: list[str] = field(default_factory=list)
    examples: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def merge(self, other: FuzzReport) -> None:
        self.operations += other.operations
        self.examples += other.examples
        for status, count in other.statuses.items():
            self.statuses[status] = self.statuses.get(status, 0) + count
        self.failures += other.failures
        self.seconds += other.seconds

    def summary(self) -> str:
        statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return (
            f"{len(self.operations)} operations, {self.examples} requests "
            f"({statuses}), {len(self.failures)} failures, {self.seconds:.1f} s"
        )

    def failure_text(self) -> str:
        return "\n\n".join(f"== {f.operation}\n{f.message}" for f in self.failures)


class KnownIds:
    """Ids of rows the caller can see, per collection path, read through the API's own lists,
    so a generated `{id}` can be pointed at a row that exists."""

    def __init__(self, schema, headers: dict[str, str]) -> None:
        self._schema = schema
        self._headers = headers
        self._cache: dict[str, list[Any]] = {}

    def for_path(self, path: str) -> list[Any]:
        collection = path.split("{", 1)[0]
        if collection not in self._cache:
            self._cache[collection] = self._read(collection)
        return self._cache[collection]

    def _read(self, collection: str) -> list[Any]:
        # Through the same WSGI application as the fuzzer (Django's test client would put back
        # the connection closing that `connection_kept_open` takes away).
        response = werkzeug.test.Client(self._schema.app).get(
            collection,
            query_string={"page_size": 200},
            headers={**self._headers, **PROXY_HEADERS},
        )
        if response.status_code != 200 or "json" not in response.headers.get("Content-Type", ""):
            return []
        body = response.get_json()
        rows = body.get("results", body) if isinstance(body, dict) else body
        if not isinstance(rows, list):
            return []
        return [key for row in rows if (key := _row_key(row)) is not None]


def _row_key(row: Any) -> Any:
    """A row's id; a row keyed by another record (a lead is its contact's score) has none,
    and its first integer field is that record's id."""
    if not isinstance(row, dict):
        return None
    if "id" in row:
        return row["id"]
    return next((v for v in row.values() if isinstance(v, int) and not isinstance(v, bool)), None)


def point_at_existing_rows(case, known: KnownIds) -> None:
    """Half of the generated non-negative integer ids become ids of rows that exist (the
    generated value picks which one), the rest stay as drawn (mostly a 404)."""
    names = _PATH_PARAMETER.findall(case.operation.path)
    if not names or not case.path_parameters:
        return
    ids = known.for_path(case.operation.path)
    if not ids:
        return
    name = names[0]  # the collection's own id: the first parameter of the path
    value = case.path_parameters.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value % 2:
        return
    case.path_parameters[name] = ids[(value // 2) % len(ids)]


Headers = dict[str, str] | Callable[[Any], dict[str, str]]


def fuzz_operation(
    operation,
    *,
    headers: Headers,
    max_examples: int,
    coverage: bool = False,
    derandomize: bool = True,
    known: KnownIds | None = None,
) -> FuzzReport:
    """Run one operation's Hypothesis test; a failure is recorded (minimised), not raised."""
    report = FuzzReport(operations=[operation.label])
    last_failing: list[str] = []
    if callable(headers):
        headers = headers(operation)

    def check_one(case) -> None:
        # Throttling is not what we fuzz: every request starts with a fresh allowance.
        cache.clear()
        if known is not None:
            point_at_existing_rows(case, known)
        response = case.call(headers={**headers, **PROXY_HEADERS})
        report.examples += 1
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=list(CHECKS), headers=headers)
        except BaseExceptionGroup:
            # Hypothesis replays the minimal failing example last: this is what gets reported.
            last_failing[:] = [_reproduction(case, response)]
            raise

    modes = [HypothesisTestMode.EXAMPLES, HypothesisTestMode.FUZZING]
    if coverage:
        modes.append(HypothesisTestMode.COVERAGE)
    settings = hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        print_blob=False,
        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    test = create_test(
        operation=operation,
        test_func=check_one,
        config=HypothesisTestConfig(
            project=operation.schema.config,
            modes=modes,
            settings=settings,
            explicit_settings=settings,
        ),
    )
    started = time.perf_counter()
    try:
        test()
    # Anything the run raises is a finding to report, not a crash of the fuzzer: failed checks
    # come as schemathesis' FailureGroup (a BaseExceptionGroup), several distinct ones as an
    # ExceptionGroup, an error in the client or in a check as itself.
    except (Exception, BaseExceptionGroup) as error:
        report.failures.append(
            Failure(operation.label, "\n".join([_describe(error), *last_failing]))
        )
    report.seconds = time.perf_counter() - started
    return report


def _reproduction(case, response) -> str:
    request = response.request
    body = request.body if isinstance(request.body, str) else (request.body or b"")[:2000]
    answer = response.text[:2000] if response.content else ""
    return (
        f"Request: {request.method} {request.url}\n"
        f"Request headers: {dict(request.headers)}\n"
        f"Request body: {body!r}\n"
        f"Response {response.status_code}: {answer}"
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        return "\n".join(_describe(inner) for inner in error.exceptions)
    text = str(error).strip()
    return text or repr(error)


@contextmanager
def connection_kept_open():
    """Django closes the database connection at the end of a request whose connection is not in
    autocommit mode, and a test's transaction is exactly that: the fuzzer's requests go through
    the real WSGI handler, so, as Django's own test client does, the connection stays open."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def fuzz_schema(
    schema,
    *,
    headers: Headers,
    max_examples: int,
    coverage: bool = False,
    derandomize: bool = True,
    select: Callable[[Any], bool] = lambda operation: True,
    progress: Callable[[FuzzReport], None] | None = None,
) -> FuzzReport:
    """Fuzz every operation `select` accepts; problems loading an operation are failures too."""
    total = FuzzReport()
    known = KnownIds(schema, headers if isinstance(headers, dict) else {})
    with connection_kept_open():
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                error = result.err()
                total.failures.append(Failure(f"{error.method} {error.path}", str(error)))
                continue
            operation = result.ok()
            if not select(operation):
                continue
            report = fuzz_operation(
                operation,
                headers=headers,
                max_examples=max_examples,
                coverage=coverage,
                derandomize=derandomize,
                known=known,
            )
            total.merge(report)
            if progress is not None:
                progress(report)
    return total
