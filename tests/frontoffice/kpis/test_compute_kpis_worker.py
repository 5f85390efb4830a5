"""compute_kpis through a real Redis broker and real worker processes (PostgreSQL only): a worker
killed (SIGKILL) in the middle of a computation leaves no partial snapshot, and the task, never
acknowledged (acks_late), is delivered again and completes the run once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

from frontoffice.kpis import snapshots
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import KpiRun, KpiSnapshot
from frontoffice.tasks import TEST_DELAY_VARIABLE
from tests.frontoffice.test_celery import REDIS_URL, ROOT, _redis_reachable, _worker_database_url

pytestmark = [pytest.mark.broker, pytest.mark.postgres]

# A worker started with the broker options the test needs: its own key prefix in Redis (the
# unacknowledged-message index is shared by every queue, and others test on the same Redis) and,
# for the second worker, a short visibility timeout so it restores the dead worker's message
# now rather than after the default hour.
WORKER_SCRIPT = """
import sys
from frontoffice.celery import app
app.conf.broker_transport_options = {
    "global_keyprefix": sys.argv[1],
    "visibility_timeout": int(sys.argv[2]),
}
app.worker_main(["worker", "--pool=solo", "--queues", sys.argv[3], "--without-gossip",
                 "--without-mingle", "--without-heartbeat", "--loglevel=INFO"])
"""


def _start_worker(log: Path, *, prefix: str, queue: str, visibility: int, env: dict):
    command = [sys.executable, "-c", WORKER_SCRIPT, prefix, str(visibility), queue]
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(condition, *, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()}")


def _forget(prefix: str) -> None:
    """Remove the test's keys (queue bindings, unacknowledged index) from the shared Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def _run_status(run_id: int) -> str:
    return KpiRun.objects.values_list("status", flat=True).get(pk=run_id)


def test_a_worker_killed_mid_computation_leaves_no_snapshot_and_the_task_completes_once(
    transactional_db, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("the real-worker test needs PostgreSQL (a SQLite test DB lives in memory)")
    if not _redis_reachable():
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: no real worker to run")
    prefix, queue = f"kpisnap-test-{uuid.uuid4().hex[:12]}:", f"kpis-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": _worker_database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
    }
    env.pop(TEST_DELAY_VARIABLE, None)
    run = snapshots.kpi_run_create(period=Period.parse("2026-11"), scope=Scope())
    sender = Celery("sender", broker=REDIS_URL, set_as_current=False)
    sender.conf.task_serializer = "json"
    sender.conf.broker_transport_options = {"global_keyprefix": prefix}

    # The first worker sleeps 30 s after each family: long enough to be killed in the middle.
    slow_log = tmp_path / "slow-worker.log"
    slow = _start_worker(
        slow_log,
        prefix=prefix,
        queue=queue,
        visibility=3600,
        env={**env, TEST_DELAY_VARIABLE: "30"},
    )
    try:
        sender.send_task(
            "frontoffice.tasks.compute_kpis",
            kwargs={"period": "2026-11", "scope_kind": "all", "scope_key": "", "run_id": run.pk},
            queue=queue,
        )
        _wait_for(
            lambda: _run_status(run.pk) == "running", seconds=90, what="the run", log=slow_log
        )
        time.sleep(1)
        slow.send_signal(signal.SIGKILL)
        slow.wait(timeout=20)
    finally:
        _stop(slow)

    assert _run_status(run.pk) == "running"
    assert not KpiSnapshot.objects.exists()
    assert "succeeded" not in slow_log.read_text()

    # A new worker finds the message never acknowledged and runs it again, at full speed.
    log = tmp_path / "worker.log"
    worker = _start_worker(log, prefix=prefix, queue=queue, visibility=1, env=env)
    try:
        _wait_for(
            lambda: _run_status(run.pk) == "done", seconds=120, what="the redelivery", log=log
        )
        time.sleep(2)  # a second delivery, if there were one, would show by now
    finally:
        _stop(worker)
        sender.close()
        _forget(prefix)

    snapshot = KpiSnapshot.objects.get()
    run.refresh_from_db()
    assert run.snapshot == snapshot
    assert (snapshot.period_kind, snapshot.scope_kind) == ("month", "all")
    assert set(snapshot.values) == {"journey", "touchpoints", "pipeline", "inquiries", "bottleneck"}
    assert log.read_text().count("frontoffice.tasks.compute_kpis[") == 2  # received, succeeded
    assert "succeeded" in log.read_text()
