"""Configuration classes.

Everything that differs between machines comes from the environment (``DATABASE_URL``, ``REDIS_URL``,
``SECRET_KEY``, ``MAIL_*``, ``UPLOAD_FOLDER``, ``TIME_ZONE``); the classes only choose safe defaults.
``create_app("development")`` is the embedded default: SQLite under ``instance/``, background tasks run
in-process, mail written to ``instance/outbox/`` as .eml files, no Redis nor PostgreSQL needed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(default: str) -> str:
    """The SQLAlchemy URL from ``DATABASE_URL``, with the psycopg 3 driver for PostgreSQL URLs."""
    url = os.environ.get("DATABASE_URL", default)
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def embedded_address() -> tuple[str, int]:
    """Where the embedded server listens (``python -m worker.embedded``): ``HOST`` and ``PORT``."""
    return os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", 5000))


def embedded_server_name() -> str:
    """The host and port that links in emails name on the embedded default: the served ones, so
    that ``PORT=8080 make run`` mails links to :8080. A wildcard HOST (0.0.0.0, ::) listens on
    every interface: the links then name this machine, ``localhost``."""
    host, port = embedded_address()
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:  # an IPv6 address is bracketed in a URL
        host = f"[{host}]"
    return f"{host}:{port}"


def instance_secret_key() -> str:
    """A secret key kept under instance/ so that embedded sessions survive a restart."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = database_url(f"sqlite:///{INSTANCE_DIR / 'subventia.sqlite3'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL")
    # Links in emails queued by workers and scans (no request to take the host from).
    SERVER_NAME = os.environ.get("SERVER_NAME")
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "https")

    TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Paris")
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = TIME_ZONE
    LANGUAGES = ("fr", "en")

    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER", str(INSTANCE_DIR / "uploads"))
    MAX_UPLOAD_BYTES = int(os.environ.get("MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    MAX_CONTENT_LENGTH = MAX_UPLOAD_BYTES + 1024 * 1024
    # Where attachment files go (grants/applications/storage.py): "local" is the UPLOAD_FOLDER.
    ATTACHMENT_STORAGE = os.environ.get("ATTACHMENT_STORAGE", "local")
    # The funder named in the SCDL open-data export of awarded grants (grants/awards/exports.py).
    GRANTOR_NAME = os.environ.get("GRANTOR_NAME", "Région Hauts-de-France")
    GRANTOR_SIRET = os.environ.get("GRANTOR_SIRET", "20005376700014")

    # Flask-Mailman
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = int(os.environ.get("MAIL_TIMEOUT", 30))
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Subventia <no-reply@subventia.localhost>")
    # The embedded default's mail backend (grants.notifications.eml_outbox) writes each message here.
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))

    # Security baseline: cookies are Secure outside development, never readable from scripts.
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 14 * 24 * 3600
    SEND_HSTS = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session: a long form filled in one evening still posts

    PASSWORD_RESET_MAX_AGE = 3600
    INVITATION_MAX_AGE = 7 * 24 * 3600
    LOGIN_RATE_LIMIT_PER_IP = os.environ.get("LOGIN_RATE_LIMIT_PER_IP", "20 per 10 minutes")
    LOGIN_RATE_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_RATE_LIMIT_PER_ACCOUNT", "5 per 10 minutes")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True

    # Celery (Flask documentation pattern: the whole mapping is passed to Celery).
    CELERY: dict = {
        "broker_url": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": TIME_ZONE,
        "broker_connection_retry_on_startup": True,
        # One queue name per deployment (or per test run) on a shared Redis.
        "task_default_queue": os.environ.get("CELERY_QUEUE", "subventia"),
        # An unacknowledged message (acks_late) is handed out again after this long: it must exceed
        # any retry countdown and the sending lease below, or a waiting task is delivered twice.
        "broker_transport_options": {
            "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", 2 * 3600)),
            "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL", 60)),
            "unacked_restore_throttle": 1,
        },
    }
    NOTIFICATION_RETRY_BASE_SECONDS = int(os.environ.get("NOTIFICATION_RETRY_BASE_SECONDS", 30))
    # A row claimed for sending longer ago than this belongs to a delivery that died (worker killed):
    # it may be claimed again. Far longer than one SMTP exchange (MAIL_TIMEOUT per step).
    NOTIFICATION_SENDING_LEASE_SECONDS = int(os.environ.get("NOTIFICATION_SENDING_LEASE_SECONDS", 600))
    # How often beat runs the scans for due reminders, digests and stale outbox rows.
    NOTIFICATION_SCAN_SECONDS = int(os.environ.get("NOTIFICATION_SCAN_SECONDS", 300))
    # Reminders and digests go out from this hour (Europe/Paris) of the day they are due, not at midnight.
    NOTIFICATION_MORNING_HOUR = int(os.environ.get("NOTIFICATION_MORNING_HOUR", 8))
    # In-process delivery when no broker is configured (embedded default, unit tests).
    TASKS_RUN_IN_PROCESS = False

    # A request that flushed changes without committing them is a bug; the tests turn this on.
    FAIL_ON_UNCOMMITTED_REQUEST = False


class DevelopmentConfig(Config):
    """The embedded default: one process, SQLite under instance/, no Redis, mail as .eml files in
    instance/outbox/."""

    DEBUG = env_bool("FLASK_DEBUG", False)
    SECRET_KEY = os.environ.get("SECRET_KEY") or None  # filled from instance/ by create_app
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SEND_HSTS = False
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "grants.notifications.eml_outbox.EmailBackend")
    SERVER_NAME = os.environ.get("SERVER_NAME") or embedded_server_name()
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    TASKS_RUN_IN_PROCESS = not os.environ.get("REDIS_URL")
    CELERY = {**Config.CELERY, "task_always_eager": TASKS_RUN_IN_PROCESS,
              "task_eager_propagates": False}


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = "sqlite://"  # replaced per test session by tests/conftest.py
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WTF_CSRF_ENABLED = False  # tests/test_security.py turns it back on and proves every form needs it
    SERVER_NAME = "subventia.test"
    MAIL_BACKEND = "locmem"
    TASKS_RUN_IN_PROCESS = True
    CELERY = {**Config.CELERY, "task_always_eager": True, "task_eager_propagates": True}
    RATELIMIT_ENABLED = False  # tests/accounts/test_login_limits.py turns it back on
    FAIL_ON_UNCOMMITTED_REQUEST = True
    # argon2 at full strength makes each test login take ~100 ms; the tests check the parameters apart.
    PASSWORD_HASHER = "fast"


class ProductionConfig(Config):
    """PostgreSQL, Redis, a real SMTP relay; refuses to start without its secrets."""

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get(
        "REDIS_URL", "memory://"
    )
    REQUIRED_ENVIRONMENT = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
