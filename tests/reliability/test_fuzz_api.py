"""The whole API, fuzzed from its OpenAPI schema as generated now (new endpoints included):
no 5xx, no answer the schema does not document, input the schema forbids refused.

Bounded for CI (under a minute on SQLite and on PostgreSQL on a quiet machine;
`bench/fuzz_api.py` is the long run with many more examples and schemathesis' coverage phase).
Derandomized: the same examples every run, so a red build is reproducible, not a dice roll.
The checks run and the ones left out, with why: `tests/reliability/api_fuzz.py`.
"""

from __future__ import annotations

import io
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from tests.reliability.api_fuzz import (
    build_schema,
    fuzz_schema,
    is_public,
    open_the_public_doors,
    public_keys,
)

# Examples per operation: positive and negative together.
ADMIN_EXAMPLES = 12
ANONYMOUS_EXAMPLES = 3
PUBLIC_EXAMPLES = 40
INBOUND_EMAIL_KEY = "fuzz-inbound-key"


@pytest.fixture
def seeded(db, settings):
    """A small but complete product: the demo data (every kind of row, histories included)."""
    settings.FRONTOFFICE_INBOUND_EMAIL_KEY = INBOUND_EMAIL_KEY
    call_command(
        "seed_demo", contacts=30, no_progress=True, stdout=io.StringIO(), stderr=io.StringIO()
    )
    open_the_public_doors()


def _assert_clean(report) -> None:
    assert not report.failures, f"{report.summary()}\n\n{report.failure_text()}"


def test_it_answers_every_operation_as_documented_for_the_admin(seeded):
    schema = build_schema()
    operations = [result.ok() for result in schema.get_all_operations()]
    admin = get_user_model().objects.get(username="admin")
    token = Token.objects.create(user=admin)

    report = fuzz_schema(
        schema, headers={"Authorization": f"Token {token.key}"}, max_examples=ADMIN_EXAMPLES
    )

    _assert_clean(report)
    assert report.operations == [operation.label for operation in operations]


def test_it_answers_every_operation_as_documented_without_credentials(seeded):
    schema = build_schema()
    operations = [result.ok() for result in schema.get_all_operations()]

    report = fuzz_schema(schema, headers={}, max_examples=ANONYMOUS_EXAMPLES)

    _assert_clean(report)
    assert report.operations == [operation.label for operation in operations]


def test_it_answers_the_public_endpoints_as_documented_with_their_keys(seeded):
    schema = build_schema()

    report = fuzz_schema(
        schema,
        headers=partial(public_keys, inbound_email_key=INBOUND_EMAIL_KEY),
        max_examples=PUBLIC_EXAMPLES,
        select=is_public,
    )

    _assert_clean(report)
    # Every operation without a user's login, whatever appears later (the FAQ pages did).
    assert {
        "POST /api/v1/auth/token/",
        "POST /api/v1/inbound/chat/",
        "POST /api/v1/inbound/email/",
        "POST /api/v1/inbound/web-form/",
        "POST /api/v1/leads/capture/",
    } <= set(report.operations)
    # The keys open the door: the fuzzer's valid submissions were received.
    assert report.statuses.get(201, 0) + report.statuses.get(202, 0) > 0
