"""Celery: the app's configuration, and a task end to end through a real Redis broker and a
real worker process (PostgreSQL, so the worker sees the test's committed rows)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Contact, JourneyStage, JourneyTransition
from frontoffice.celery import app
from tests.factories import ContactFactory

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"


def _redis_reachable() -> bool:
    parsed = urlparse(REDIS_URL)
    if parsed.scheme not in ("redis", "rediss"):
        return False
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


def test_it_serialises_json_and_limits_task_time():
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert app.conf.task_soft_time_limit < app.conf.task_time_limit
    assert app.conf.task_acks_late is True


def test_it_schedules_only_registered_tasks():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert scheduled == {
        "accounts.tasks.mark_dormant_contacts",
        "pipeline.tasks.rescore_all",
        "pipeline.tasks.detect_stalled_deals",
        "pipeline.tasks.remind_daily_reports",
        "pipeline.tasks.send_daily_summaries",
        "pipeline.tasks.expire_quotes",
        "inquiries.tasks.check_sla_breaches",
        "inquiries.tasks.fetch_mail",
        "inquiries.tasks.build_faq_candidates",
        "frontoffice.tasks.compute_nightly_kpis",
        "frontoffice.tasks.send_kept_tasks",
    }
    assert scheduled <= set(app.tasks)


def _worker_database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "")
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    credentials = f"{user}{password}@" if user else ""
    host = db["HOST"] or "127.0.0.1"
    port = db["PORT"] or 5432
    return f"postgres://{credentials}{host}:{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real `celery -A frontoffice worker` on its own queue, against Redis and the test DB."""
    if connection.vendor != "postgresql":
        pytest.skip("the real-worker test needs PostgreSQL (a SQLite test DB lives in memory)")
    if not _redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: no real worker to run")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _worker_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "frontoffice",
        "worker",
        "--pool=solo",
        "--queues",
        queue,
        "--without-gossip",
        "--without-mingle",
        "--loglevel=INFO",
    ]
    with (tmp_path / "worker.log").open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        yield queue
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.broker
def test_it_runs_a_task_through_redis_in_a_real_worker(celery_worker_process):
    long_ago = timezone.now() - timedelta(days=400)
    quiet = ContactFactory(stage=JourneyStage.LEAD, stage_changed_at=long_ago)
    busy = ContactFactory(stage=JourneyStage.LEAD)
    sender = Celery("sender", broker=REDIS_URL, backend=REDIS_URL, set_as_current=False)
    sender.conf.task_serializer = "json"

    result = sender.send_task(
        "accounts.tasks.mark_dormant_contacts", kwargs={"days": 365}, queue=celery_worker_process
    )

    assert result.get(timeout=90) == {"moved": 1, "skipped": 0}
    assert Contact.objects.get(pk=quiet.pk).stage == JourneyStage.DORMANT
    assert Contact.objects.get(pk=busy.pk).stage == JourneyStage.LEAD
    row = JourneyTransition.objects.filter(contact=quiet).order_by("-id").first()
    assert (row.from_stage, row.to_stage, row.cause) == (
        "lead",
        "dormant",
        "no activity for 365 days",
    )


@pytest.mark.broker
def test_it_starts_beat_against_redis_with_the_schedule_in_code(tmp_path):
    if not _redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: no beat to start")
    log_path = tmp_path / "beat.log"
    env = {**os.environ, "CELERY_BROKER_URL": REDIS_URL}
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "frontoffice",
        "beat",
        "--loglevel=DEBUG",
        "--schedule",
        str(tmp_path / "beat-schedule"),
        "--pidfile=",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while (
                time.monotonic() < deadline and "accounts-mark-dormant" not in log_path.read_text()
            ):
                assert process.poll() is None, log_path.read_text()
                time.sleep(0.5)
        finally:
            process.terminate()
            process.wait(timeout=20)

    output = log_path.read_text()
    assert "beat: Starting..." in output
    assert "accounts-mark-dormant-contacts" in output
