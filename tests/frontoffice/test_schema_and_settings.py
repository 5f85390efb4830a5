"""The OpenAPI schema is valid and served offline; production settings pass `check --deploy`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_it_serves_a_valid_openapi_3_schema(rep_client):
    response = rep_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/contacts/",
        "/api/v1/contacts/{id}/timeline/",
        "/api/v1/contacts/{id}/move/",
        "/api/v1/contacts/{id}/merge/",
        "/api/v1/accounts/{id}/timeline/",
        "/api/v1/touchpoints/",
        "/api/v1/teams/",
    ):
        assert path in schema["paths"], path


def test_it_generates_the_schema_without_warnings():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "spectacular",
            "--validate",
            "--fail-on-warn",
            "--file",
            os.devnull,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_it_serves_the_docs_with_no_cdn(rep_client):
    response = rep_client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    external = [url for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if "//" in url]
    assert external == []
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def test_it_passes_check_deploy_with_debug_off_and_a_real_secret():
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x7#Lq2!vR9@mK4$wT8^zP1&nB6*cH3(jF5)dS0_gY-uE+iO=aW",
        "DJANGO_ALLOWED_HOSTS": "crm.example.com",
    }
    env.pop("DJANGO_SECURE_SSL_REDIRECT", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_documents_every_environment_variable_in_env_example():
    settings_source = (ROOT / "frontoffice" / "settings.py").read_text()
    read = set(re.findall(r"env(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"", settings_source))
    documented = set(
        re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert read, "no variables found in settings"
    assert read - documented == set()
