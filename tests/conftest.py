from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import roles
from tests.factories import user_with_role


@pytest.fixture(autouse=True)
def _plain_http(settings):
    # Production settings redirect to HTTPS when debug is off; the test client speaks HTTP.
    settings.SECURE_SSL_REDIRECT = False


@pytest.fixture(autouse=True)
def _empty_cache():
    # Throttling counts live in the cache; every test starts with a fresh allowance.
    cache.clear()
    # Content types are cached per process; a transactional test's flush recreates them with
    # new ids, so a cached one would point at a row that no longer exists.
    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # The production hasher costs ~0.5 s a user; tests do not test hashing strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks run in-process unless a test talks to a real broker on purpose."""
    from frontoffice.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def api_client():
    return APIClient()


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def sales_rep(db):
    return user_with_role(roles.SALES_REP, username="rep")


@pytest.fixture
def support_agent(db):
    return user_with_role(roles.SUPPORT_AGENT, username="agent")


@pytest.fixture
def manager(db):
    return user_with_role(roles.MANAGER, username="manager")


@pytest.fixture
def marketer(db):
    return user_with_role(roles.MARKETER, username="marketer")


@pytest.fixture
def admin_user(db):
    return user_with_role(roles.ADMIN, username="admin")


@pytest.fixture
def rep_client(sales_rep):
    return _client_for(sales_rep)


@pytest.fixture
def agent_client(support_agent):
    return _client_for(support_agent)


@pytest.fixture
def manager_client(manager):
    return _client_for(manager)


@pytest.fixture
def marketer_client(marketer):
    return _client_for(marketer)


@pytest.fixture
def admin_client_api(admin_user):
    return _client_for(admin_user)


ROLE_MIGRATIONS = (
    "accounts.migrations.0002_roles",
    "pipeline.migrations.0002_roles",
    "pipeline.migrations.0004_roles_and_policy",
    "pipeline.migrations.0006_sales_roles_and_defaults",
    "pipeline.migrations.0007_daily_report_history",
    "inquiries.migrations.0002_roles",
    "inquiries.migrations.0007_faq_roles",
    "frontoffice.migrations.0002_roles",
    "frontoffice.migrations.0003_audit_log",
)


@pytest.fixture
def role_groups(transactional_db):
    """Transactional tests flush the database, role groups included: grant them again, the way
    the data migrations do (serialized_rollback clashes with content types a flush recreated)."""
    import importlib

    from django.apps import apps

    for module in ROLE_MIGRATIONS:
        importlib.import_module(module).grant(apps, None)
