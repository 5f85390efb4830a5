"""Security with debug off: `check --deploy` clean, a start-up refused with a public key, secure
cookies and headers, CSRF on session writes, every public endpoint throttled per client (a forged
X-Forwarded-For does not reset the count), and no secret in the repository."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle

from frontoffice.security import DEVELOPMENT_KEY, secret_key_problem
from inquiries.models import InboundChannel
from inquiries.models.faq import FaqEntry
from pipeline.models import LeadForm
from tests.factories import CampaignFactory, ContactFactory, TeamFactory

ROOT = Path(__file__).resolve().parents[2]
REAL_KEY = "q8Vn3-Lw0zR7_bX2mK9tY5cJ1hG6dF4sA0pE8uI3oW7yT2rQ9vB5nM1xC6zL4kH8"
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": REAL_KEY,
    "DJANGO_ALLOWED_HOSTS": "crm.example.com",
}
INBOUND_EMAIL_KEY = "inbound-email-shared-secret-for-the-throttle-test"


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- Production settings ------------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "DEBUG", env=PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_production_settings_turn_on_https_cookies_and_headers():
    show = (
        "import json; from django.conf import settings as s; print(json.dumps({name: "
        "getattr(s, name) for name in ["
        "'SECURE_SSL_REDIRECT', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SESSION_COOKIE_HTTPONLY', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
        "'SECURE_HSTS_PRELOAD', 'SECURE_CONTENT_TYPE_NOSNIFF', 'SECURE_REFERRER_POLICY', "
        "'X_FRAME_OPTIONS', 'DEBUG']}))"
    )

    result = _manage("shell", "-c", show, env=PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY",
        "DEBUG": False,
    }


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (None, "it is a key published in the repository"),
        ("change-me", "it is a key published in the repository"),
        ("django-insecure-" + "x" * 60, "it is a key published in the repository"),
        ("s3cr3t-but-short", "it is shorter than 50 characters"),
    ],
)
def test_the_site_refuses_to_start_with_debug_off_and_a_key_anyone_can_know(key, problem):
    env = {"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "crm.example.com"}
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert f"ImproperlyConfigured: DJANGO_SECRET_KEY is not secret ({problem})" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"DJANGO_DEBUG": "true", "DJANGO_ALLOWED_HOSTS": "crm.example.com"},  # development
        {"DJANGO_DEBUG": "false"},  # a laptop or CI: localhost only
    ],
)
def test_the_development_key_still_starts_a_laptop(env):
    result = _manage("check", env=env)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        (DEVELOPMENT_KEY, "it is a key published in the repository"),
        ("a" * 60, "it has fewer than 5 different characters"),
        (REAL_KEY, None),
    ],
)
def test_it_tells_a_weak_key_from_a_real_one(key, problem):
    assert secret_key_problem(key) == problem


# --- Headers and cookies with debug off ---------------------------------------------------------


@pytest.mark.django_db
def test_responses_carry_the_security_headers_over_https():
    response = Client().get("/api/v1/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True

    response = Client().get("/api/v1/accounts/")

    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/v1/accounts/"


@pytest.mark.django_db
def test_the_session_and_csrf_cookies_are_secure(admin_user):
    browser = Client()
    login_page = browser.get("/admin/login/", secure=True)

    response = browser.post(
        "/admin/login/",
        {"username": "admin", "password": "pass-word-123", "next": "/admin/"},
        secure=True,
    )

    assert response.status_code == 302
    session, csrf = response.cookies["sessionid"], login_page.cookies["csrftoken"]
    assert (session["secure"], session["httponly"], session["samesite"]) == (True, True, "Lax")
    assert (csrf["secure"], csrf["samesite"]) == (True, "Lax")


# --- CSRF on writes made with a session ---------------------------------------------------------


def _csrf_browser(user, client_class=Client):
    browser = client_class(enforce_csrf_checks=True)
    browser.force_login(user)
    return browser


def _csrf_token(browser) -> str:
    browser.get("/admin/")  # the admin sets the CSRF cookie
    return browser.cookies["csrftoken"].value


@pytest.mark.django_db
def test_an_api_write_with_a_session_needs_the_csrf_token(sales_rep):
    browser = _csrf_browser(sales_rep, APIClient)

    refused = browser.post("/api/v1/accounts/", {"name": "Acme KK"}, format="json")
    token = _csrf_token(browser)
    allowed = browser.post(
        "/api/v1/accounts/", {"name": "Acme KK"}, format="json", HTTP_X_CSRFTOKEN=token
    )

    assert refused.status_code == 403
    assert refused.json()["detail"] == "CSRF Failed: CSRF cookie not set."
    assert allowed.status_code == 201


@pytest.mark.django_db
def test_an_api_write_with_a_token_needs_no_csrf_token(sales_rep):
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=sales_rep).key}")

    response = client.post("/api/v1/accounts/", {"name": "Acme KK"}, format="json")

    assert response.status_code == 201


@pytest.mark.django_db
def test_an_admin_form_needs_the_csrf_token(admin_user):
    browser = _csrf_browser(admin_user)

    refused = browser.post("/admin/accounts/team/add/", {"name": "Osaka", "kind": "sales"})
    token = _csrf_token(browser)
    allowed = browser.post(
        "/admin/accounts/team/add/",
        {"name": "Osaka", "kind": "sales", "csrfmiddlewaretoken": token},
    )

    assert refused.status_code == 403
    assert allowed.status_code == 302


@pytest.mark.django_db
def test_a_workspace_form_needs_the_csrf_token(support_agent):
    from inquiries import services as inquiry_services

    team = TeamFactory(name="Support", kind="support")
    team.members.add(support_agent)
    inquiry = inquiry_services.inquiry_open(
        channel="email",
        subject="Invoice",
        body="Where is it?",
        customer=inquiry_services.Customer(contact=ContactFactory()),
        team=team,
    )
    browser = _csrf_browser(support_agent)

    refused = browser.post(f"/app/inquiries/{inquiry.pk}/note/", {"body": "Checked."})
    token = _csrf_token(browser)
    allowed = browser.post(
        f"/app/inquiries/{inquiry.pk}/note/", {"body": "Checked.", "csrfmiddlewaretoken": token}
    )

    assert refused.status_code == 403
    assert allowed.status_code == 302
    assert inquiry.messages.filter(body="Checked.").count() == 1


# --- Throttling of the public endpoints ---------------------------------------------------------


def _raw_email(n: int) -> bytes:
    return (
        f"From: Customer {n} <customer{n}@example.jp>\r\nTo: support@localhost\r\n"
        f"Subject: Question {n}\r\nMessage-ID: <throttle-{n}@example.jp>\r\n\r\nHello.\r\n"
    ).encode()


@pytest.fixture
def public(db, settings, sales_rep):
    settings.FRONTOFFICE_INBOUND_EMAIL_KEY = INBOUND_EMAIL_KEY
    return SimpleNamespace(
        lead_form=LeadForm.objects.create(name="Expo", campaign=CampaignFactory()),
        chat=InboundChannel.objects.create(name="Chat", kind="chat"),
        web_form=InboundChannel.objects.create(name="Form", kind="web_form"),
        faq=FaqEntry.objects.create(question="Where is my invoice?", answer="In the portal."),
    )


# Every operation the schema lets anyone call: (scope of its rate, the n-th request).
PUBLIC_ENDPOINTS: dict[str, tuple[str, Callable[[APIClient, SimpleNamespace, int], Any]]] = {
    "POST /api/v1/leads/capture/": (
        "lead_capture",
        lambda client, w, n: client.post(
            "/api/v1/leads/capture/",
            {"form_key": w.lead_form.key, "email": f"visitor{n}@example.jp"},
            format="json",
        ),
    ),
    # The support form shares the lead form's allowance: both are a person typing into a page.
    "POST /api/v1/inbound/web-form/": (
        "lead_capture",
        lambda client, w, n: client.post(
            "/api/v1/inbound/web-form/",
            {"channel_key": w.web_form.key, "email": f"writer{n}@example.jp", "message": "Hi"},
            format="json",
        ),
    ),
    "POST /api/v1/inbound/chat/": (
        "inbound_chat",
        lambda client, w, n: client.post(
            "/api/v1/inbound/chat/",
            {
                "channel_key": w.chat.key,
                "conversation_id": f"c-{n}",
                "message": "Hello?",
                "customer": {"email": f"chatter{n}@example.jp"},
            },
            format="json",
        ),
    ),
    "POST /api/v1/inbound/email/": (
        "inbound_email",
        lambda client, w, n: client.post(
            "/api/v1/inbound/email/",
            _raw_email(n),
            content_type="message/rfc822",
            HTTP_X_INBOUND_KEY=INBOUND_EMAIL_KEY,
        ),
    ),
    # The published FAQ, for a help page or a chatbot.
    "GET /api/v1/faqs/": (
        "faq_search",
        lambda client, w, n: client.get("/api/v1/faqs/", {"q": f"invoice {n}"}),
    ),
    "GET /api/v1/faqs/{id}/": (
        "faq_search",
        lambda client, w, n: client.get(f"/api/v1/faqs/{w.faq.pk}/"),
    ),
    "POST /api/v1/auth/token/": (
        "anon",
        lambda client, w, n: client.post(
            "/api/v1/auth/token/", {"username": "rep", "password": "pass-word-123"}
        ),
    ),
}
ALLOWED = 3


@pytest.fixture
def low_rates(monkeypatch, settings):
    """Every scope at ALLOWED a minute (the configured rates are checked separately)."""
    rates = {
        scope: f"{ALLOWED}/minute" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    }
    for throttle in (SimpleRateThrottle, ScopedRateThrottle, AnonRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)


USER_LOGINS = {"tokenAuth", "cookieAuth"}


def _public_operations() -> set[str]:
    """Operations anyone may call: no security, an empty requirement, or one that is not a
    user's login (a channel's shared key)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    public = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            security = operation.get("security")
            if security is None or any(not set(need) & USER_LOGINS for need in security):
                public.add(f"{method.upper()} {path}")
    return public


def test_every_public_endpoint_is_listed_here():
    assert _public_operations() == set(PUBLIC_ENDPOINTS)


@pytest.mark.parametrize("operation", sorted(PUBLIC_ENDPOINTS))
def test_every_public_endpoint_has_a_configured_rate(operation, settings):
    scope, _call = PUBLIC_ENDPOINTS[operation]
    view = resolve(operation.split()[1]).func.cls
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    assert view.throttle_classes, operation
    assert {
        getattr(throttle, "scope", None) or getattr(view, "throttle_scope", None)
        for throttle in view.throttle_classes
    } == {scope}
    assert re.fullmatch(r"\d+/(second|minute|hour|day)", rates[scope])


@pytest.mark.usefixtures("low_rates")
@pytest.mark.parametrize("operation", sorted(PUBLIC_ENDPOINTS))
def test_the_request_after_the_allowance_is_refused(operation, public):
    _scope, call = PUBLIC_ENDPOINTS[operation]
    client = APIClient(REMOTE_ADDR="198.51.100.7")
    # Forging X-Forwarded-For on each request must not buy a fresh allowance.
    statuses = [call(client, public, n).status_code for n in range(ALLOWED)]
    forged = [
        call(APIClient(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"), public, n)
        for n in range(ALLOWED, ALLOWED + 2)
    ]
    other_client = call(APIClient(REMOTE_ADDR="198.51.100.8"), public, 99)

    assert all(200 <= status < 300 for status in statuses), statuses
    assert [response.status_code for response in forged] == [429, 429]
    assert forged[0].json()["detail"].startswith("Request was throttled.")
    assert 200 <= other_client.status_code < 300


# --- No secret in the repository ----------------------------------------------------------------

# Written in pieces so this file does not match itself.
LEAKS = {
    "private key": re.compile("-----BEGIN ([A-Z]+ )?" + "PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(
        r"aws_secret_access_key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}", re.IGNORECASE
    ),
    "service token": re.compile(
        r"\b(gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,}|sk_live_\w{16,})"
    ),
}
# A literal assigned to a setting or variable named like a secret, outside the tests (which use
# made-up values): SECRET_KEY = "...", "DJANGO_SECRET_KEY": "...", api_token = '...'.
NAMED_SECRET = re.compile(
    r"""(?i)\b\w*(secret|password|passwd|api_key|token)\w*["']?\s*[:=]\s*["']([^"'\s]{16,})["']"""
)
INSECURE_KEY = re.compile(r"django-insecure-[^\s\"']{8,}")
# Published on purpose: the development key (refused in production) and its placeholder.
KNOWN_PUBLIC = {DEVELOPMENT_KEY, "change-me"}
BINARY_SUFFIXES = {".mo", ".png", ".jpg", ".ico", ".gz", ".zip", ".woff", ".woff2", ".sqlite3"}


def _repository_files() -> list[Path]:
    """Tracked files and new ones not ignored (what the next commit could carry)."""
    result = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [ROOT / name for name in result.stdout.splitlines() if (ROOT / name).is_file()]


def _findings(path: Path, root: Path = ROOT) -> list[str]:
    if path.suffix in BINARY_SUFFIXES:
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return []
    relative = path.relative_to(root)
    found = [f"{relative}: {name}" for name, pattern in LEAKS.items() if pattern.search(text)]
    if relative.parts[0] != "tests":
        found += [
            f"{relative}: {match.group(0)[:60]}"
            for match in NAMED_SECRET.finditer(text)
            if match.group(2) not in KNOWN_PUBLIC and not match.group(2).startswith("env.")
        ]
    if relative.parts[0] != "tests" and INSECURE_KEY.search(text.replace(DEVELOPMENT_KEY, "")):
        found.append(f"{relative}: another django-insecure- key")
    return found


def test_no_secret_is_committed():
    files = _repository_files()

    findings = [finding for path in files for finding in _findings(path)]

    assert len(files) > 200  # the scan saw the repository
    assert findings == []


def test_the_local_environment_file_is_never_committed():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    tracked = {path.relative_to(ROOT).as_posix() for path in _repository_files()}

    assert ".env" in ignored
    assert ".env" not in tracked


def test_the_scan_finds_what_it_looks_for(tmp_path):
    planted = tmp_path / "leak.py"
    planted.write_text(
        'STRIPE = "sk_live_' + "4eC39HqLyjWDarjtT1zdp7dc" + '"\n'
        'SECRET_KEY = "' + "k3y-" * 10 + '"\n' + "-----BEGIN RSA " + "PRIVATE KEY-----\n"
    )
    findings = _findings(planted, root=tmp_path)

    assert findings == [
        "leak.py: private key",
        "leak.py: service token",
        'leak.py: SECRET_KEY = "k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y-k3y-"',
    ]
