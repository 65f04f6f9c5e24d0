"""The web benchmark, in one command: ``.venv/bin/python -m bench.run`` (see README, "Benchmarks").

1. Builds the data set (bench/dataset.py) on PostgreSQL unless it is there already (``--rebuild``
   forces it).
2. Starts two gunicorn servers on loopback with the same settings (2 sync workers): the application
   in its production configuration (PostgreSQL, Redis as the Celery broker and the rate limiter's
   storage), and the bare Flask "hello world" of bench/hello.py, the ceiling.
3. Signs in for real (the login form, its CSRF token) as the manager, a reviewer and an applicant,
   and creates the manager's API token with the project's service.
4. Finds the load: wrk runs the ceiling at 1, 2, 4 … connections and keeps the highest number of
   connections at which its p95 stays under 20 ms; then loads every page at that number with wrk
   (a second process, on loopback), with a Lua script that sends the session cookie, or the CSRF
   token and the dossier's version for the draft save, or the bearer token for the award.
5. Counts the SQL queries of one request of each page in this process, through the Flask test client
   on the same database, with a ``before_cursor_execute`` listener (the servers run uninstrumented),
   and profiles that request with pyinstrument (bench/profiles/).
6. Runs tests/test_query_counts.py on PostgreSQL (does a page's query count grow with the data?),
   and writes everything to bench/RESULTS.md, in the "Web pages" section only.

At the national scale (``--national``: 1,000,000 applications, bench/dataset.py's ``NATIONAL``, on a
database of its own, ``subventia_bench_national``), ``--explain`` captures the statements one request
of each page runs (a ``before_cursor_execute`` listener, as bench/search.py does; more pages than the
load covers) and runs each again under ``EXPLAIN (ANALYZE, BUFFERS)``, once with the database's
``random_page_cost`` (1.1, SSD) and once with PostgreSQL's default (4), each in a transaction rolled
back; the plans, and every sequential scan of the big tables, go to the "National scale" section.
``--no-load`` skips the servers and wrk (the load at national scale is the same code, but long):

    .venv/bin/python -m bench.run --national --explain --no-load
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench import dataset
from grants.demo import settings as demo_settings

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"
PROFILES = BENCH_DIR / "profiles"
VENV_BIN = Path(sys.executable).parent

HOST = "127.0.0.1"
APP_PORT = 8471
HELLO_PORT = 8472
USER_AGENT = "subventia-bench/1"  # the same for sign-in and load: the session is bound to it
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CELERY_QUEUE = "subventia-bench"
# gunicorn's worker timeout is raised from 30 s so that a page slower than that is measured, not killed.
GUNICORN_SETTINGS = ["--workers", "2", "--worker-class", "sync", "--backlog", "2048", "--timeout", "180",
                     "--log-level", "warning"]
WRK_TIMEOUT = 60  # seconds; a request still unanswered then counts as a timeout
SLOW_PAGE_SECONDS = 1.0  # a page whose probe takes longer is loaded longer, so that some requests finish
LADDER = (1, 2, 4, 8, 16, 32, 64, 128)
CEILING_P95_MS = 20.0
READ_SHARE_TARGET = 0.15
READ_P95_TARGET_MS = 150.0
CPU_SAMPLES = 10

SECTION_START = "<!-- web-pages:results:start -->"
SECTION_END = "<!-- web-pages:results:end -->"
NATIONAL_START = "<!-- national:results:start -->"
NATIONAL_END = "<!-- national:results:end -->"
NATIONAL_DATABASE_URL = os.environ.get(
    "BENCH_NATIONAL_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/subventia_bench_national"
)
# A sequential scan of one of these on a page's path reads the whole table at every request.
WATCHED_TABLES = ("applications", "reviews", "criterion_scores", "audit_events", "notifications",
                  "review_assignments", "budget_lines", "decisions", "envelope_movements")
ADMIN_EMAIL = "bench-admin@region.example"


# ---------------------------------------------------------------------- HTTP, signing in
class Browser:
    """Just enough of a browser: a cookie jar and one request at a time, redirects not followed."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        # Long: after a slow page, the requests wrk left queued are served before this one.
        connection = http.client.HTTPConnection(HOST, self.port, timeout=900)
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = self.cookie_header
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        connection.close()
        return response.status, dict(response.getheaders()), text


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def sign_in(port: int, email: str) -> Browser:
    browser = Browser(port)
    _, _, page = browser.request("GET", "/connexion")
    status, headers, _ = browser.request(
        "POST", "/connexion",
        form={"csrf_token": csrf_token(page), "email": email, "password": dataset.BENCH_PASSWORD},
    )
    if status != 302:
        raise RuntimeError(f"sign-in of {email} answered {status}")
    return browser


# ---------------------------------------------------------------------- servers
def use_server_environment(database_url: str) -> dict:
    """The in-process app (query counts, profiles) reads the same environment as the servers."""
    environment = server_environment(database_url, secrets.token_hex(32))
    os.environ.update({k: environment[k] for k in (
        "SUBVENTIA_CONFIG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CELERY_QUEUE", "MAIL_SERVER",
        "LOGIN_RATE_LIMIT_PER_IP", "LOGIN_RATE_LIMIT_PER_ACCOUNT", "INSTANCE_PATH", "GRANTOR_NAME",
        "GRANTOR_SIRET")})
    return environment


def server_environment(database_url: str, secret_key: str) -> dict:
    return {
        **os.environ,
        "SUBVENTIA_CONFIG": "production",
        "SECRET_KEY": secret_key,
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "CELERY_QUEUE": CELERY_QUEUE,
        "MAIL_SERVER": HOST,
        # The bench signs in a few times per run from one address; production keeps its limits.
        "LOGIN_RATE_LIMIT_PER_IP": "1000 per minute",
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": "1000 per minute",
        "INSTANCE_PATH": str(Path(tempfile.gettempdir()) / "subventia-bench-instance"),
        "GRANTOR_NAME": demo_settings.GRANTOR_NAME,
        "GRANTOR_SIRET": demo_settings.GRANTOR_SIRET,
    }


class Server:
    def __init__(self, name: str, module: str, port: int, environment: dict):
        self.name, self.port = name, port
        self.log = Path(tempfile.gettempdir()) / f"subventia-bench-{name}.log"
        self.process = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), *GUNICORN_SETTINGS, "--bind", f"{HOST}:{port}", module],
            cwd=ROOT, env=environment, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )

    def wait_ready(self, path: str = "/") -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server stopped: see {self.log}")
            try:
                Browser(self.port).request("GET", path)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} server did not answer within 60 s: see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


# ---------------------------------------------------------------------- wrk
def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing the Debian package", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def lua(value: str) -> str:
    return f"[==[{value}]==]"


LUA_COMMON = """
statuses = {}
local threads = {}
local index = 0
function setup(thread)
  index = index + 1
  table.insert(threads, thread)
  if per_thread then per_thread(thread, index) end
end
function count(status)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do merged[status] = (merged[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(merged) do table.insert(parts, string.format('"%d": %d', status, n)) end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d,'
    .. ' "errors": %d, "timeouts": %d, "statuses": {%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.timeout, table.concat(parts, ", ")))
end
"""


def read_script(path: str, cookie: str, extra_headers: dict | None = None) -> str:
    headers = {"User-Agent": USER_AGENT, **({"Cookie": cookie} if cookie else {}), **(extra_headers or {})}
    lines = ["wrk.method = 'GET'", f"wrk.path = {lua(path)}"]
    lines += [f"wrk.headers[ {lua(k)} ] = {lua(v)}" for k, v in headers.items()]
    lines.append("function response(status, headers, body) count(status) end")
    return "\n".join(lines) + LUA_COMMON


def draft_save_script(drafts: list[tuple[int, int, str, str]], body_template: str) -> str:
    """One connection per thread, one association and its draft per connection: the thread sends
    its member's session cookie and CSRF token, knows its dossier's version (it goes up by one with
    each accepted save, a 302) and posts the next one."""
    table = ", ".join(f"{{{draft_id}, {version}, {lua(cookie)}, {lua(token)}}}"
                      for draft_id, version, cookie, token in drafts)
    return f"""
wrk.method = 'POST'
wrk.headers['User-Agent'] = {lua(USER_AGENT)}
wrk.headers['Content-Type'] = 'application/x-www-form-urlencoded'
local drafts = {{{table}}}
local template = {lua(body_template)}
function per_thread(thread, i)
  thread:set("draft_id", drafts[i][1])
  thread:set("version", drafts[i][2])
  thread:set("cookie", drafts[i][3])
  thread:set("token", drafts[i][4])
end
local n = 0
function request()
  n = n + 1
  wrk.headers['Cookie'] = cookie
  local body = template:gsub("{{version}}", tostring(version)):gsub("{{n}}", tostring(n))
  body = body:gsub("{{token}}", token)
  return wrk.format(nil, "/dossiers/" .. draft_id .. "/projet", nil, body)
end
function response(status, headers, body)
  count(status)
  if status == 302 then
    version = version + 1
  else
    local seen = body:match('name="version" value="(%d+)"')
    if seen then version = tonumber(seen) end
  end
end
""" + LUA_COMMON


def award_script(ids_per_thread: list[list[int]], bearer: str, body: str) -> str:
    table = ", ".join("{" + ", ".join(map(str, ids)) + "}" for ids in ids_per_thread)
    return f"""
wrk.method = 'POST'
wrk.headers['User-Agent'] = {lua(USER_AGENT)}
wrk.headers['Authorization'] = {lua('Bearer ' + bearer)}
wrk.headers['Content-Type'] = 'application/json'
wrk.body = {lua(body)}
local lists = {{{table}}}
function per_thread(thread, i) thread:set("ids", table.concat(lists[i], ",")) end
local queue, position = nil, 0
function request()
  if not queue then
    queue = {{}}
    for id in string.gmatch(ids, "%d+") do table.insert(queue, id) end
  end
  position = position + 1
  local id = queue[position] or queue[#queue]
  return wrk.format(nil, "/api/v1/applications/" .. id .. "/award")
end
function response(status, headers, body) count(status) end
""" + LUA_COMMON


def run_wrk(wrk: str, port: int, script: str, connections: int, seconds: int, threads: int | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        threads = threads or min(connections, 2)
        completed = subprocess.run(
            [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", f"{WRK_TIMEOUT}s",
             "-s", handle.name, f"http://{HOST}:{port}"],
            capture_output=True, text=True, check=True,
        )
    finally:
        os.unlink(handle.name)
    line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(line[len("BENCH_JSON "):])
    duration = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"], "rps": raw["requests"] / duration if duration else 0.0,
        "p50_ms": raw["p50_us"] / 1000, "p95_ms": raw["p95_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
        "socket_errors": raw["errors"], "timeouts": raw["timeouts"],
        "statuses": {int(k): v for k, v in raw["statuses"].items()},
        "connections": connections, "seconds": seconds,
    }


# ---------------------------------------------------------------------- the pages
@dataclass
class Page:
    key: str
    title: str
    method: str
    path: str
    role: str  # public, manager, reviewer, applicant, api
    kind: str = "read"
    expected_status: int = 200
    result: dict = field(default_factory=dict)
    queries: int | None = None
    cpu_ms: float | None = None  # the application's CPU time per request, in-process
    sql_ms: float | None = None  # wall time spent waiting on PostgreSQL per request, in-process
    missing: str | None = None
    profile: str | None = None


def bench_targets(database_url: str) -> dict:
    """Ids of the objects the pages are loaded on, read from the bench database."""
    with psycopg.connect(database_url) as connection:
        one = lambda query, *args: connection.execute(query, args).fetchone()  # noqa: E731
        big_call = one("SELECT id FROM calls WHERE slug = %s", dataset.BIG_CALL_SLUG)[0]
        applicant_id = one(
            "SELECT a.id FROM applicants a JOIN memberships m ON m.organisation_id = a.organisation_id"
            " JOIN users u ON u.id = m.user_id WHERE u.email = %s", dataset.APPLICANT_EMAIL)[0]
        reviewed = one(
            "SELECT a.id FROM applications a WHERE a.call_id = %s AND a.state = 'under_review' AND"
            " (SELECT count(*) FROM review_assignments r JOIN reviews v ON v.assignment_id = r.id"
            "  WHERE r.application_id = a.id AND v.state = 'submitted') = 3 ORDER BY a.id LIMIT 1", big_call)[0]
        own = one("SELECT id FROM applications WHERE applicant_id = %s AND call_id = %s ORDER BY id LIMIT 1",
                  applicant_id, big_call)[0]
        drafts = connection.execute(
            "SELECT * FROM (SELECT a.id, a.version, u.email FROM applications a"
            " JOIN users u ON u.id = a.created_by_id ORDER BY a.id DESC LIMIT %s) bench ORDER BY id",
            (dataset.BENCH_DRAFTS,)).fetchall()
        candidates = [row[0] for row in connection.execute(
            "SELECT a.id FROM applications a WHERE a.call_id = %s AND a.state = 'under_review' AND a.id <> %s"
            " AND NOT EXISTS (SELECT 1 FROM decisions d WHERE d.application_id = a.id)"
            # every review transmitted: the API refuses (409) to award over a pending one without a reason
            " AND NOT EXISTS (SELECT 1 FROM review_assignments r LEFT JOIN reviews v ON v.assignment_id = r.id"
            "  WHERE r.application_id = a.id AND r.state = 'assigned' AND v.submitted_at IS NULL)"
            " ORDER BY a.id DESC",
            (big_call, reviewed))]
    return {"big_call": big_call, "reviewed": reviewed, "own": own, "drafts": drafts, "candidates": candidates}


def pages_for(targets: dict) -> list[Page]:
    return [
        Page("calls", "Public call list", "GET", "/appels/", "public"),
        Page("manager_application", "Application page (manager)", "GET",
             f"/gestion/dossiers/{targets['reviewed']}", "manager"),
        Page("applicant_application", "Application page (applicant)", "GET",
             f"/dossiers/{targets['own']}", "applicant"),
        Page("reviewer_desk", "Reviewer's desk", "GET", "/evaluation", "reviewer"),
        Page("ranking", "Ranking of the 10,000-application call", "GET",
             f"/gestion/appels/{targets['big_call']}/classement", "manager"),
        Page("envelopes", "Envelope dashboard", "GET", "/gestion/enveloppes", "manager"),
        Page("draft_save", "Draft save (POST project section)", "POST", "/dossiers/{draft}/projet", "applicant",
             kind="write", expected_status=302),
        Page("award", "Award through the API", "POST", "/api/v1/applications/{id}/award", "api",
             kind="write", expected_status=201),
    ]


AWARD_BODY = json.dumps({"amount": "1000.00", "section": "fonctionnement", "reason": "Banc d'essai"})


def project_form(version: int, n: int | str) -> dict:
    return {"version": version, "title": f"Projet du banc d'essai, enregistrement {n}",
            "summary": "Un projet d'intérêt général mené avec les bénévoles de l'association.",
            "objectives": "Accompagner 200 personnes.", "target_public": "Familles du quartier.",
            "beneficiaries_count": "200", "places": "Lille", "starts_on": "2026-03-01", "ends_on": "2026-09-30"}


def draft_body_template() -> str:
    """The project section's form, urlencoded, with {token}, {version} and {n} left to the Lua script
    (a CSRF token is URL-safe: letters, digits, '.', '-', '_')."""
    form = {"csrf_token": "{token}", **project_form(0, 0)}
    form["version"] = "{version}"
    form["title"] = "Projet du banc d'essai, enregistrement {n}"
    encoded = urllib.parse.urlencode(form)
    for name in ("token", "version", "n"):
        encoded = encoded.replace(f"%7B{name}%7D", f"{{{name}}}")
    return encoded


# ---------------------------------------------------------------------- in-process measures
class InProcess:
    """The application in this process, on the bench database, to count queries and profile."""

    def __init__(self):
        import sqlalchemy as sa

        from grants import create_app
        from grants.database import db

        self.db = db
        self.app = create_app("production")
        self.statements = 0
        self.sql_seconds = 0.0
        self.sql_started = 0.0

        def counted(*_args, **_kwargs):
            self.statements += 1
            self.sql_started = time.perf_counter()

        def timed(*_args, **_kwargs):
            self.sql_seconds += time.perf_counter() - self.sql_started

        # No application context stays pushed: each request gets its own, with an empty ``g``, as
        # under gunicorn (a shared one would carry the signed-in user and CSRF token across clients).
        with self.app.app_context():
            self.engine = db.engine
        sa.event.listen(self.engine, "before_cursor_execute", counted)
        sa.event.listen(self.engine, "after_cursor_execute", timed)
        self.clients: dict[str, object] = {}

    def request(self, client, method: str, path: str, **kwargs):
        # The production cookies are Secure: the test client speaks https to send them back, and
        # over https Flask-WTF wants a same-origin Referer on every form post.
        headers = {"Referer": "https://127.0.0.1/", **kwargs.pop("headers", {})}
        return client.open(path, method=method, base_url="https://127.0.0.1", headers=headers, **kwargs)

    def client(self, role: str, email: str | None):
        if role not in self.clients:
            client = self.app.test_client()
            if email:
                page = self.request(client, "GET", "/connexion").get_data(as_text=True)
                response = self.request(client, "POST", "/connexion", data={
                    "csrf_token": csrf_token(page), "email": email, "password": dataset.BENCH_PASSWORD})
                if response.status_code != 302:
                    raise RuntimeError(f"in-process sign-in of {email}: {response.status_code} "
                                       f"{response.get_data(as_text=True)[:2000]}")
            self.clients[role] = client
        return self.clients[role]

    def exists(self, method: str, path: str) -> bool:
        from werkzeug.exceptions import MethodNotAllowed, NotFound

        try:
            self.app.url_map.bind("127.0.0.1").match(path.split("?")[0], method=method)
            return True
        except (NotFound, MethodNotAllowed):
            return False

    def measure(self, client, method: str, path: str, profile_to: Path | None = None, **kwargs):
        """Status, statements and (optionally) a pyinstrument profile of one request."""
        self.statements = 0
        if profile_to is None:
            response = self.request(client, method, path, **kwargs)
        else:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.001)
            profiler.start()
            response = self.request(client, method, path, **kwargs)
            profiler.stop()
            profile_to.write_text(profiler.output_text(unicode=True, color=False))
        return response, self.statements

    def close(self) -> None:
        self.engine.dispose()


EMAILS = {"public": None, "manager": dataset.MANAGER_EMAIL, "reviewer": dataset.REVIEWER_EMAIL,
          "applicant": dataset.APPLICANT_EMAIL}


def bench_token(in_process: InProcess) -> str:
    """The manager's API token, created with the project's service; returns its secret."""
    from grants.accounts.models import User
    from grants.api.services import create_token

    db = in_process.db
    with in_process.app.app_context():
        manager = db.session.scalar(db.select(User).where(User.email == dataset.MANAGER_EMAIL))
        _, secret = create_token(manager, name=f"banc d'essai {datetime.now(UTC):%Y-%m-%d %H:%M}", actor=manager)
        db.session.commit()
    return secret


def count_queries(pages: list[Page], targets: dict, in_process: InProcess) -> str:
    """Queries of one request per page (after one warm-up request), and a profile of it; returns
    the API token's secret, created with the project's service for the manager."""
    secret = bench_token(in_process)
    PROFILES.mkdir(exist_ok=True)
    reserved_draft, _, holder = targets["drafts"][-1]  # never loaded by wrk (it takes the first ones)
    reserved_awards = targets["candidates"][-2:]
    for page in pages:
        if page.missing:
            continue
        profile = PROFILES / f"{page.key}.txt"
        if page.key == "draft_save":
            client = in_process.client("draft holder", holder)
            path = page.path.format(draft=reserved_draft)
            for attempt in (1, 2):  # the second save is the one counted
                form_page = in_process.request(client, "GET", path).get_data(as_text=True)
                version = int(re.search(r'name="version" value="(\d+)"', form_page).group(1))
                data = {"csrf_token": csrf_token(form_page), **project_form(version, f"mesure {attempt}")}
                response, statements = in_process.measure(client, "POST", path, data=data,
                                                          profile_to=profile if attempt == 2 else None)
        elif page.key == "award":
            client = in_process.app.test_client()
            for attempt, application_id in enumerate(reserved_awards, start=1):
                response, statements = in_process.measure(
                    client, "POST", page.path.format(id=application_id), data=AWARD_BODY,
                    headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
                    profile_to=profile if attempt == 2 else None)
        else:
            client = in_process.client(page.role, EMAILS[page.role])
            in_process.measure(client, page.method, page.path)
            response, statements = in_process.measure(client, page.method, page.path, profile_to=profile)
            in_process.sql_seconds, samples = 0.0, []
            page.cpu_ms = cpu_per_request(
                lambda c=client, p=page, s=samples: s.append(in_process.request(c, p.method, p.path).status_code))
            page.sql_ms = in_process.sql_seconds * 1000 / len(samples)
        if response.status_code != page.expected_status:
            page.missing = (f"answered {response.status_code} in the instrumented run "
                            f"(expected {page.expected_status})")
            continue
        page.queries = statements
        page.profile = str(profile.relative_to(ROOT))
    return secret


def cpu_per_request(send, repeat: int = CPU_SAMPLES) -> float:
    """Milliseconds of this process's CPU per request (PostgreSQL's own work is not in it): a
    figure the other programs of the machine do not move, unlike the wall-clock latencies."""
    started = time.process_time()
    done = 0
    while done < repeat:
        send()
        done += 1
        if time.process_time() - started > 5:  # a slow page: a few requests tell enough
            break
    return (time.process_time() - started) * 1000 / done


def ceiling_cpu_ms() -> float:
    from bench.hello import app

    client = app.test_client()
    client.get("/")
    return cpu_per_request(lambda: client.get("/"), repeat=CPU_SAMPLES * 20)


# ---------------------------------------------------------------------- plans at national scale
def explain_pages_for(targets: dict) -> list[Page]:
    """The loaded pages, and the other pages of the big call, the desks and the logs: every list a
    manager, an admin, a reviewer or an applicant opens, whose plans the data's size could change."""
    big = targets["big_call"]
    return pages_for(targets) + [
        Page("public_call", "Public call page", "GET", f"/appels/{dataset.BIG_CALL_SLUG}", "public"),
        Page("manager_home", "Manager's home", "GET", "/mon-espace", "manager"),
        Page("calls_manage", "Calls (manager)", "GET", "/gestion/appels", "manager"),
        Page("call_manage", "Big call (manager)", "GET", f"/gestion/appels/{big}", "manager"),
        Page("call_applications", "Big call's dossiers", "GET", f"/gestion/appels/{big}/dossiers", "manager"),
        Page("screening", "Big call's screening", "GET", f"/gestion/appels/{big}/recevabilite", "manager"),
        Page("assignments", "Big call's assignments", "GET", f"/gestion/appels/{big}/affectations", "manager"),
        Page("call_envelope", "Big call's envelope", "GET", f"/gestion/appels/{big}/enveloppe", "manager"),
        Page("follow_up", "Grant follow-up", "GET", "/gestion/suivi-des-subventions", "manager"),
        Page("notification_monitor", "Notification monitor", "GET", "/gestion/notifications", "manager"),
        Page("audit", "Audit log", "GET", "/admin/journal/", "admin"),
        Page("reviewer_home", "Reviewer's home", "GET", "/mon-espace", "reviewer"),
        Page("applicant_home", "Applicant's home", "GET", "/mon-espace", "applicant"),
        Page("applicant_list", "Applicant's dossiers", "GET", "/dossiers", "applicant"),
        Page("bell", "Notifications (applicant)", "GET", "/notifications", "applicant"),
    ]


@dataclass
class Plan:
    statement: str
    plan: str  # with the database's random_page_cost (1.1)
    ms: float  # its execution time
    ms_default_cost: float  # the execution time with random_page_cost = 4
    same_plan: bool  # the plan's shape is the same with 4
    seq_scans: list[str]


@dataclass
class Explained:
    page: Page
    status: int
    seconds: float  # the request, in-process (the page's Python and its SQL)
    plans: list[Plan]


PLAN_TIME = re.compile(r"Execution Time: ([\d.]+) ms")
PLAN_NUMBERS = re.compile(r"\(cost=[^)]*\)|\(actual[^)]*\)|\(never executed\)|^\s*(Planning|Execution|JIT).*$|"
                          r"^\s*(Buffers|Heap Blocks|Rows Removed|Planning Time|Sort Method|Memory|Batches|"
                          r"Worker|Functions|Options|Timing|Workers).*$", re.MULTILINE)
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


def explain(connection, statement: str, parameters, cost: str | None) -> str:
    """One EXPLAIN (ANALYZE, BUFFERS) in a transaction rolled back (a write page's statements too). A
    write the database refuses a second time (the row it inserted is there) gets the plain EXPLAIN."""
    import sqlalchemy as sa

    for options in ("ANALYZE, BUFFERS", None):
        transaction = connection.begin()
        try:
            if cost:
                connection.exec_driver_sql(f"SET LOCAL random_page_cost = {cost}")
            prefix = f"EXPLAIN ({options}) " if options else "EXPLAIN "
            rows = connection.exec_driver_sql(prefix + statement, parameters)
            plan = "\n".join(line for (line,) in rows)
            return plan if options else plan + "\n(not run again: the database refuses the write a second time)"
        except sa.exc.IntegrityError:
            continue
        except sa.exc.DBAPIError as error:  # e.g. more parameters than the protocol carries
            return f"(EXPLAIN failed: {str(error.orig).splitlines()[0]})"
        finally:
            transaction.rollback()
    raise AssertionError("unreachable")


def plan_ms(plan: str) -> float:
    found = PLAN_TIME.search(plan)
    return float(found.group(1)) if found else 0.0


def explain_all(pages: list[Page], targets: dict, in_process: InProcess, secret: str) -> list[Explained]:
    """One request of each page (after a warm-up for reads), its statements captured, then explained."""
    import sqlalchemy as sa

    captured: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE"):
            captured.append((statement, parameters[0] if executemany else parameters))

    emails = {**EMAILS, "admin": ADMIN_EMAIL}
    reserved_draft, _, holder = targets["drafts"][-1]
    explained = []
    # The public pages' statements, not their cached copy: the page cache off for the capture.
    in_process.app.config["PAGE_CACHE_SECONDS"] = 0
    for page in pages:
        if page.key == "draft_save":
            client = in_process.client("draft holder", holder)
            path = page.path.format(draft=reserved_draft)
            form_page = in_process.request(client, "GET", path).get_data(as_text=True)
            version = int(re.search(r'name="version" value="(\d+)"', form_page).group(1))
            send = lambda c=client, p=path, f=form_page, v=version: in_process.request(  # noqa: E731
                c, "POST", p, data={"csrf_token": csrf_token(f), **project_form(v, "plans")})
        elif page.key == "award":
            client = in_process.app.test_client()
            path = page.path.format(id=targets["candidates"][0])
            send = lambda c=client, p=path: in_process.request(  # noqa: E731
                c, "POST", p, data=AWARD_BODY,
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
        else:
            client = in_process.client(page.role, emails[page.role])
            send = lambda c=client, p=page: in_process.request(c, p.method, p.path)  # noqa: E731
        print(f"{page.key}: one request …", flush=True)
        # A read is sent twice, the second one captured (warm), unless the first took seconds.
        for attempt in (1, 2):
            captured.clear()
            request_started = time.monotonic()
            sa.event.listen(in_process.engine, "before_cursor_execute", capture)
            try:
                status = send().status_code
            finally:
                sa.event.remove(in_process.engine, "before_cursor_execute", capture)
            request_seconds = time.monotonic() - request_started
            if page.kind == "write" or request_seconds > 2 or attempt == 2:
                break
        plans = []
        with in_process.engine.connect() as connection:
            for statement, parameters in captured:
                if statement.lstrip().upper().startswith("SELECT PG_ADVISORY"):
                    continue
                fast = explain(connection, statement, parameters, None)
                slow = explain(connection, statement, parameters, "4")
                plans.append(Plan(
                    statement=" ".join(statement.split()), plan=fast,
                    ms=plan_ms(fast), ms_default_cost=plan_ms(slow),
                    same_plan=PLAN_NUMBERS.sub("", fast).split() == PLAN_NUMBERS.sub("", slow).split(),
                    seq_scans=sorted({t for t in SEQ_SCAN.findall(fast) if t in WATCHED_TABLES})))
        explained.append(Explained(page, status, request_seconds, plans))
        total = sum(p.ms for p in plans)
        scans = sorted({t for p in plans for t in p.seq_scans})
        print(f"{page.key}: {status} in {request_seconds:.1f} s, {len(plans)} statements, {total:.1f} ms under "
              "EXPLAIN ANALYZE"
              + (f", sequential scans of {', '.join(scans)}" if scans else ""), flush=True)
    return explained


def render_plans(explained: list[Explained], command: str, started: datetime, counts: dict[str, int],
                 load: tuple[float, float], cost: str) -> str:
    out = [NATIONAL_START, "",
           f"Run of {started:%Y-%m-%d %H:%M} UTC, command `{command}`, on 2 shared CPUs; load average (1 min) "
           f"{load[0]:.1f} before, {load[1]:.1f} after. The database's `random_page_cost`: {cost}.", "",
           "Data set: " + ", ".join(f"{n:,} {t}" for t, n in counts.items() if n) + ".", "",
           "One request of each page through the Flask test client (signed in; a read sent twice and the "
           "second captured, unless the first took over 2 s); each statement it ran, with its parameters, again under `EXPLAIN (ANALYZE, BUFFERS)` "
           "in a transaction rolled back, once with the database's `random_page_cost` and once with "
           "`SET LOCAL random_page_cost = 4` (PostgreSQL's default). Times are the plans' execution times "
           "(warm cache), summed over the page's statements.", "",
           "| page | request | status | request s (in-process) | statements | SQL ms (random_page_cost 1.1) | "
           "SQL ms (4) | plans that differ | sequential scans of the big tables |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for item in explained:
        page, plans = item.page, item.plans
        scans = sorted({t for p in plans for t in p.seq_scans})
        out.append(f"| {page.title} | `{page.method} {page.path}` | {item.status} | {item.seconds:.2f} | {len(plans)} | "
                   f"{sum(p.ms for p in plans):,.1f} | {sum(p.ms_default_cost for p in plans):,.1f} | "
                   f"{sum(1 for p in plans if not p.same_plan)} | {', '.join(scans) or 'none'} |")
    out += ["", f"### Plans (EXPLAIN (ANALYZE, BUFFERS), random_page_cost {cost})", "",
            f"Each page's {PLANS_SHOWN} slowest statements, in the order it ran them; statements and plan lines "
            f"cut at {STATEMENT_CHARS:,} and {PLAN_LINE_CHARS} characters (a list of ids can be long).", ""]
    for item in explained:
        page = item.page
        shown = sorted(sorted(range(len(item.plans)), key=lambda i: -item.plans[i].ms)[:PLANS_SHOWN])
        slowest = max((p.ms for p in item.plans), default=0.0)
        out += [f"<details><summary>{page.title}: <code>{page.method} {page.path}</code> — {len(item.plans)} "
                f"statements, slowest {slowest:.1f} ms</summary>", ""]
        for i in shown:
            plan = item.plans[i]
            out += ["```sql", cut(plan.statement, STATEMENT_CHARS), "```", "```",
                    "\n".join(cut(line, PLAN_LINE_CHARS) for line in plan.plan.splitlines()), "```", ""]
        if len(item.plans) > len(shown):
            rest = [p for i, p in enumerate(item.plans) if i not in shown]
            out += [f"and {len(rest)} more statements, {sum(p.ms for p in rest):.1f} ms together.", ""]
        out += ["</details>", ""]
    out.append(NATIONAL_END)
    return "\n".join(out)


PLANS_SHOWN = 12
STATEMENT_CHARS = 1500
PLAN_LINE_CHARS = 300


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]} … ({len(text):,} characters)"


def write_section(section: str, start: str, end: str, heading: str) -> None:
    """Replace the part of bench/RESULTS.md between ``start`` and ``end``; a new section at the end
    under ``heading`` the first time."""
    text = RESULTS.read_text()
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{heading}\n\n{section}\n"
    RESULTS.write_text(text)


# ---------------------------------------------------------------------- the query-count test
def query_count_test(database_url: str) -> dict[str, str]:
    """Outcome of tests/test_query_counts.py on PostgreSQL, per page key (passed / xfail: reason)."""
    report = Path(tempfile.gettempdir()) / "subventia-bench-query-counts.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "tests/test_query_counts.py",
         f"--junitxml={report}"],
        cwd=ROOT, env={**os.environ, "SUBVENTIA_TEST_DATABASES": "postgresql"}, capture_output=True, text=True,
    )
    outcomes: dict[str, str] = {}
    if not report.exists():
        return outcomes
    for case in ET.parse(report).getroot().iter("testcase"):
        match = re.search(r"\[(?:postgresql-)?([a-z_]+)", case.get("name", ""))
        key = match.group(1) if match else case.get("name", "")
        skipped, failure = case.find("skipped"), case.find("failure")
        if failure is not None:
            outcomes[key] = "FAILS"
        elif skipped is not None and "xfail" in (skipped.get("type", "") + skipped.get("message", "")):
            outcomes[key] = "grows (xfail): " + skipped.get("message", "").removeprefix("xfail").strip(" :")
        elif skipped is not None:
            outcomes[key] = "skipped: " + skipped.get("message", "")
        else:
            outcomes[key] = "constant"
    return outcomes


# ---------------------------------------------------------------------- report
def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))
    versions = {}
    for name, command in {"wrk": ["wrk", "--version"], "gunicorn": [str(VENV_BIN / "gunicorn"), "--version"],
                          "postgresql": ["psql", "--version"]}.items():
        try:
            completed = subprocess.run(command, capture_output=True, text=True)
            versions[name] = (completed.stdout or completed.stderr).splitlines()[0].strip()
        except (OSError, IndexError):
            versions[name] = "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), **versions}


def verdict(page: Page, ceiling_rps: float) -> str:
    if page.missing:
        return "—"
    if page.kind == "write":
        return "n/a (write)"
    share = page.result["rps"] / ceiling_rps
    misses = []
    if share < READ_SHARE_TARGET:
        misses.append(f"{share:.0%} < 15% of ceiling")
    if page.result["p95_ms"] >= READ_P95_TARGET_MS:
        misses.append("p95 ≥ 150 ms")
    return "**misses**: " + ", ".join(misses) if misses else "meets"


def render(pages, ceiling, ladder, chosen, counts, info, command, started, dataset_counts, load, ceiling_cpu) -> str:
    ceiling_rps = ceiling["rps"]
    out = [SECTION_START, "",
           f"Run of {started:%Y-%m-%d %H:%M} UTC. Machine: {info['nproc']} CPUs (`nproc`), {info['cpu']}, "
           f"{info['ram_gib']} GiB RAM; Python {info['python']}, {info['gunicorn']}, {info['postgresql']}, "
           f"{info['wrk']}. The load generator, both servers, PostgreSQL and Redis share these CPUs. "
           f"Load average (1 min) of the machine: {load[0]:.1f} before the run, {load[1]:.1f} after "
           "(above 2, other programs were competing for the CPUs and every latency is inflated; the "
           "in-process CPU column is not).", "",
           f"Command: `{command}`", "",
           "Servers: gunicorn, 2 `sync` workers, on loopback, for the application (production configuration: "
           "PostgreSQL, Redis as broker and limiter storage) and for the bare Flask ceiling (bench/hello.py). "
           "Load: wrk from a second process, closed loop, keep-alive off (sync workers close each connection).",
           "", "Data set: " + ", ".join(f"{n:,} {t}" for t, n in dataset_counts.items() if n) + ".", "",
           "### Finding the load", "",
           "| connections | ceiling req/s | p50 (ms) | p95 (ms) |", "| ---: | ---: | ---: | ---: |"]
    for step in ladder:
        out.append(f"| {step['connections']} | {step['rps']:,.0f} | {step['p50_ms']:.1f} | {step['p95_ms']:.1f} |")
    out += ["", f"Load used below: **{chosen} connections**, the highest step at which the ceiling's p95 "
                f"stays under {CEILING_P95_MS:.0f} ms; each page loaded for {pages[0].result.get('seconds', '?')} s "
                "after a warm-up.", "",
            "### Results", "",
            "| page | request | req/s | % of ceiling | p50 (ms) | p95 (ms) | SQL queries / request | "
            "app CPU ms / request (in-process) | SQL ms / request (in-process) | query count vs data (test) | "
            "target (read pages: ≥ 15% of ceiling, p95 < 150 ms) |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
            f"| **ceiling: bare Flask** | `GET /` | {ceiling_rps:,.0f} | 100% | {ceiling['p50_ms']:.1f} | "
            f"{ceiling['p95_ms']:.1f} | 0 | {ceiling_cpu:.2f} | — | — | — |"]
    for page in pages:
        request = f"`{page.method} {page.path}`"
        if page.missing:
            out.append(f"| {page.title} | {request} | — | — | — | — | — | — | — | {counts.get(page.key, '—')} | "
                       f"not measured: {page.missing} |")
            continue
        r = page.result
        unexpected = {s: n for s, n in r["statuses"].items() if s != page.expected_status}
        note = f" (answers other than {page.expected_status}: {unexpected})" if unexpected else ""
        if r["timeouts"] or r["requests"] < 20:
            note += (f" (only {r['requests']} answers in {r['seconds']} s; {r['timeouts']} requests unanswered "
                     f"after {WRK_TIMEOUT} s)")
        p50, p95 = (f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}") if r["requests"] else ("—", "—")
        out.append(
            f"| {page.title} | {request} | {r['rps']:,.1f} | {r['rps'] / ceiling_rps:.1%} | {p50} | "
            f"{p95} | {page.queries} | {'—' if page.cpu_ms is None else f'{page.cpu_ms:.1f}'} | "
            f"{'—' if page.sql_ms is None else f'{page.sql_ms:.1f}'} | "
            f"{counts.get(page.key, '—')} | {verdict(page, ceiling_rps)}{note} |")
    out += ["", "Profiles of one request of each page (pyinstrument, in-process): "
            + ", ".join(f"[{p.key}]({Path(p.profile).relative_to('bench')})" for p in pages if p.profile) + ".",
            "", SECTION_END]
    return "\n".join(out)


def write_results(section: str) -> None:
    """Replace the generated part of "## Web pages" in bench/RESULTS.md; other sections untouched."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        _, after = rest.split(SECTION_END, 1)
        text = before + section + after
    elif "## Web pages" in text:
        text = text.replace("## Web pages\n", "## Web pages\n\n" + section + "\n", 1)
    else:
        text = text.rstrip("\n") + "\n\n## Web pages\n\n" + section + "\n"
    RESULTS.write_text(text)


# ---------------------------------------------------------------------- main
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the web pages on PostgreSQL against a bare Flask ceiling.")
    parser.add_argument("--database-url", help=f"default {dataset.BENCH_DATABASE_URL}, or with --national "
                                                f"{NATIONAL_DATABASE_URL}")
    parser.add_argument("--national", action="store_true",
                        help="the national data set (1,000,000 applications) on its own database")
    parser.add_argument("--explain", action="store_true",
                        help="EXPLAIN (ANALYZE, BUFFERS) every statement of every page (the National scale section)")
    parser.add_argument("--no-load", action="store_true", help="no servers, no wrk (with --explain: the plans only)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the data set even if it exists")
    parser.add_argument("--seconds", type=int, default=15, help="measured seconds per page")
    parser.add_argument("--ladder-seconds", type=int, default=8, help="seconds per step of the ceiling's ladder")
    parser.add_argument("--connections", type=int, help="skip the ladder and use this many connections")
    args = parser.parse_args(argv)
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]

    wrk = None if args.no_load else ensure_wrk()
    database_url = args.database_url or (NATIONAL_DATABASE_URL if args.national else dataset.BENCH_DATABASE_URL)
    environment = use_server_environment(database_url)
    if args.rebuild or not database_exists(database_url):
        dataset_counts = dataset.build(database_url, "national" if args.national else 1.0)
    else:
        dataset_counts = table_counts(database_url)
    targets = bench_targets(database_url)
    pages = pages_for(targets)

    in_process = InProcess()
    for page in pages:
        probe = page.path.format(draft=1, id=1)
        if not in_process.exists(page.method, probe):
            page.missing = "no such route yet"
    if args.explain:  # before the load, which saves drafts and awards
        explained = explain_all([p for p in explain_pages_for(targets)
                                 if in_process.exists(p.method, p.path.format(draft=1, id=1))],
                                targets, in_process, bench_token(in_process))
        with psycopg.connect(database_url) as connection:
            cost = connection.execute("SHOW random_page_cost").fetchone()[0]
        write_section(render_plans(explained, command, started, dataset_counts, (load_before, os.getloadavg()[0]),
                                   cost), NATIONAL_START, NATIONAL_END, "## National scale")
        print(f"plans written to {RESULTS.relative_to(ROOT)}", flush=True)
    if args.no_load:
        in_process.close()
        return
    secret = count_queries(pages, targets, in_process)
    in_process.close()
    targets = bench_targets(database_url)  # the instrumented run moved versions and used candidates

    app_server = Server("app", "wsgi:app", APP_PORT, environment)
    hello_server = Server("hello", "bench.hello:app", HELLO_PORT, environment)
    try:
        app_server.wait_ready("/appels/")
        hello_server.wait_ready()
        browsers = {role: sign_in(APP_PORT, email) for role, email in EMAILS.items() if email}
        browsers["public"] = Browser(APP_PORT)

        ladder = []
        if args.connections:
            chosen = args.connections
        else:
            chosen = LADDER[0]
            for connections in LADDER:
                step = run_wrk(wrk, HELLO_PORT, read_script("/", ""), connections, args.ladder_seconds)
                ladder.append(step)
                print(f"ceiling at {connections:>3} connections: {step['rps']:,.0f} req/s, "
                      f"p95 {step['p95_ms']:.1f} ms", flush=True)
                if step["p95_ms"] >= CEILING_P95_MS:
                    break
                chosen = connections
        run_wrk(wrk, HELLO_PORT, read_script("/", ""), chosen, 3)
        ceiling = run_wrk(wrk, HELLO_PORT, read_script("/", ""), chosen, args.seconds)
        print(f"ceiling at {chosen} connections: {ceiling['rps']:,.0f} req/s, p95 {ceiling['p95_ms']:.1f} ms",
              flush=True)

        for page in pages:
            if page.missing:
                print(f"{page.key}: skipped ({page.missing})", flush=True)
                continue
            if page.kind == "read":
                browser = browsers[page.role]
                probe_started = time.monotonic()
                status, _, _ = browser.request("GET", page.path)
                probe = time.monotonic() - probe_started
                if status != 200:
                    page.missing = f"answered {status} to the signed-in probe"
                    continue
                script = read_script(page.path, browser.cookie_header)
                if probe < SLOW_PAGE_SECONDS:
                    run_wrk(wrk, APP_PORT, script, chosen, 3)
                    page.result = run_wrk(wrk, APP_PORT, script, chosen, args.seconds)
                else:  # no warm-up (the probe was one); long enough for each connection to finish a few
                    seconds = int(min(WRK_TIMEOUT * 2, max(args.seconds, probe * chosen * 3)))
                    print(f"{page.key}: {probe:.1f} s for one request: loading it for {seconds} s", flush=True)
                    page.result = run_wrk(wrk, APP_PORT, script, chosen, seconds)
            elif page.key == "draft_save":
                page.result = load_draft_saves(wrk, database_url, chosen, args.seconds)
            elif page.key == "award":
                page.result = load_awards(wrk, secret, database_url, chosen, args.seconds)
            drain()  # the next page starts on idle workers
            r = page.result
            print(f"{page.key}: {r['rps']:,.0f} req/s, p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
                  f"statuses {r['statuses']}, {page.queries} queries", flush=True)
    finally:
        app_server.stop()
        hello_server.stop()
        forget_queue()

    load_after = os.getloadavg()[0]
    counts = query_count_test(database_url)
    section = render(pages, ceiling, ladder, chosen, counts, machine(), command, started, dataset_counts,
                     (load_before, load_after), ceiling_cpu_ms())
    if args.national:  # beside the plans, the scale-1 figures kept
        write_section(section.replace(SECTION_START, "<!-- national-load:results:start -->").replace(
            SECTION_END, "<!-- national-load:results:end -->"), "<!-- national-load:results:start -->",
            "<!-- national-load:results:end -->", "### The load at national scale")
    else:
        write_results(section)
    print(f"results written to {RESULTS.relative_to(ROOT)}")


def load_draft_saves(wrk: str, database_url: str, connections: int, seconds: int) -> dict:
    """Each connection signs in as the member of one association and saves its draft's project."""
    drafts = bench_targets(database_url)["drafts"][:-1]  # the last one is the instrumented run's
    if len(drafts) < connections:
        raise RuntimeError(f"{len(drafts)} bench drafts for {connections} connections: rebuild the data set")
    sessions = {}
    for draft_id, _version, email in drafts[:connections]:
        browser = sign_in(APP_PORT, email)
        status, _, page = browser.request("GET", f"/dossiers/{draft_id}/projet")
        if status != 200:
            raise RuntimeError(f"the project section of dossier {draft_id} answered {status}")
        sessions[draft_id] = (browser.cookie_header, csrf_token(page))

    def script() -> str:  # with the versions the database holds now
        current = bench_targets(database_url)["drafts"]
        return draft_save_script([(d, v, *sessions[d]) for d, v, _ in current if d in sessions],
                                 draft_body_template())

    run_wrk(wrk, APP_PORT, script(), connections, 3, threads=connections)
    drain()
    return run_wrk(wrk, APP_PORT, script(), connections, seconds, threads=connections)


def load_awards(wrk: str, secret: str, database_url: str, connections: int, seconds: int) -> dict:
    def split(ids: list[int]) -> list[list[int]]:
        threads = min(connections, 2)
        return [ids[i::threads] for i in range(threads)]

    candidates = bench_targets(database_url)["candidates"]
    run_wrk(wrk, APP_PORT, award_script(split(candidates[:200]), secret, AWARD_BODY), connections, 2)
    drain()
    candidates = bench_targets(database_url)["candidates"]
    return run_wrk(wrk, APP_PORT, award_script(split(candidates), secret, AWARD_BODY), connections, seconds)


def drain() -> None:
    """Wait until the requests wrk left in flight are served, before reading what they changed."""
    Browser(APP_PORT).request("GET", "/appels/")
    time.sleep(0.5)


def database_exists(url: str) -> bool:
    try:
        with psycopg.connect(url) as connection:
            return connection.execute("SELECT count(*) FROM applications").fetchone()[0] > 0
    except psycopg.Error:
        return False


def table_counts(url: str) -> dict[str, int]:
    from psycopg import sql

    counts = {}
    with psycopg.connect(url) as connection:
        for name in dataset.TABLE_NAMES:
            counts[name] = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()[0]
    return counts


def forget_queue() -> None:
    """Drop the bench's own Celery queue: no worker runs during the bench, the messages would wait."""
    import redis

    redis.Redis.from_url(REDIS_URL).delete(CELERY_QUEUE)


if __name__ == "__main__":
    main()
