"""Task faults: a broker that is down, a worker killed in the middle of a task, beat tasks that
run twice at once.

* Broker down (any database, no services): the Celery app is pointed at a local port nobody
  listens on, so publishing fails for real. The requests that schedule work still succeed, the
  work waits in the outbox and is done once the broker is back; the user is told.
* Killed worker (``broker`` + ``postgres``): a real ``celery -A frontoffice worker`` (prefork,
  one child) against Redis DB ``FRONTOFFICE_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/6``,
  flushed by the test: give it a database of its own) and the PostgreSQL test database. Its pool
  child is SIGKILLed in the middle of ``compute_kpis``: nothing partial is stored, the message
  (acks late, rejected on worker loss) comes back and the run completes once.
* Beat twice (``postgres``): every beat task that notifies, escalates or expires, each run by
  two threads at once, sends everything once.
"""

from __future__ import annotations

import ast
import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlparse
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import roles
from accounts.models import Contact, Notification, Team
from frontoffice import background
from frontoffice import tasks as frontoffice_tasks
from frontoffice.kpis import snapshots
from frontoffice.kpis.periods import Period, Scope
from frontoffice.models import KpiRun, KpiSnapshot, OutboxTask
from inquiries import services as inquiry_services
from inquiries import tasks as inquiry_tasks
from inquiries.models import (
    Escalation,
    FaqCandidate,
    FaqCandidateMember,
    Inquiry,
    Message,
    SlaBreach,
    SlaPolicy,
)
from pipeline import tasks as pipeline_tasks
from pipeline.models import (
    Campaign,
    DealStall,
    LeadForm,
    LeadScore,
    QuoteStatusChange,
    ScoringRule,
)
from pipeline.quotes import quote_create, quote_send
from tests.broker import broker_at, unreachable_broker
from tests.concurrency import POSTGRES_ONLY, all_at_once
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ContactFactory,
    DealFactory,
    ProductFactory,
    TeamFactory,
    user_with_role,
)
from tests.inquiries import faq_data

ROOT = Path(__file__).resolve().parents[2]
TOKYO = ZoneInfo("Asia/Tokyo")
REDIS_URL = os.environ.get("FRONTOFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/6")


# --- Broker down --------------------------------------------------------------------------------


@pytest.fixture
def email_inquiry(role_groups):
    agent = user_with_role(roles.SUPPORT_AGENT, username="agent")
    team = TeamFactory(name="Support", kind=Team.Kind.SUPPORT)
    team.members.add(agent)
    inquiry = inquiry_services.inquiry_open(
        channel="email",
        subject="Invoice address",
        body="Please change the address on our invoice.",
        customer=inquiry_services.Customer(email="hanako@kaisha.co.jp", name="Hanako"),
        team=team,
    )
    inquiry_services.inquiry_assign(inquiry=inquiry, assignee=agent, actor=agent)
    return agent, inquiry


@pytest.mark.django_db(transaction=True)
def test_a_reply_succeeds_with_the_broker_down_and_its_email_goes_when_it_is_back(email_inquiry):
    agent, inquiry = email_inquiry
    client = APIClient()
    client.force_authenticate(agent)

    with unreachable_broker():
        started = time.monotonic()
        response = client.post(
            f"/api/v1/inquiries/{inquiry.pk}/reply/", {"body": "Done."}, format="json"
        )
        took = time.monotonic() - started

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["queued"], body["detail"], body["delivery"]) == (
        False,
        background.KEPT_DETAIL,
        "queued",
    )
    assert took < 3, f"the request waited {took:.1f} s for the broker"
    message = Message.objects.get(pk=body["id"])
    assert (message.body, message.delivery) == ("Done.", "queued")
    # The email, and the rescoring of the customer whose timeline got the reply.
    kept = list(OutboxTask.objects.values_list("task", "args", "attempts"))
    assert kept == [
        ("pipeline.tasks.rescore_contacts", [[inquiry.contact_id]], 1),
        ("inquiries.tasks.send_email_reply", [message.pk], 1),
    ]
    assert all("Connection refused" in row.last_error for row in OutboxTask.objects.all())
    assert mail.outbox == []

    # The broker is back (here: tasks run in-process) and beat sends what was kept.
    result = frontoffice_tasks.send_kept_tasks.apply().get()

    assert result == {"sent": 2, "kept": 0}
    assert [m.to for m in mail.outbox] == [["hanako@kaisha.co.jp"]]
    assert Message.objects.get(pk=message.pk).delivery == "sent"


@pytest.mark.django_db(transaction=True)
def test_a_reply_says_it_was_queued_when_the_broker_takes_it(email_inquiry):
    agent, inquiry = email_inquiry
    client = APIClient()
    client.force_authenticate(agent)

    response = client.post(f"/api/v1/inquiries/{inquiry.pk}/reply/", {"body": "Done."})

    assert response.status_code == 201
    assert (response.json()["queued"], response.json()["detail"]) == (True, "")
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_lead_is_captured_with_the_broker_down_and_scored_when_it_is_back():
    campaign = CampaignFactory(name="Japan IT Week", kind=Campaign.Kind.EXHIBITION)
    lead_form = LeadForm.objects.create(name="Booth", campaign=campaign)
    ScoringRule.objects.create(
        name="Forms", kind="behaviour", touchpoint_kind="form", points=30, half_life_days=0
    )

    with unreachable_broker():
        response = APIClient().post(
            "/api/v1/leads/capture/",
            {"form_key": lead_form.key, "email": "taro@acme.co.jp", "name": "Taro"},
            format="json",
        )

    assert response.status_code == 201, response.json()
    contact = Contact.objects.get(email="taro@acme.co.jp")
    kept = OutboxTask.objects.get()
    assert (kept.task, kept.args) == ("pipeline.tasks.rescore_contacts", [[contact.pk]])
    assert not LeadScore.objects.exists()

    assert background.send_kept_tasks() == {"sent": 1, "kept": 0}

    assert LeadScore.objects.get(contact=contact).score == Decimal("30.00")


@pytest.mark.django_db(transaction=True)
def test_a_kpi_run_waits_for_the_broker_and_is_computed_when_it_is_back(role_groups):
    client = APIClient()
    client.force_authenticate(user_with_role(roles.MANAGER, username="manager"))

    with unreachable_broker():
        response = client.post("/api/v1/kpis/compute/", {"period": "2026-10"}, format="json")

    run = KpiRun.objects.get()
    assert response.status_code == 202
    assert response.json() == {
        "run": run.pk,
        "status": "queued",
        "message": snapshots.BROKER_DOWN_MESSAGE,
    }
    assert OutboxTask.objects.get().kwargs == {
        "period": "2026-10",
        "scope_kind": "all",
        "scope_key": "",
        "run_id": run.pk,
    }

    background.send_kept_tasks()

    run.refresh_from_db()
    assert (run.status, run.error, run.snapshot) == ("done", "", KpiSnapshot.objects.get())
    assert not OutboxTask.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_scoring_rule_is_saved_with_the_broker_down_and_everyone_rescored_later(role_groups):
    client = APIClient()
    client.force_authenticate(user_with_role(roles.ADMIN, username="admin"))

    with unreachable_broker():
        response = client.post(
            "/api/v1/scoring-rules/",
            {"name": "Visits", "kind": "behaviour", "touchpoint_kind": "web_visit", "points": 5},
            format="json",
        )

    assert response.status_code == 201, response.json()
    assert list(OutboxTask.objects.values_list("task", "args", "kwargs")) == [
        ("pipeline.tasks.rescore_all", [], {})
    ]


@pytest.mark.django_db(transaction=True)
def test_kept_tasks_stay_kept_while_the_broker_is_still_down():
    for pk in (1, 2, 3):
        OutboxTask.objects.create(task="inquiries.tasks.send_email_reply", args=[pk])

    with unreachable_broker():
        started = time.monotonic()
        result = background.send_kept_tasks()
        took = time.monotonic() - started

    assert result == {"sent": 0, "kept": 3}
    assert took < 3  # gave up at the first refusal, not once per task
    rows = list(OutboxTask.objects.order_by("id").values_list("args", "attempts"))
    assert rows == [([1], 2), ([2], 2), ([3], 2)]
    assert all("Connection refused" in row.last_error for row in OutboxTask.objects.all())


def test_no_app_module_sends_a_task_but_through_the_outbox_helper():
    """Every call site schedules through frontoffice.background (after commit, outbox when the
    broker is down): no `.delay(`, `.apply_async(` or `.send_task(` anywhere else."""
    offenders = []
    for app in ("accounts", "pipeline", "inquiries", "frontoffice"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or path == ROOT / "frontoffice" / "background.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Attribute) and node.attr in {
                    "delay",
                    "apply_async",
                    "send_task",
                }:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert offenders == []


# --- A worker killed in the middle of a task ----------------------------------------------------


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else ""
    credentials = f"{quote(db['USER'])}{password}@" if db["USER"] else ""
    return f"postgres://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(condition, *, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()}")


def _pool_children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


class Worker:
    def __init__(self, process: subprocess.Popen, log: Path) -> None:
        self.process, self.log = process, log

    def child(self) -> int | None:
        """The pool's one child process (None while it is being replaced)."""
        children = _pool_children(self.process.pid)
        return children[0] if len(children) == 1 else None


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real prefork worker (one child) on the default queue of the test's own Redis database,
    against the PostgreSQL test database; `compute_kpis` sleeps 1 s after each KPI family so a
    test can kill it in the middle."""
    if connection.vendor != "postgresql":
        pytest.skip("the real-worker tests need PostgreSQL (a SQLite test DB lives in memory)")
    if not _reachable(REDIS_URL):
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: no real worker to run")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()  # the test's own database: leftovers of an earlier run would be consumed
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        frontoffice_tasks.TEST_DELAY_VARIABLE: "1",
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "frontoffice",
        "worker",
        "--pool=prefork",
        "--concurrency=1",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "--loglevel=INFO",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(lambda: " ready." in log.read_text(), seconds=60, what="the worker", log=log)
        yield Worker(process, log)
    finally:
        process.send_signal(signal.SIGQUIT)  # cold shutdown: nothing is running by now
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        client.flushdb()
        client.close()


def _status(run: KpiRun) -> str:
    return KpiRun.objects.values_list("status", flat=True).get(pk=run.pk)


def _lead_count(snapshot: KpiSnapshot) -> int:
    [lead] = [row for row in snapshot.values["journey"]["stages"] if row["stage"] == "lead"]
    return lead["contacts"]


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_child_killed_mid_computation_leaves_the_old_snapshot_then_completes_once(
    worker,
):
    period, scope = Period.month_of(timezone.localdate()), Scope()
    ContactFactory(stage="lead")
    before = snapshots.snapshot_compute(period=period, scope=scope)  # in-process
    assert _lead_count(before) == 1
    ContactFactory(stage="lead")
    ContactFactory(stage="lead")
    logged = len(worker.log.read_text())

    with broker_at(REDIS_URL):
        run = snapshots.kpi_run_queue(period=period, scope=scope)
    _wait_for(lambda: _status(run) == "running", seconds=60, what="the run", log=worker.log)
    time.sleep(1.5)  # past the first family, before the last (1 s each)
    killed = worker.child()
    assert killed is not None
    os.kill(killed, signal.SIGKILL)

    # Killed: the stored snapshot is the old one, untouched, and the run is not done.
    assert list(KpiSnapshot.objects.values_list("pk", "values")) == [(before.pk, before.values)]
    assert _status(run) == "running"

    # The message was never acknowledged: rejected on the worker's loss, it comes back to the
    # worker's new child and the run completes, once.
    _wait_for(lambda: _status(run) == "done", seconds=60, what="the redelivery", log=worker.log)
    time.sleep(1)  # a second completion, if any, would show by now
    after = KpiSnapshot.objects.get()
    run.refresh_from_db()
    assert (after.pk, run.snapshot_id, run.error) == (before.pk, before.pk, "")
    assert _lead_count(after) == 3
    assert after.computed_at > before.computed_at
    assert worker.child() not in (None, killed)
    log = worker.log.read_text()[logged:]
    assert "WorkerLostError" in log
    assert len(re.findall(r"Task frontoffice\.tasks\.compute_kpis\[\S+\] received", log)) == 2
    assert len(re.findall(r"Task frontoffice\.tasks\.compute_kpis\[\S+\] succeeded", log)) == 1


def _faq_state() -> tuple[list, list]:
    candidates = list(
        FaqCandidate.objects.order_by("pk").values_list("pk", "question", "volume", "updated_at")
    )
    members = sorted(FaqCandidateMember.objects.values_list("candidate_id", "inquiry_id"))
    return candidates, members


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps serving the first snapshot of the statistics.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_child_killed_mid_write_of_faq_candidates_leaves_nothing_partial(worker):
    for question in faq_data.PASSWORD + faq_data.DELIVERY:
        faq_data.ask(question)
    period = {"since": "2026-03-01", "until": "2026-03-03"}
    inquiry_tasks.build_faq_candidates.apply(kwargs=period)  # in-process: two candidates
    for question in faq_data.REFUND + faq_data.PASSWORD[:1]:
        faq_data.ask(question)
    before = _faq_state()
    assert [row[2] for row in before[0]] == [4, 4]
    logged = len(worker.log.read_text())

    # The test holds a candidate row: the worker's write transaction deletes the old members,
    # then waits for that row. Killed there, half-way through its writes.
    with transaction.atomic():
        FaqCandidate.objects.select_for_update().get(pk=before[0][0][0])
        with broker_at(REDIS_URL):
            background.publish(inquiry_tasks.build_faq_candidates, kwargs=period)
        _wait_for(_waiting_on_a_lock, seconds=60, what="the write to wait", log=worker.log)
        killed = worker.child()
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        _wait_for(
            lambda: worker.child() not in (None, killed), seconds=30, what="a child", log=worker.log
        )

    # Nothing of the killed run is kept: the old members and candidates, as they were.
    assert _faq_state() == before

    # Requeued, the task runs again in the new child and completes, once.
    _wait_for(
        lambda: (
            FaqCandidate.objects.count() == 3 and "succeeded" in worker.log.read_text()[logged:]
        ),
        seconds=60,
        what="the redelivery",
        log=worker.log,
    )
    time.sleep(1)  # a second run, if any, would show by now
    candidates, members = _faq_state()
    assert [(pk, volume) for pk, _question, volume, _at in candidates] == [
        (before[0][0][0], 5),
        (before[0][1][0], 4),
        (before[0][1][0] + 1, 4),
    ]
    assert len(members) == len({inquiry for _candidate, inquiry in members}) == 13
    log = worker.log.read_text()[logged:]
    assert "WorkerLostError" in log
    assert len(re.findall(r"Task inquiries\.tasks\.build_faq_candidates\[\S+\] received", log)) == 2
    assert (
        len(re.findall(r"Task inquiries\.tasks\.build_faq_candidates\[\S+\] succeeded", log)) == 1
    )


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_work_kept_while_the_broker_was_down_is_done_by_the_worker_once_it_is_back(worker):
    period = Period.month_of(timezone.localdate())

    with unreachable_broker():
        run = snapshots.kpi_run_queue(period=period, scope=Scope())
    assert (_status(run), OutboxTask.objects.count()) == ("queued", 1)

    # Beat's every-minute task, sent to the real broker and run by the real worker, re-sends it.
    with broker_at(REDIS_URL):
        assert background.publish(frontoffice_tasks.send_kept_tasks) is True

    _wait_for(lambda: _status(run) == "done", seconds=60, what="the kept run", log=worker.log)
    assert not OutboxTask.objects.exists()
    run.refresh_from_db()
    assert (run.error, run.snapshot) == ("", KpiSnapshot.objects.get())


# --- Beat tasks run twice at once ---------------------------------------------------------------

DAY = dt.date(2026, 3, 4)  # a Wednesday


def _tokyo(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOKYO)


@pytest.mark.postgres
@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_every_beat_task_run_twice_at_once_notifies_escalates_and_expires_once(role_groups):
    # Sales: Aiko reports to Boss and has not sent today's report; one of her deals sits idle.
    boss = user_with_role(roles.MANAGER, username="boss")
    aiko = user_with_role(roles.SALES_REP, username="aiko")
    sales = TeamFactory(name="Tokyo sales", kind=Team.Kind.SALES, supervisor=boss)
    sales.members.add(aiko)
    idle_since = _tokyo(10, day=DAY - dt.timedelta(days=15))
    idle = DealFactory(
        owner=aiko,
        team=sales,
        stage_changed_at=idle_since,
        last_activity_at=idle_since,
        created_at=idle_since,
    )
    # A quote sent last month, valid until 1 March.
    offer_deal = DealFactory(owner=aiko, team=sales, account=AccountFactory(), stage="opportunity")
    offer = quote_create(
        deal=offer_deal,
        lines=[{"product": ProductFactory(unit_price=Decimal(1000)), "quantity": Decimal(1)}],
        valid_until=dt.date(2026, 3, 1),
        at=_tokyo(9, day=dt.date(2026, 2, 20)),
    )
    quote_send(quote=offer, at=_tokyo(9, day=dt.date(2026, 2, 20)))
    # Support: an urgent email inquiry unanswered past its 30 minutes.
    lead = user_with_role(roles.MANAGER, username="lead")
    support = TeamFactory(name="Support", kind=Team.Kind.SUPPORT, supervisor=lead)
    SlaPolicy.objects.create(
        name="Urgent", priority="urgent", first_response_minutes=30, resolution_minutes=240
    )
    inquiry = inquiry_services.inquiry_open(
        channel="email",
        subject="Site down",
        body="Nothing loads.",
        customer=inquiry_services.Customer(contact=ContactFactory()),
        priority="urgent",
        team=support,
        at=_tokyo(10),
    )
    mail.outbox.clear()
    runs = [
        (pipeline_tasks.remind_daily_reports, _tokyo(18, 30)),
        (pipeline_tasks.send_daily_summaries, _tokyo(19, 30)),
        (pipeline_tasks.detect_stalled_deals, _tokyo(10)),
        (pipeline_tasks.expire_quotes, _tokyo(0, 10)),
        (inquiry_tasks.check_sla_breaches, _tokyo(10, 31)),
    ]

    # Each task twice, all ten at the same moment (two beat processes, say).
    results = all_at_once(
        lambda i, _none: runs[i // 2][0].apply(kwargs={"now": runs[i // 2][1].isoformat()}).result,
        threads=2 * len(runs),
    )

    def total(task, key: str) -> int:
        index = [run[0] for run in runs].index(task)
        return results[2 * index][key] + results[2 * index + 1][key]

    assert total(pipeline_tasks.remind_daily_reports, "reminded") == 1
    assert total(pipeline_tasks.send_daily_summaries, "sent") == 1
    assert total(pipeline_tasks.detect_stalled_deals, "flagged") == 1
    assert total(pipeline_tasks.expire_quotes, "expired") == 1
    assert total(inquiry_tasks.check_sla_breaches, "escalated") == 1
    assert sorted(Notification.objects.values_list("recipient__username", "kind")) == [
        ("aiko", "daily_report_reminder"),
        ("aiko", "deal_stalled"),
        ("boss", "daily_report_summary"),
        ("boss", "deal_stalled"),
        ("lead", "sla_breach"),
    ]
    assert sorted((m.to[0], m.subject) for m in mail.outbox) == sorted(
        (n.recipient.email, n.subject) for n in Notification.objects.select_related("recipient")
    )
    assert DealStall.objects.filter(deal=idle).count() == 1
    assert list(
        QuoteStatusChange.objects.filter(quote=offer, to_status="expired").values_list(
            "from_status", flat=True
        )
    ) == ["sent"]
    assert SlaBreach.objects.filter(inquiry=inquiry).count() == 1
    assert Escalation.objects.filter(inquiry=inquiry).count() == 1
    assert Inquiry.objects.get(pk=inquiry.pk).status == "escalated"
