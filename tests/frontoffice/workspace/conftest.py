from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def browser():
    """`browser(user)`: a Django test client signed in with a session, as the workspace is."""

    def signed_in(user=None) -> Client:
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    return signed_in
