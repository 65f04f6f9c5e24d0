"""End-to-end fixtures: the app served by gunicorn on loopback with a real worker and a real SMTP
server, driven by headless Chromium from Debian's packages through Playwright, with axe-core checking
every page.

The stack, started once for the e2e tests (package-scoped: stopped after the last of them, so that
the rest of a worker's tests never run beside a browser):
- with PostgreSQL in ``SUBVENTIA_TEST_DATABASES`` (the default): a PostgreSQL database of its own,
  gunicorn on the embedded default's settings (``development``: plain-HTTP cookies) with
  ``REDIS_URL`` set, so that mail goes through the outbox to a real Celery worker on Redis;
- with SQLite only: a SQLite file, and the embedded default's in-process tasks (no Redis).
Either way mail is sent over SMTP to aiosmtpd on loopback, and read from there by the tests.

Chromium is never downloaded: ``make test`` installs Debian's ``chromium`` where it is missing (as
root); elsewhere the tests skip with the reason, except under CI=true, where they fail. axe-core is
installed by ``npm ci`` from tests/e2e/package-lock.json (pinned, integrity-checked).

On failure, a screenshot and the HTML of every open page go to tests/screenshots/<test>/ (the
folder is printed in the failure report).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from grants import create_app
from grants.database import db
from tests.conftest import (
    BACKENDS,
    POSTGRES_ADMIN_URL,
    REDIS_URL,
    config_for,
    migrate_database,
    redis_available,
    require_service,
)
from tests.live_servers import (
    RecordingSMTPHandler,
    celery_worker,
    free_port,
    gunicorn_server,
    smtp_server,
)

E2E_DIR = Path(__file__).resolve().parent
ROOT = E2E_DIR.parent.parent
ARTIFACTS = ROOT / "tests" / "screenshots"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
# No sandbox: CI runs as root, where Chromium's sandbox refuses to start. The rest keeps the browser
# from calling home (updates, sync, QUIC probes): the tests' only traffic is to loopback.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
AXE = E2E_DIR / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA (the basis of the RGAA), plus axe's best practices; only serious and critical
# findings fail a test, every finding is written to the accessibility report.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING_IMPACTS = {"serious", "critical"}
CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
ACCESSIBILITY_REPORT = ARTIFACTS / "accessibility.json"


# --- Tools: Chromium, axe-core ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    if not CHROMIUM.exists():
        require_service(
            "Chromium",
            f"{CHROMIUM} is missing; `make test` installs it as root with "
            "`apt-get install --no-install-recommends chromium chromium-driver`",
        )
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser build, installed from the lock file on first use."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            require_service("npm", "needed once to install axe-core into tests/e2e/node_modules")
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(E2E_DIR)],
            capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0 or not AXE.exists():
            require_service("axe-core", f"`npm ci` in tests/e2e failed: {result.stderr[-2000:]}")
    return AXE.read_text()


@pytest.fixture(scope="package")
def playwright_browser(chromium_executable):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -c constraints.txt -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# --- The served app -------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def e2e_database(tmp_path_factory):
    """A database of the e2e tests' own (never the one other tests truncate), built by the migrations."""
    folder = tmp_path_factory.mktemp("e2e-db")
    if "postgresql" not in BACKENDS:
        url = f"sqlite:///{folder / 'e2e.sqlite3'}"
        migrate_database(url, folder)
        yield "sqlite", url
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        require_service("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {exc.orig}")
    name = f"subventia_e2e_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate_database(url, folder)
        yield "postgresql", url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Stack:
    base_url: str
    backend: str
    app: object  # a Flask app on the served database, to arrange data and check outcomes
    mail: RecordingSMTPHandler
    logs: list[Path]

    def emails_to(self, address: str) -> list:
        """The parsed messages the SMTP server received for ``address``, oldest first."""
        from email import message_from_bytes, policy

        return [
            message_from_bytes(envelope.original_content, policy=policy.default)
            for envelope in list(self.mail.messages)
            if address in envelope.rcpt_tos
        ]

    def database(self):
        """An app context on the served database (``with stack.database(): ...``)."""
        return self.app.app_context()


@pytest.fixture(scope="package")
def stack(chromium_executable, playwright_browser, axe_source, e2e_database, tmp_path_factory):
    backend, url = e2e_database
    folder = tmp_path_factory.mktemp("e2e-stack")
    handler = RecordingSMTPHandler()
    with smtp_server(handler) as smtp:
        port = free_port()
        env = {
            **os.environ,
            # The embedded default's settings (cookies without Secure: the browser talks plain HTTP
            # to 127.0.0.1), on the e2e database, sending mail over SMTP to the test server.
            "SUBVENTIA_CONFIG": "development",
            "FLASK_DEBUG": "0",
            "SECRET_KEY": "e2e-" + uuid.uuid4().hex,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder / "instance"),
            "UPLOAD_FOLDER": str(folder / "uploads"),
            "MAIL_BACKEND": "smtp",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp.port),
            "NOTIFICATION_RETRY_BASE_SECONDS": "1",
            # Links in emails lead to the served app.
            "SERVER_NAME": f"127.0.0.1:{port}",
            "PREFERRED_URL_SCHEME": "http",
        }
        env.pop("REDIS_URL", None)
        logs = [folder / "gunicorn.log"]
        with ExitStack() as processes:
            if backend == "postgresql":
                # Tasks leave through Redis to a real Celery worker, on a queue of this run's own.
                reason = redis_available()
                if reason:
                    require_service("Redis", f"{REDIS_URL}: {reason}")
                env.update({"REDIS_URL": REDIS_URL, "CELERY_QUEUE": f"subventia-e2e-{uuid.uuid4().hex[:8]}"})
                logs.append(folder / "worker.log")
                processes.enter_context(celery_worker(env, logs[-1]))
            base_url = processes.enter_context(gunicorn_server(env, logs[0], port=port))
            app = create_app(config_for(url, folder))
            yield Stack(base_url=base_url, backend=backend, app=app, mail=handler, logs=logs)
            with app.app_context():
                db.engine.dispose()


# --- The served app on the demo data, restored before each form ----------------------------------

SNAPSHOT_SCHEMA = "seeded"


@dataclass
class DemoStack:
    """gunicorn serving the demo data (``flask demo seed``, plus the accounts and links the demo has
    not: an admin, a user with no role, a pending invitation), which ``restore()`` puts back as it was
    seeded: each form is submitted against the same fresh state, whatever the forms before it did."""

    base_url: str
    app: object
    secrets: dict  # signed links made for the seeded data: {"invitation": ..., "password_reset": ..., ...}
    logs: list[Path]

    def database(self):
        return self.app.app_context()

    def restore(self) -> None:
        """Every table back to its seeded rows and every sequence to its seeded value, in one
        transaction. gunicorn keeps its connections: no database is dropped under it."""
        with self.app.app_context(), db.engine.begin() as connection:
            tables = [table.name for table in db.metadata.sorted_tables]
            # Neither triggers (the append-only ones refuse DELETE) nor foreign keys fire in replica
            # mode; DELETE on these few rows is far quicker than TRUNCATE's new files.
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for name in reversed(tables):
                connection.execute(sa.text(f'DELETE FROM "{name}"'))  # noqa: S608 — table names from the models
            for name in tables:
                # The models' columns, named: generated ones (applications.search_document) refuse values.
                columns = ", ".join(f'"{column.name}"' for column in db.metadata.tables[name].columns)
                copy = (f'INSERT INTO "{name}" ({columns}) OVERRIDING SYSTEM VALUE '  # noqa: S608
                        f'SELECT {columns} FROM {SNAPSHOT_SCHEMA}."{name}"')
                connection.execute(sa.text(copy))
            for sequence, value in connection.execute(sa.text(
                    f"SELECT sequence_name, last_value FROM {SNAPSHOT_SCHEMA}.sequence_values")).all():  # noqa: S608
                connection.execute(sa.text(
                    "SELECT setval(CAST(:sequence AS regclass), CAST(:value AS bigint), CAST(:called AS boolean))"),
                                   {"sequence": sequence, "value": value or 1, "called": value is not None})


def seed_the_demo(app) -> dict:
    """The demo data, the accounts it lacks (admin, no role) and a pending invitation; then a copy
    of every table and sequence in the snapshot schema. Returns the signed links made for it."""
    from datetime import timedelta

    from grants.accounts.models import StaffRole, User
    from grants.accounts.passwords import hash_password
    from grants.accounts.services import make_confirmation_token, make_reset_token
    from grants.database import utcnow
    from grants.demo.seed import DEMO_PASSWORD, seed_demo
    from grants.organisations.models import Invitation, Membership
    from grants.organisations.services import invitation_token
    from tests.e2e.walk import DEMO_ADMIN_EMAIL, NO_ROLE_EMAIL

    with app.app_context():
        seed_demo()
        for email, full_name, staff_role in ((DEMO_ADMIN_EMAIL, "Anne Administratrice", StaffRole.ADMIN),
                                             (NO_ROLE_EMAIL, "Paul Sansrôle", None)):
            if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:
                db.session.add(User(email=email, full_name=full_name, staff_role=staff_role, locale="fr",
                                    password_hash=hash_password(DEMO_PASSWORD), email_confirmed_at=utcnow()))
        # A sign-up whose emailed link is not opened yet (accounts.confirm_email).
        signed_up = User(email="nouvelle.inscrite@exemple.fr", full_name="Nina Inscrite", locale="fr",
                         password_hash=hash_password(DEMO_PASSWORD), email_confirmed_at=None)
        db.session.add(signed_up)
        owner = db.session.scalars(sa.select(Membership).order_by(Membership.id)).first()
        invitation = Invitation(organisation_id=owner.organisation_id, email="nouvelle.recrue@exemple.fr",
                                invited_by_id=owner.user_id, expires_at=utcnow() + timedelta(days=7))
        db.session.add(invitation)
        db.session.commit()
        links = {
            "invitation": invitation_token(invitation),
            "password_reset": make_reset_token(db.session.scalar(sa.select(User).where(User.email == NO_ROLE_EMAIL))),
            "email_confirmation": make_confirmation_token(signed_up),
        }
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"CREATE SCHEMA {SNAPSHOT_SCHEMA}"))
            for table in db.metadata.sorted_tables:
                copy = f'CREATE TABLE {SNAPSHOT_SCHEMA}."{table.name}" AS SELECT * FROM "{table.name}"'  # noqa: S608
                connection.execute(sa.text(copy))
            connection.execute(sa.text(
                f"CREATE TABLE {SNAPSHOT_SCHEMA}.sequence_values AS "  # noqa: S608 — a constant schema name
                "SELECT format('%I.%I', schemaname, sequencename) AS sequence_name, last_value "
                "FROM pg_sequences WHERE schemaname = 'public'"))
        db.session.remove()
    return links


@pytest.fixture(scope="package")
def demo_stack(chromium_executable, playwright_browser, axe_source, tmp_path_factory):
    """The demo data served by gunicorn on PostgreSQL (the restore between forms needs it), tasks
    in-process, mail written as files."""
    if "postgresql" not in BACKENDS:
        require_service("PostgreSQL", "the form walk restores the seeded PostgreSQL database before each form; "
                                      "SUBVENTIA_TEST_DATABASES leaves PostgreSQL out")
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        require_service("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {exc.orig}")
    folder = tmp_path_factory.mktemp("e2e-demo")
    name = f"subventia_e2e_demo_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    secret_key = "e2e-demo-" + uuid.uuid4().hex
    try:
        migrate_database(url, folder)
        app = create_app(config_for(url, folder, SECRET_KEY=secret_key))
        links = seed_the_demo(app)
        port = free_port()
        env = {
            **os.environ,
            "SUBVENTIA_CONFIG": "development",
            "FLASK_DEBUG": "0",
            "SECRET_KEY": secret_key,
            "DATABASE_URL": url,
            "INSTANCE_PATH": str(folder / "instance"),
            "UPLOAD_FOLDER": str(folder / "uploads"),
            "MAIL_OUTBOX_DIR": str(folder / "outbox"),
            "SERVER_NAME": f"127.0.0.1:{port}",
            "PREFERRED_URL_SCHEME": "http",
            # Dozens of sign-ins and reset requests from one address, for the same few accounts.
            "LOGIN_RATE_LIMIT_PER_IP": "10000 per minute",
            "LOGIN_RATE_LIMIT_PER_ACCOUNT": "10000 per minute",
            # restore() rewrites the tables under the server, by SQL: no cached page may outlive that.
            "PAGE_CACHE_SECONDS": "0",
        }
        env.pop("REDIS_URL", None)
        env.pop("MAIL_BACKEND", None)
        log = folder / "gunicorn.log"
        with gunicorn_server(env, log, workers=1, port=port) as base_url:
            yield DemoStack(base_url=base_url, app=app, secrets=links, logs=[log])
        with app.app_context():
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- Pages, with axe on each ---------------------------------------------------------------------


@dataclass
class AccessibilityLog:
    """Every page checked in this session and everything axe found, written at the end."""

    pages: list[dict] = field(default_factory=list)
    fingerprints: set[str] = field(default_factory=set)

    def write(self) -> None:
        if not self.pages:
            return
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        ACCESSIBILITY_REPORT.write_text(json.dumps(self.pages, indent=2, ensure_ascii=False))


@pytest.fixture(scope="package")
def accessibility_log():
    log = AccessibilityLog()
    yield log
    log.write()


def describe_violations(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"][:8]:
            lines.append(f"      at {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


class Browsing:
    """One person's browser (a context of its own), whose every page is checked with axe.

    ``check()`` runs axe on the page as it is and fails on a serious or critical violation, or on a
    script error or Content-Security-Policy refusal seen in the console. A navigation that was never
    checked before the next one is remembered, and fails the test at the end: every page of a
    journey is checked.
    """

    def __init__(self, name: str, context, axe: str, log: AccessibilityLog, test_name: str):
        self.name = name
        self.context = context
        self.axe = axe
        self.log = log
        self.test_name = test_name
        self.page = context.new_page()
        self.console_errors: list[str] = []
        self.unchecked: list[str] = []
        self.checked_current = True
        self.page.on("console", self.on_console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"script error: {error}"))
        self.page.on("framenavigated", self.on_navigation)
        self.page.on("response", self.on_response)

    def on_console(self, message) -> None:
        # A failed load is reported with its address by on_response; the console's own line has none.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def on_response(self, response) -> None:
        # The page itself may answer 4xx on purpose (a form with errors); its assets may not. Browsers
        # ask for /favicon.ico on their own: the app has none, and no page links to one.
        request = response.request
        if response.status >= 400 and request.resource_type != "document" and not request.url.endswith("/favicon.ico"):
            self.console_errors.append(f"{response.status} for {request.resource_type} {request.url}")

    def on_navigation(self, frame) -> None:
        if frame != self.page.main_frame:
            return
        if frame.url.split("#")[0] == self.current_url.split("#")[0] and "#" in frame.url:
            return  # a link to an anchor of the same page: no new page
        if not self.checked_current:
            self.unchecked.append(self.current_url)
        self.current_url = frame.url
        self.checked_current = False

    current_url = ""

    def goto(self, path: str):
        response = self.page.goto(path)
        assert response is not None and response.ok, f"GET {path}: {response and response.status}"
        self.check()
        return response

    def check(self) -> list[dict]:
        """axe on the current page; fails on serious/critical findings and console errors."""
        page = self.page
        started = time.monotonic()
        page.wait_for_load_state("load")
        # A page exactly like one already checked (the sign-in page, again) is not checked twice.
        fingerprint = hashlib.sha256(CSRF_INPUT.sub("", page.content()).encode()).hexdigest()
        if fingerprint in self.log.fingerprints:
            return self.settle(page, [], started, repeated=True)
        if not page.evaluate("() => typeof window.axe === 'object'"):
            # Evaluated through the DevTools protocol, so the page's CSP stays in force for the test.
            page.evaluate(self.axe)
        results = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
            AXE_TAGS,
        )
        violations = [
            {"id": v["id"], "impact": v["impact"], "help": v["help"], "helpUrl": v["helpUrl"],
             "nodes": [{"target": n["target"], "html": n["html"][:300],
                        "failureSummary": n.get("failureSummary", "")} for n in v["nodes"]]}
            for v in results["violations"]
        ]
        self.log.fingerprints.add(fingerprint)
        return self.settle(page, violations, started, repeated=False)

    def settle(self, page, violations: list[dict], started: float, repeated: bool) -> list[dict]:
        self.log.pages.append({"test": self.test_name, "actor": self.name, "url": page.url,
                               "title": page.title(), "seconds": round(time.monotonic() - started, 2),
                               "same_as_a_page_checked_before": repeated,
                               "violations": violations})
        self.checked_current = True
        errors, self.console_errors = self.console_errors, []
        failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
        assert not failing, (
            f"axe-core: serious or critical accessibility violations on {page.url} "
            f"({page.title()}):\n{describe_violations(failing)}"
        )
        assert not errors, f"console errors on {page.url}:\n  " + "\n  ".join(errors)
        return violations

    def screenshot(self, folder: Path) -> list[Path]:
        saved = []
        for number, page in enumerate(self.context.pages):
            stem = folder / f"{self.name}-{number}"
            try:
                page.screenshot(path=f"{stem}.png", full_page=True)
                Path(f"{stem}.html").write_text(page.content())
                saved += [Path(f"{stem}.png"), Path(f"{stem}.html")]
            except Exception as error:  # a crashed page must not hide the test's own failure
                Path(f"{stem}.error.txt").write_text(f"{page.url}: {error}")
        return saved


class People:
    """``people("association")``: that person's browser (a context of its own, opened on first use).

    ``people.leave()`` closes every browser, after checking that each page they loaded was checked
    with axe: the next step starts with no one signed in.
    """

    def __init__(self, browser, base_url: str | None, axe: str, log: AccessibilityLog, test_name: str):
        self.browser, self.base_url, self.axe, self.log, self.test_name = browser, base_url, axe, log, test_name
        self.opened: dict[str, Browsing] = {}

    def __call__(self, name: str) -> Browsing:
        if name not in self.opened:
            options = {"locale": "fr-FR", "timezone_id": "Europe/Paris", "viewport": {"width": 1280, "height": 900}}
            if self.base_url:
                options["base_url"] = self.base_url
            context = self.browser.new_context(**options)
            context.set_default_timeout(15_000)
            self.opened[name] = Browsing(name, context, self.axe, self.log, self.test_name)
        return self.opened[name]

    def leave(self) -> None:
        unchecked = {name: b.unchecked for name, b in self.opened.items() if b.unchecked}
        self.close()
        assert not unchecked, f"pages loaded but never checked with axe: {unchecked}"

    def close(self) -> None:
        for browsing in self.opened.values():
            browsing.context.close()
        self.opened.clear()


def people_for(request, browser, base_url, axe, log):
    people = People(browser, base_url, axe, log, request.node.name)
    request.node.e2e_people = people
    yield people
    if getattr(request.node, "rep_call_failed", True):
        people.close()
    else:
        people.leave()


@pytest.fixture
def browse(request, stack, playwright_browser, axe_source, accessibility_log):
    """People browsing the served app."""
    yield from people_for(request, playwright_browser, stack.base_url, axe_source, accessibility_log)


@pytest.fixture
def browse_offline(request, playwright_browser, axe_source, accessibility_log):
    """People browsing pages the test serves itself (page.route), without the app's stack."""
    yield from people_for(request, playwright_browser, None, axe_source, accessibility_log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call_failed = report.failed
    people = getattr(item, "e2e_people", None)
    if not report.failed or people is None or not people.opened or report.when == "teardown":
        return
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", item.nodeid)
    folder.mkdir(parents=True, exist_ok=True)
    saved = [path for browsing in people.opened.values() for path in browsing.screenshot(folder)]
    message = f"screenshots and HTML of the open pages saved in {folder} ({len(saved)} files)"
    if hasattr(report.longrepr, "addsection"):
        report.longrepr.addsection("e2e artifacts", message)
    else:
        report.sections.append(("e2e artifacts", message))
