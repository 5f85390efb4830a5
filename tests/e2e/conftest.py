"""Shared by the browser tests: a live server speaking plain HTTP (see browser.py for Chromium)."""

from __future__ import annotations

import pytest
from pytest_django.live_server_helper import LiveServer


@pytest.fixture
def live_server(settings):
    """pytest-django's live server, but started for this test with plain-HTTP settings: its
    middleware reads them once, and the session-wide server would redirect to HTTPS."""
    settings.SECURE_SSL_REDIRECT = False
    # Cookies marked Secure would not come back over plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    server = LiveServer("localhost")
    yield server
    server.stop()
