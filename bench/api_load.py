"""Load benchmark of the API (issue 9): gunicorn with the production settings on PostgreSQL with
the KPI benchmark data, wrk on loopback with a weighted mix; prints requests/s, p50 and p99.

    .venv/bin/python bench/api_load.py --database-url postgres://postgres@127.0.0.1:5432/fo_load
    ... --clients 16 64 --duration 30            # the default
    ... --server gthread:2:4 --server sync:4     # compare gunicorn configurations
    ... --scale 0.02                             # size of the data generated into an empty database
    ... --profile /tmp/spy                       # py-spy the workers (speedscope files)

The database is a scratch copy (never point it at real data): when it has no contacts, the data
is generated with bench/kpis.py's generator (1,000,000 contacts, deals and inquiries at scale
1.0; about 10 minutes). The script then adds what a load test needs, idempotently: the 60 reps
of the data get the Sales rep role, each of the 6 teams a supervisor with the Manager role and
two members with the Support agent role, and every one of them an API token.

The mix, by weight, each request as a user of a realistic role (a rep sees their own deals, a
manager the team's, an agent the team's inquiry queue):

- 35 GET /deals/ with filters (reps: own deals by stage, amount, stall, creation date;
  managers: the team's by stage and amount, by owner, a stage by last move);
- 20 GET /contacts/{id}/timeline/;
- 25 GET /inquiries/ (agents: the queue, open ones, mine, SLA breached; reps: their customers';
  managers: a team's open ones);
- 10 POST /inquiries/ (agents log phone calls and emails, reps pass on a customer's question);
- 10 POST /deals/{id}/move/ (reps move their open deals one stage forward, each deal once).

Production settings: DJANGO_DEBUG=false, a random DJANGO_SECRET_KEY, PostgreSQL with persistent
connections (CONN_MAX_AGE), gunicorn with frontoffice/gunicorn.conf.py. The HTTPS redirect stays
on, as in production: wrk sends `X-Forwarded-Proto: https` like the TLS proxy in front of
gunicorn does (SECURE_PROXY_SSL_HEADER). Celery runs tasks in-process (eager) unless
--broker-url is given, so the after-commit work of a deal move (rescoring the contact) is in the
measured time. wrk runs on the same 2 cores as gunicorn and PostgreSQL.

Besides requests/s and latency (which depend on whatever else the machine runs), it reports the
CPU a request costs gunicorn, PostgreSQL's backends and wrk (from /proc; PostgreSQL on this
machine), and the requests/s the machine's cores would serve at that cost when idle.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch import ensure_postgres_database  # noqa: E402

LUA_SCRIPT = ROOT / "bench" / "load" / "mix.lua"
WEIGHTS = {
    "deal_list": 35,
    "contact_timeline": 20,
    "inquiry_list": 25,
    "create_inquiry": 10,
    "move_deal": 10,
}
# Forward one stage; a deal at quote is won (its order lands on the timeline).
NEXT_STAGE = {"list": "proposal", "proposal": "opportunity", "opportunity": "quote", "quote": "won"}
AGENTS_PER_TEAM = 2
VARIANTS = 600  # distinct requests per reusable kind
TARGET_RPS, TARGET_P99_MS = 300, 250


@dataclass(frozen=True)
class ServerConfig:
    """A gunicorn configuration: `gthread:WORKERS:THREADS`, `sync:WORKERS` or `conf` (the values
    of frontoffice/gunicorn.conf.py as shipped)."""

    spec: str

    def arguments(self) -> list[str]:
        if self.spec == "conf":
            return []
        parts = self.spec.split(":")
        if parts[0] == "gthread" and len(parts) == 3:
            return ["--worker-class", "gthread", "--workers", parts[1], "--threads", parts[2]]
        if parts[0] == "sync" and len(parts) == 2:
            return ["--worker-class", "sync", "--workers", parts[1]]
        raise argparse.ArgumentTypeError(
            f"{self.spec!r}: give gthread:WORKERS:THREADS, sync:WORKERS or conf"
        )


def _server_config(text: str) -> ServerConfig:
    config = ServerConfig(text)
    config.arguments()  # validates
    return config


# --- The database: data, users, tokens ----------------------------------------------------------


def _prepare_database(url: str, scale: float, seed: int) -> None:
    """Migrate, generate the KPI benchmark data when the database has none, and ANALYZE."""
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Contact

    call_command("migrate", verbosity=0)
    if Contact.objects.exists():
        return
    from bench.kpis import _build

    print(f"empty database: generating the KPI benchmark data at scale {scale}", flush=True)
    started = time.perf_counter()
    counts = _build(scale, random.Random(seed))
    print(
        f"  built with COPY in {time.perf_counter() - started:.1f} s: "
        + ", ".join(f"{n:,} {name}" for name, n in counts.items()),
        flush=True,
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


@dataclass
class Staff:
    reps: list[int]
    managers: dict[int, int]  # team id -> manager
    agents: dict[int, list[int]]  # team id -> agents
    members: dict[int, list[int]]  # team id -> its reps
    tokens: dict[int, str]


def _prepare_staff() -> Staff:
    """Roles, supervisors, support agents and API tokens for the load (idempotent)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from accounts import roles
    from accounts.models import Team

    User = get_user_model()
    groups = {name: Group.objects.get(name=name) for name in roles.ROLES}
    with transaction.atomic():
        reps = list(
            User.objects.filter(username__regex=r"^rep[0-9]+$")
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not reps:
            sys.exit("No rep users (rep1, rep2, ...): is this the KPI benchmark data?")
        groups[roles.SALES_REP].user_set.add(*reps)
        managers: dict[int, int] = {}
        agents: dict[int, list[int]] = {}
        members: dict[int, list[int]] = {}
        for team in Team.objects.order_by("id"):
            manager, _ = User.objects.get_or_create(
                username=f"load-manager-{team.pk}",
                defaults={"first_name": "Manager", "last_name": team.name, "is_staff": True},
            )
            manager.groups.add(groups[roles.MANAGER])
            if team.supervisor_id is None:
                team.supervisor = manager
                team.save(update_fields=["supervisor"])
            managers[team.pk] = team.supervisor_id
            agents[team.pk] = []
            for number in range(1, AGENTS_PER_TEAM + 1):
                agent, _ = User.objects.get_or_create(
                    username=f"load-agent-{team.pk}-{number}",
                    defaults={"first_name": "Agent", "last_name": f"{team.pk}-{number}"},
                )
                agent.groups.add(groups[roles.SUPPORT_AGENT])
                team.members.add(agent)
                agents[team.pk].append(agent.pk)
            members[team.pk] = [
                pk for pk in team.members.values_list("pk", flat=True) if pk in set(reps)
            ]
        users = [*reps, *managers.values(), *(a for ids in agents.values() for a in ids)]
        tokens = {}
        for user in User.objects.filter(pk__in=users):
            tokens[user.pk] = Token.objects.get_or_create(user=user)[0].key
    return Staff(reps, managers, agents, members, tokens)


# --- The requests -------------------------------------------------------------------------------


def _headers(token: str, *, body: bool = False) -> dict[str, str]:
    headers = {
        "Authorization": f"Token {token}",
        "Accept": "application/json",
        # What the TLS-terminating proxy tells gunicorn (SECURE_PROXY_SSL_HEADER).
        "X-Forwarded-Proto": "https",
    }
    if body:
        headers["Content-Type"] = "application/json"
    return headers


def _get(path: str, token: str, query: dict | list | None = None) -> tuple:
    if query:
        path = f"{path}?{urlencode(query)}"
    return ("GET", path, _headers(token), None)


def _post(path: str, token: str, body: dict) -> tuple:
    return ("POST", path, _headers(token, body=True), json.dumps(body, ensure_ascii=True))


def _deal_lists(staff: Staff, rng: random.Random) -> list[tuple]:
    requests = []
    for _ in range(VARIANTS):
        if rng.random() < 0.7:  # a rep's own deals
            token = staff.tokens[rng.choice(staff.reps)]
            query = rng.choice(
                [
                    [],
                    [("stage", "proposal"), ("stage", "opportunity")],
                    [("amount_min", "1000000")],
                    [("stalled", "false"), ("stage", "list")],
                    [("created_at_after", "2026-09-01")],
                ]
            )
        else:  # a manager's team
            team = rng.choice(list(staff.managers))
            token = staff.tokens[staff.managers[team]]
            query = rng.choice(
                [
                    [],
                    [("stage", "quote"), ("amount_min", "1000000")],
                    [("owner", str(rng.choice(staff.members[team] or staff.reps)))],
                    [("stage", "opportunity"), ("ordering", "-stage_changed_at")],
                ]
            )
        requests.append(_get("/api/v1/deals/", token, query))
    return requests


def _timelines(staff: Staff, rng: random.Random, max_contact: int) -> list[tuple]:
    readers = [*staff.reps, *(a for ids in staff.agents.values() for a in ids)]
    return [
        _get(
            f"/api/v1/contacts/{rng.randint(1, max_contact)}/timeline/",
            staff.tokens[rng.choice(readers)],
        )
        for _ in range(VARIANTS)
    ]


def _inquiry_lists(staff: Staff, rng: random.Random) -> list[tuple]:
    requests = []
    for _ in range(VARIANTS):
        roll = rng.random()
        team = rng.choice(list(staff.managers))
        if roll < 0.7:  # an agent's queue
            token = staff.tokens[rng.choice(staff.agents[team])]
            query = rng.choice(
                [
                    [],
                    [("status", "new"), ("status", "open")],
                    [("assignee", "me")],
                    [("sla", "breached")],
                    [("channel", "phone"), ("status", "open")],
                ]
            )
        elif roll < 0.85:  # a rep: their customers' inquiries
            token = staff.tokens[rng.choice(staff.reps)]
            query = rng.choice([[], [("status", "open")]])
        else:  # a manager: a team's open inquiries
            token = staff.tokens[staff.managers[team]]
            query = rng.choice([[("team", str(team)), ("status", "open")], [("sla", "breached")]])
        requests.append(_get("/api/v1/inquiries/", token, query))
    return requests


def _inquiry_creations(staff: Staff, rng: random.Random, max_contact: int) -> list[tuple]:
    from accounts.models import Contact

    # Reps pass on questions of their own customers: contacts they own.
    sample = rng.sample(range(1, max_contact + 1), min(max_contact, VARIANTS * 4))
    owned = list(
        Contact.objects.filter(pk__in=sample, owner_id__in=staff.reps).values_list("pk", "owner_id")
    )
    agents = [agent for ids in staff.agents.values() for agent in ids]
    requests = []
    for number in range(VARIANTS):
        if rng.random() < 0.8 or not owned:  # an agent takes a call or types in an email
            token = staff.tokens[rng.choice(agents)]
            body = {
                "contact": rng.randint(1, max_contact),
                "subject": f"Delivery date of order {number}",
                "body": f"The customer asks when order {number} will be delivered.",
                "category": rng.choice(["delivery", "billing", "product"]),
            }
            if rng.random() < 0.6:
                body["channel"] = "phone"
                body["call"] = {
                    "direction": "inbound",
                    "duration_seconds": rng.randint(30, 900),
                    "outcome": "answered",
                }
            else:
                body["channel"] = "email"
        else:
            contact, rep = rng.choice(owned)
            token = staff.tokens[rep]
            body = {
                "channel": "sales_rep",
                "contact": contact,
                "body": f"My customer asks for the invoice of order {number} again.",
            }
        requests.append(_post("/api/v1/inquiries/", token, body))
    return requests


def _deal_moves(
    staff: Staff, rng: random.Random, count: int, used: set[int] | None = None
) -> list[tuple]:
    """`count` moves of distinct open deals of the reps, each one stage forward from where the
    deal is now, by its owner. Deals in `used` (earlier runs: a move still in flight when wrk
    stopped could commit after this read) are left out, and the chosen ones added to it."""
    used = set() if used is None else used
    from django.db.models import Max

    from pipeline.models import Deal

    max_id = Deal.objects.aggregate(top=Max("id"))["top"] or 0
    reps = set(staff.reps)
    found: dict[int, tuple] = {}
    for _attempt in range(20):
        wanted = min(max_id, (count - len(found)) * 3)
        if wanted <= 0:
            break
        ids = rng.sample(range(1, max_id + 1), wanted)
        rows = Deal.objects.filter(pk__in=ids, stage__in=list(NEXT_STAGE)).values_list(
            "pk", "stage", "owner_id"
        )
        for pk, stage, owner in rows:
            if owner in reps and pk not in used and len(found) < count:
                found[pk] = (stage, owner)
        if len(found) >= count:
            break
    used.update(found)
    return [
        _post(
            f"/api/v1/deals/{pk}/move/",
            staff.tokens[owner],
            {"to_stage": NEXT_STAGE[stage], "expected_stage": stage},
        )
        for pk, (stage, owner) in found.items()
    ]


def _lua_string(text: str) -> str:
    # ASCII only (json.dumps escapes the rest as \\u, which Lua 5.1 does not read).
    if not text.isascii():
        raise ValueError(f"non-ASCII request text: {text!r}")
    return json.dumps(text)


def _lua_request(request: tuple) -> str:
    method, path, headers, body = request
    header_items = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
    body_text = "nil" if body is None else _lua_string(body)
    return f"{{{_lua_string(method)}, {_lua_string(path)}, {{{header_items}}}, {body_text}}}"


def _write_requests(path: Path, kinds: dict[str, list[tuple]], seed: int) -> None:
    lines = [f"return {{ seed = {seed}, kinds = {{"]
    for name, requests in kinds.items():
        once = "true" if name == "move_deal" else "false"
        lines.append(f"  {{ name = {_lua_string(name)}, weight = {WEIGHTS[name]}, once = {once},")
        lines.append("    requests = {")
        lines.extend(f"      {_lua_request(request)}," for request in requests)
        lines.append("  } },")
    lines.append("} }")
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


# --- gunicorn and wrk ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_environment(url: str, broker_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CELERY_", "GUNICORN_", "WEB_CONCURRENCY"))
    }
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="frontoffice.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_LOG_LEVEL="WARNING",
        # Connections live through the whole run (production: 60 s), so CpuMeter can read each
        # PostgreSQL backend's CPU; reconnecting once a minute costs nothing measurable.
        DATABASE_CONN_MAX_AGE="3600",
    )
    if broker_url:
        env["CELERY_BROKER_URL"] = broker_url
        if broker_url.startswith("memory://"):
            # kombu's in-memory transport: tasks wait in each web process, never run.
            env["CELERY_RESULT_BACKEND"] = "cache+memory://"
    return env


class Server:
    """gunicorn as a child process, stopped (SIGTERM to its master) on exit."""

    def __init__(self, config: ServerConfig, url: str, broker_url: str, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "frontoffice.wsgi",
            "--config",
            str(ROOT / "frontoffice" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{self.port}",
            *config.arguments(),
        ]
        self.output = log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command,
            cwd=ROOT,
            env=_server_environment(url, broker_url),
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, token: str, timeout: float = 60) -> None:
        request = urllib.request.Request(  # noqa: S310 - loopback http
            f"{self.base_url}/api/v1/users/me/", headers=_headers(token)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        sys.exit(f"gunicorn did not answer within {timeout:.0f} s; see {self.log}")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


def _run_wrk(
    base_url: str, requests_file: Path, clients: int, seconds: float, threads: int
) -> dict:
    command = [
        "wrk",
        f"-t{min(threads, clients)}",
        f"-c{clients}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA_SCRIPT),
        base_url,
    ]
    env = {
        **os.environ,
        "API_LOAD_REQUESTS": str(requests_file),
        "API_LOAD_THREADS": str(min(threads, clients)),
    }
    completed = subprocess.run(  # noqa: S603 - our own command line
        command, capture_output=True, text=True, env=env, check=False
    )
    match = re.search(r"^API_LOAD_RESULT (\{.*\})$", completed.stdout, re.MULTILINE)
    if completed.returncode != 0 or match is None:
        sys.exit(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return json.loads(match.group(1))


# --- CPU accounting: what a request costs, whatever else runs on the machine ---------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU of process `pid` (all its threads), or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _database_backends() -> list[int]:
    """The PostgreSQL server processes serving our database (local server only)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return pids


class CpuMeter:
    """CPU used by gunicorn (master and workers), the PostgreSQL backends of our database and
    wrk during one run. Requests/s depend on what else the machine runs; CPU per request does
    much less, and says what two idle cores would serve."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def __enter__(self) -> CpuMeter:
        self.web = self._snapshot([self.server.process.pid, *self.server.worker_pids()])
        self.database = self._snapshot(_database_backends())
        self.children = _children_cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.web_seconds = self._spent(self.web, self.server.worker_pids())
        self.database_seconds = self._spent(self.database, _database_backends())
        self.wrk_seconds = _children_cpu() - self.children

    @staticmethod
    def _snapshot(pids: list[int]) -> dict[int, float]:
        return {pid: cpu for pid in pids if (cpu := _cpu_seconds(pid)) is not None}

    def _spent(self, before: dict[int, float], now_pids: list[int]) -> float:
        # Processes started during the run count from zero; those gone are lost (rare: workers
        # and persistent connections live through a run).
        pids = {*before, *now_pids, self.server.process.pid}
        total = 0.0
        for pid in pids:
            now = _cpu_seconds(pid)
            if now is not None:
                total += now - before.get(pid, 0.0)
        return total


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _py_spy(pids: list[int], seconds: float, target: Path) -> list[subprocess.Popen]:
    py_spy = Path(sys.executable).parent / "py-spy"
    recorders = []
    for pid in pids:
        recorders.append(
            subprocess.Popen(  # noqa: S603 - our own command line
                [
                    str(py_spy),
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(max(1, round(seconds))),
                    "--rate",
                    "50",
                    "--format",
                    "speedscope",
                    "--output",
                    str(target.with_name(f"{target.stem}-{pid}.json")),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return recorders


# --- Main ---------------------------------------------------------------------------------------


def _latest_ids() -> tuple[int, int]:
    """The newest inquiry and stage change ids (a COUNT of millions of rows would load the
    machine between runs)."""
    from django.db.models import Max

    from inquiries.models import Inquiry
    from pipeline.models import DealStageChange

    return (
        Inquiry.objects.aggregate(top=Max("id"))["top"] or 0,
        DealStageChange.objects.aggregate(top=Max("id"))["top"] or 0,
    )


def _written_since(before: tuple[int, int]) -> tuple[int, int]:
    from inquiries.models import Inquiry
    from pipeline.models import DealStageChange

    return (
        Inquiry.objects.filter(id__gt=before[0]).count(),
        DealStageChange.objects.filter(id__gt=before[1]).count(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="a scratch PostgreSQL database (default: DATABASE_URL)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="data size when generating")
    parser.add_argument("--clients", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--duration", type=float, default=30, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before each")
    parser.add_argument(
        "--server",
        type=_server_config,
        action="append",
        help="gunicorn configuration(s): gthread:WORKERS:THREADS, sync:WORKERS, conf (default)",
    )
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--broker-url",
        default="",
        help="Celery broker (default: none, tasks run in the request); memory:// queues them in "
        "each web process and never runs them, to measure the web tier alone",
    )
    parser.add_argument("--profile", type=Path, help="py-spy the workers; speedscope files here")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--prepare-only", action="store_true", help="data, users, tokens; exit")
    args = parser.parse_args()

    url = args.database_url
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/api_load.py runs on PostgreSQL: give --database-url postgres://...")
    if shutil.which("wrk") is None and not args.prepare_only:
        sys.exit("wrk is not installed (Debian: apt-get install wrk).")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontoffice.settings")
    ensure_postgres_database(url)
    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.db import connection

    from accounts.models import Contact
    from inquiries.models import Inquiry
    from pipeline.models import Deal

    _prepare_database(url, args.scale, args.seed)
    staff = _prepare_staff()
    max_contact = Contact.objects.order_by("-id").values_list("id", flat=True).first()
    print(
        f"database {connection.settings_dict['NAME']}: {Contact.objects.count():,} contacts, "
        f"{Deal.objects.count():,} deals, {Inquiry.objects.count():,} inquiries; "
        f"{len(staff.reps)} reps, {len(staff.managers)} managers, "
        f"{sum(len(a) for a in staff.agents.values())} agents",
        flush=True,
    )
    if args.prepare_only:
        return
    connection.close()

    rng = random.Random(args.seed)
    reusable = {
        "deal_list": _deal_lists(staff, rng),
        "contact_timeline": _timelines(staff, rng, max_contact),
        "inquiry_list": _inquiry_lists(staff, rng),
        "create_inquiry": _inquiry_creations(staff, rng, max_contact),
    }
    configs = args.server or [ServerConfig("conf")]
    workdir = Path(tempfile.mkdtemp(prefix="api_load-"))
    some_token = staff.tokens[staff.reps[0]]
    results = []
    run = 0
    moved: set[int] = set()

    def requests_file(seconds: float) -> Path:
        nonlocal run
        run += 1
        # Moves for 10% of up to 1,000 requests/s, with room to spare.
        moves = _deal_moves(staff, rng, count=max(500, int(seconds * 150)), used=moved)
        connection.close()
        path = workdir / f"requests-{run}.lua"
        _write_requests(path, {**reusable, "move_deal": moves}, args.seed + run)
        return path

    for config in configs:
        server = Server(config, url, args.broker_url, workdir / "gunicorn.log")
        try:
            server.wait_ready(some_token)
            for clients in args.clients:
                if args.warmup > 0:
                    _run_wrk(
                        server.base_url,
                        requests_file(args.warmup),
                        clients,
                        args.warmup,
                        args.wrk_threads,
                    )
                path = requests_file(args.duration)
                before = _latest_ids()
                connection.close()
                load = os.getloadavg()[0]
                recorders = []
                if args.profile:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    target = args.profile / f"{config.spec.replace(':', '-')}-c{clients}"
                    recorders = _py_spy(server.worker_pids(), args.duration, target)
                with CpuMeter(server) as cpu:
                    result = _run_wrk(
                        server.base_url, path, clients, args.duration, args.wrk_threads
                    )
                for recorder in recorders:
                    recorder.wait()
                written = _written_since(before)
                connection.close()
                result.update(
                    config=config.spec,
                    clients=clients,
                    load=load,
                    inquiries_written=written[0],
                    stage_changes_written=written[1],
                    cpu_web_ms=1000 * cpu.web_seconds / max(1, result["requests"]),
                    cpu_database_ms=1000 * cpu.database_seconds / max(1, result["requests"]),
                    cpu_wrk_ms=1000 * cpu.wrk_seconds / max(1, result["requests"]),
                )
                results.append(result)
                _print_result(result)
        finally:
            server.stop()

    _print_table(results)
    print(f"gunicorn log: {workdir / 'gunicorn.log'}")


def _rate(result: dict) -> float:
    return result["requests"] / (result["duration_us"] / 1e6)


def _cpu_ms(result: dict) -> float:
    return result["cpu_web_ms"] + result["cpu_database_ms"] + result["cpu_wrk_ms"]


def _capacity(result: dict, cores: int) -> float:
    """Requests/s `cores` idle cores would serve at this CPU cost per request."""
    return cores * 1000 / _cpu_ms(result) if _cpu_ms(result) else 0.0


def _print_result(result: dict) -> None:
    errors = result["status_errors"] + result["socket_errors"]
    print(
        f"{result['config']:<14} c={result['clients']:<3} {_rate(result):7.1f} req/s  "
        f"p50 {result['p50_us'] / 1000:6.1f} ms  p99 {result['p99_us'] / 1000:6.1f} ms  "
        f"errors {errors}  CPU/request {_cpu_ms(result):.1f} ms "
        f"(load average before: {result['load']:.2f})",
        flush=True,
    )
    if result["samples"]:
        print("  first errors:\n    " + result["samples"].replace("\n", "\n    "))
    if result["pool_exhausted"]:
        print(f"  move pool used up: {result['pool_exhausted']} moves repeated (409s)")


def _print_table(results: list[dict]) -> None:
    cores = os.cpu_count() or 1
    print()
    print(
        "| gunicorn | clients | requests/s | p50 ms | p99 ms | errors | CPU ms/request "
        f"(gunicorn + PostgreSQL + wrk) | requests/s {cores} idle cores would serve |"
    )
    print("|---" * 8 + "|")
    for result in results:
        errors = result["status_errors"] + result["socket_errors"]
        print(
            f"| {result['config']} | {result['clients']} | {_rate(result):,.0f} | "
            f"{result['p50_us'] / 1000:.1f} | {result['p99_us'] / 1000:.1f} | {errors} | "
            f"{_cpu_ms(result):.1f} ({result['cpu_web_ms']:.1f} + "
            f"{result['cpu_database_ms']:.1f} + {result['cpu_wrk_ms']:.1f}) | "
            f"{_capacity(result, cores):,.0f} |"
        )
    kinds = list(WEIGHTS)
    print()
    print(f"| gunicorn | clients | {' | '.join(kinds)} | rows written (inquiries, stage changes) |")
    print("|---" * (3 + len(kinds)) + "|")
    for result in results:
        counts = " | ".join(f"{result['sent'].get(kind, 0):,}" for kind in kinds)
        print(
            f"| {result['config']} | {result['clients']} | {counts} | "
            f"{result['inquiries_written']:,}, {result['stage_changes_written']:,} |"
        )
    print()
    for result in results:
        if result["clients"] == 16:
            met = _rate(result) >= TARGET_RPS and result["p99_us"] / 1000 <= TARGET_P99_MS
            print(
                f"target at 16 clients ({result['config']}): ≥ {TARGET_RPS} requests/s and "
                f"p99 ≤ {TARGET_P99_MS} ms: {'met' if met else 'missed'}"
            )


if __name__ == "__main__":
    main()
