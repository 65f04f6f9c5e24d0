"""Configuration classes.

Everything that differs between machines comes from the environment (``DATABASE_URL``, ``REDIS_URL``,
``SECRET_KEY``, ``MAIL_*``, ``UPLOAD_FOLDER``, ``TIME_ZONE``, ``GRANTOR_*``…), read by ``create_app``
when it builds an app, never when this module is imported: a setting is an :class:`Env` (the variable
it comes from, its default and how to parse it) or a :class:`Derived` (computed from other settings),
and :func:`resolve_settings` turns both into values. The classes only choose safe defaults; a subclass
that sets a plain value (the tests, the benchmarks) is not overridden by the environment.
``create_app("development")`` is the embedded default: SQLite under ``instance/``, background tasks run
in-process, mail written to ``instance/outbox/`` as .eml files, no Redis nor PostgreSQL needed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from decimal import Decimal
from hashlib import sha256
from pathlib import Path

from grants.demo import settings as demo

BASE_DIR = Path(__file__).resolve().parent


class Env:
    """A setting read from the environment: the first of ``names`` set to a non-empty value, parsed;
    otherwise ``default`` (a value, or a :class:`Derived`)."""

    def __init__(self, *names: str, default=None, parse: Callable[[str], object] = str):
        self.names, self.default, self.parse = names, default, parse

    def __repr__(self) -> str:
        return f"Env({', '.join(self.names)})"


class Derived:
    """A setting computed from others once they are read: ``compute(get)``, ``get(name)`` giving a
    setting's value."""

    def __init__(self, compute: Callable[[Callable[[str], object]], object]):
        self.compute = compute


def resolve_settings(settings: dict, environ: Mapping[str, str]) -> None:
    """Replace, in place, every :class:`Env` and :class:`Derived` of ``settings`` (nested dicts
    included) by its value, reading ``environ``."""

    def get(name: str):
        settings[name] = resolve(settings[name])
        return settings[name]

    def resolve(value):
        if isinstance(value, Env):
            raw = next((environ[name] for name in value.names if environ.get(name)), None)
            return resolve(value.default) if raw is None else value.parse(raw)
        if isinstance(value, Derived):
            return resolve(value.compute(get))
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        return value

    for name in list(settings):
        get(name)


def boolean(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def sqlalchemy_url(url: str) -> str:
    """A database URL as SQLAlchemy takes it: the psycopg 3 driver for PostgreSQL URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def instance_secret_key(instance_path: str) -> str:
    """A secret key kept under instance/ so that embedded sessions survive a restart."""
    folder = Path(instance_path)
    path = folder / "secret_key"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def served_name(host: str, port: int) -> str:
    """The host and port that links in emails name on the embedded default: the served ones, so
    that ``PORT=8080 make run`` mails links to :8080. A wildcard host (0.0.0.0, ::) listens on every
    interface: the links then name this machine, ``localhost``."""
    if host in ("0.0.0.0", "::", ""):
        host = "localhost"
    elif ":" in host:  # an IPv6 address is bracketed in a URL
        host = f"[{host}]"
    return f"{host}:{port}"


def under_instance(name: str) -> Derived:
    return Derived(lambda get: str(Path(get("INSTANCE_PATH")) / name))


class Config:
    # instance/: the embedded database, uploads, outbox and secret key (create_app's instance_path).
    INSTANCE_PATH = Env("INSTANCE_PATH", default=str(BASE_DIR / "instance"))
    SECRET_KEY = Env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = Env("DATABASE_URL", default=Derived(
        lambda get: f"sqlite:///{Path(get('INSTANCE_PATH')) / 'subventia.sqlite3'}"), parse=sqlalchemy_url)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = Env("REDIS_URL")
    # Links in emails queued by workers and scans (no request to take the host from).
    SERVER_NAME = Env("SERVER_NAME")
    # Where the embedded runner (python -m worker.embedded, make run) listens.
    HOST = Env("HOST", default="127.0.0.1")
    PORT = Env("PORT", default=5000, parse=int)
    PREFERRED_URL_SCHEME = Env("PREFERRED_URL_SCHEME", default="https")

    # The public pages of calls served to anonymous visitors from a cache (grants/page_cache.py): on
    # Redis, shared by every web node, where one is set; otherwise in files under instance/, shared by
    # the processes of this machine (gunicorn's workers: one's memory would not hear another's changes).
    PAGE_CACHE_REDIS_URL = Env("PAGE_CACHE_REDIS_URL", "REDIS_URL")
    PAGE_CACHE_DIR = Env("PAGE_CACHE_DIR", default=under_instance("page-cache"))
    # Keys name the database by default: two installs (or test runs) on one Redis never share a page.
    PAGE_CACHE_KEY_PREFIX = Env("PAGE_CACHE_KEY_PREFIX", default=Derived(
        lambda get: f"subventia:pages:{sha256(str(get('SQLALCHEMY_DATABASE_URI')).encode()).hexdigest()[:12]}:"))
    # The longest a page is kept (a page whose countdowns change sooner goes sooner); 0: no cache.
    PAGE_CACHE_SECONDS = Env("PAGE_CACHE_SECONDS", default=300, parse=int)

    TIME_ZONE = Env("TIME_ZONE", default="Europe/Paris")
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = Derived(lambda get: get("TIME_ZONE"))
    LANGUAGES = ("fr", "en")

    UPLOAD_FOLDER = Env("UPLOAD_FOLDER", default=under_instance("uploads"))
    MAX_UPLOAD_BYTES = Env("MAX_UPLOAD_BYTES", default=10 * 1024 * 1024, parse=int)
    # The attachments page sends every file in one form: a request may carry this many files, each
    # checked against MAX_UPLOAD_BYTES (with a message under its field); a body beyond that is a 413.
    MAX_UPLOAD_FILES = 10
    MAX_CONTENT_LENGTH = Derived(lambda get: get("MAX_UPLOAD_BYTES") * get("MAX_UPLOAD_FILES") + 1024 * 1024)
    # A refused body (over MAX_CONTENT_LENGTH) is read and dropped up to this many bytes before the
    # 413 page is sent: a client still sending when the server closes gets a connection reset instead
    # of the page. Beyond it, the connection is closed unread.
    REFUSED_BODY_DRAIN_BYTES = Env("REFUSED_BODY_DRAIN_BYTES", default=Derived(lambda get: 2 * get("MAX_CONTENT_LENGTH")),
                                   parse=int)
    # Where attachment files go (grants/storage.py): "local" is the UPLOAD_FOLDER (one machine);
    # "s3" a bucket of an S3-compatible object store shared by every web node and worker (README,
    # "Several web servers").
    ATTACHMENT_STORAGE = Env("ATTACHMENT_STORAGE", default="local")
    S3_ENDPOINT_URL = Env("S3_ENDPOINT_URL")
    S3_BUCKET = Env("S3_BUCKET")
    S3_ACCESS_KEY_ID = Env("S3_ACCESS_KEY_ID")
    S3_SECRET_ACCESS_KEY = Env("S3_SECRET_ACCESS_KEY")
    S3_REGION = Env("S3_REGION", default="us-east-1")
    # One PUT below this size, parts of S3_MULTIPART_CHUNKSIZE above it (at most 4 in memory at once).
    S3_MULTIPART_THRESHOLD = Env("S3_MULTIPART_THRESHOLD", default=16 * 1024 * 1024, parse=int)
    S3_MULTIPART_CHUNKSIZE = Env("S3_MULTIPART_CHUNKSIZE", default=8 * 1024 * 1024, parse=int)
    S3_CONNECT_TIMEOUT = Env("S3_CONNECT_TIMEOUT", default=3, parse=int)
    S3_READ_TIMEOUT = Env("S3_READ_TIMEOUT", default=30, parse=int)
    S3_MAX_ATTEMPTS = Env("S3_MAX_ATTEMPTS", default=3, parse=int)
    # The sweeper (grants/stored_files.py, run by beat every STORAGE_SWEEP_SECONDS) deletes a stored
    # file that no row names once it is older than this: an orphan lives at most the sum of the two.
    STORAGE_ORPHAN_GRACE_SECONDS = Env("STORAGE_ORPHAN_GRACE_SECONDS", default=2 * 3600, parse=int)
    STORAGE_SWEEP_SECONDS = Env("STORAGE_SWEEP_SECONDS", default=3600, parse=int)
    # How long the link to a call's ZIP of attachments (grants/applications/bundles.py) stays valid.
    BUNDLE_LIFETIME_SECONDS = Env("BUNDLE_LIFETIME_SECONDS", default=7 * 24 * 3600, parse=int)
    # The funder named in the SCDL open-data export of awarded grants (grants/awards/exports.py): each
    # deployment names itself (production requires both); the demo's funder is in grants/demo/settings.py.
    GRANTOR_NAME = Env("GRANTOR_NAME")
    GRANTOR_SIRET = Env("GRANTOR_SIRET")
    # From this amount an award needs a signed convention before any payment (French law: décret
    # n° 2001-495, 23 000 €); below it, only on the calls that ask for one (grants.conventions).
    CONVENTION_THRESHOLD = Env("CONVENTION_THRESHOLD", default=Decimal("23000"), parse=Decimal)

    # Flask-Mailman
    MAIL_BACKEND = Env("MAIL_BACKEND", default="smtp")
    MAIL_SERVER = Env("MAIL_SERVER", default="localhost")
    MAIL_PORT = Env("MAIL_PORT", default=25, parse=int)
    MAIL_USERNAME = Env("MAIL_USERNAME")
    MAIL_PASSWORD = Env("MAIL_PASSWORD")
    MAIL_USE_TLS = Env("MAIL_USE_TLS", default=False, parse=boolean)
    MAIL_USE_SSL = Env("MAIL_USE_SSL", default=False, parse=boolean)
    MAIL_TIMEOUT = Env("MAIL_TIMEOUT", default=30, parse=int)
    MAIL_DEFAULT_SENDER = Env("MAIL_DEFAULT_SENDER", default="Subventia <no-reply@subventia.localhost>")
    # The embedded default's mail backend (grants.outbox.eml_files) writes each message here.
    MAIL_OUTBOX_DIR = Env("MAIL_OUTBOX_DIR", default=under_instance("outbox"))

    # Security baseline: cookies are Secure outside development, never readable from scripts.
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 14 * 24 * 3600
    # How long a sign-in without "remember me" stays valid on the server (a working day and its evening).
    LOGIN_SESSION_LIFETIME = Env("LOGIN_SESSION_LIFETIME", default=12 * 3600, parse=int)
    SEND_HSTS = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session: a long form filled in one evening still posts

    PASSWORD_RESET_MAX_AGE = 3600
    # How long the link emailed at sign-up confirms the address (seconds).
    EMAIL_CONFIRMATION_MAX_AGE = 3 * 24 * 3600
    INVITATION_MAX_AGE = 7 * 24 * 3600
    # Failed sign-ins only (a successful one never counts): per client address, and per account from
    # one address — so that nobody elsewhere can lock the owner out of their account.
    LOGIN_RATE_LIMIT_PER_IP = Env("LOGIN_RATE_LIMIT_PER_IP", default="20 per 10 minutes")
    LOGIN_RATE_LIMIT_PER_ACCOUNT = Env("LOGIN_RATE_LIMIT_PER_ACCOUNT", default="5 per 10 minutes")
    REGISTRATION_RATE_LIMIT_PER_IP = Env("REGISTRATION_RATE_LIMIT_PER_IP", default="10 per hour")
    REGISTRATION_RATE_LIMIT_PER_EMAIL = Env("REGISTRATION_RATE_LIMIT_PER_EMAIL", default="3 per hour")
    RATELIMIT_STORAGE_URI = Env("RATELIMIT_STORAGE_URI", default="memory://")
    RATELIMIT_KEY_PREFIX = Env("RATELIMIT_KEY_PREFIX", default="subventia")
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: the limits keep counting in this process's memory (logged) rather than failing
    # every sign-in with a server error.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # How many proxies in front of the app set X-Forwarded-For/-Proto (README: behind one TLS proxy,
    # 1). Without it every client would share the proxy's address in the limits and the audit log.
    TRUSTED_PROXY_HOPS = Env("TRUSTED_PROXY_HOPS", default=0, parse=int)

    # Celery (Flask documentation pattern: the whole mapping is passed to Celery).
    CELERY: dict = {
        "broker_url": Env("REDIS_URL", default="redis://127.0.0.1:6379/0"),
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "timezone": Derived(lambda get: get("TIME_ZONE")),
        "broker_connection_retry_on_startup": True,
        # One queue name per deployment (or per test run) on a shared Redis.
        "task_default_queue": Env("CELERY_QUEUE", default="subventia"),
        # An unacknowledged message (acks_late) is handed out again after this long: it must exceed
        # any retry countdown and the sending lease below, or a waiting task is delivered twice.
        "broker_transport_options": {
            "visibility_timeout": Env("CELERY_VISIBILITY_TIMEOUT", default=2 * 3600, parse=int),
            "unacked_restore_interval": Env("CELERY_UNACKED_RESTORE_INTERVAL", default=60, parse=int),
            "unacked_restore_throttle": 1,
        },
    }
    NOTIFICATION_RETRY_BASE_SECONDS = Env("NOTIFICATION_RETRY_BASE_SECONDS", default=30, parse=int)
    # A row claimed for sending longer ago than this belongs to a delivery that died (worker killed):
    # it may be claimed again. A batch in flight renews its lease every quarter of it, so this only
    # has to exceed one SMTP exchange (MAIL_TIMEOUT per step).
    NOTIFICATION_SENDING_LEASE_SECONDS = Env("NOTIFICATION_SENDING_LEASE_SECONDS", default=120, parse=int)
    # How many notifications one delivery task claims and sends over one SMTP connection.
    NOTIFICATION_BATCH_SIZE = Env("NOTIFICATION_BATCH_SIZE", default=100, parse=int)
    # At most this many messages per second from one worker process (relays throttle); 0: no limit.
    NOTIFICATION_SEND_RATE = Env("NOTIFICATION_SEND_RATE", default=0, parse=float)
    # How often the sweeper runs, and how long after it was due a pending row is handed out again by it
    # (its task message was lost: a crash before the enqueue, a broker restart).
    NOTIFICATION_SWEEP_AFTER_SECONDS = Env("NOTIFICATION_SWEEP_AFTER_SECONDS", default=60, parse=int)
    # How often beat runs the scans for due reminders and digests (worker.beat_schedule).
    NOTIFICATION_SCAN_SECONDS = Env("NOTIFICATION_SCAN_SECONDS", default=300, parse=int)
    # Reminders and digests go out from this hour (Europe/Paris) of the day they are due, not at midnight.
    NOTIFICATION_MORNING_HOUR = Env("NOTIFICATION_MORNING_HOUR", default=8, parse=int)
    # The final report (compte rendu financier) is due this many months after the end of the financial
    # year (the calendar year) in which the project ends (loi 2000-321 art. 10: six months); the
    # association is reminded this many days before the due date, and once when it has passed. A gap
    # above this percentage between a line's forecast and its actual amount must be explained.
    FINAL_REPORT_DUE_MONTHS = Env("FINAL_REPORT_DUE_MONTHS", default=6, parse=int)
    FINAL_REPORT_REMINDER_DAYS = Env("FINAL_REPORT_REMINDER_DAYS", default=30, parse=int)
    FINAL_REPORT_GAP_PERCENT = Env("FINAL_REPORT_GAP_PERCENT", default=20, parse=int)
    # In-process delivery when no broker is configured (embedded default, unit tests).
    TASKS_RUN_IN_PROCESS = False

    # Personal data (grants/privacy): how long each kind is kept, in days, applied every night by the
    # worker (grants.privacy.retention) and stated on the privacy notice (/confidentialite).
    PRIVACY_RETENTION_DAYS: dict = {
        # Drafts never submitted, counted from their last change.
        "drafts": Env("RETENTION_DRAFTS_DAYS", default=365, parse=int),
        # Refused or withdrawn applications, from the decision: their attachments and free texts go,
        # the figures stay.
        "refused_applications": Env("RETENTION_REFUSED_DAYS", default=5 * 365, parse=int),
        # Awarded grant files, from the decision (public archives: the file's useful life, then the
        # archives service): their attachments go, the dossier and its figures stay.
        "awarded_applications": Env("RETENTION_AWARDED_DAYS", default=10 * 365, parse=int),
        # The audit log (events, without the addresses below).
        "audit_events": Env("RETENTION_AUDIT_DAYS", default=5 * 365, parse=int),
        # Client addresses of audited requests (connection logs: one year).
        "audit_addresses": Env("RETENTION_ADDRESSES_DAYS", default=365, parse=int),
        # Emails sent (the outbox and the bell): their bodies are emptied, then the rows deleted.
        "notification_bodies": Env("RETENTION_NOTIFICATION_BODIES_DAYS", default=90, parse=int),
        "notifications": Env("RETENTION_NOTIFICATIONS_DAYS", default=365, parse=int),
        # Sign-in records once expired.
        "login_sessions": Env("RETENTION_LOGIN_SESSIONS_DAYS", default=30, parse=int),
        # API tokens revoked, or unused, for this long.
        "api_tokens": Env("RETENTION_API_TOKENS_DAYS", default=365, parse=int),
        # Personal data exports, from when they were ready (the link expires then too).
        "data_exports": Env("RETENTION_DATA_EXPORTS_DAYS", default=7, parse=int),
    }
    # A person may ask for this many exports of their data per hour.
    PRIVACY_EXPORTS_PER_HOUR = Env("PRIVACY_EXPORTS_PER_HOUR", default=3, parse=int)
    # The data protection officer named on the privacy notice and the record of processing.
    PRIVACY_DPO_CONTACT = Env("PRIVACY_DPO_CONTACT", default="dpo@region.example.org")

    # A request that flushed changes without committing them is a bug; the tests turn this on.
    FAIL_ON_UNCOMMITTED_REQUEST = False


class DevelopmentConfig(Config):
    """The embedded default: one process, SQLite under instance/, no Redis, mail as .eml files in
    instance/outbox/."""

    DEBUG = Env("FLASK_DEBUG", default=False, parse=boolean)
    # Without SECRET_KEY, create_app keeps one under instance/.
    SESSION_COOKIE_SECURE = Env("SESSION_COOKIE_SECURE", default=False, parse=boolean)
    REMEMBER_COOKIE_SECURE = Derived(lambda get: get("SESSION_COOKIE_SECURE"))
    SEND_HSTS = False
    MAIL_BACKEND = Env("MAIL_BACKEND", default="grants.outbox.eml_files.EmailBackend")
    SERVER_NAME = Env("SERVER_NAME", default=Derived(lambda get: served_name(get("HOST"), get("PORT"))))
    PREFERRED_URL_SCHEME = Env("PREFERRED_URL_SCHEME", default="http")
    TASKS_RUN_IN_PROCESS = Derived(lambda get: not get("REDIS_URL"))
    CELERY = {**Config.CELERY, "task_always_eager": Derived(lambda get: get("TASKS_RUN_IN_PROCESS")),
              "task_eager_propagates": False}
    GRANTOR_NAME = Env("GRANTOR_NAME", default=demo.GRANTOR_NAME)
    GRANTOR_SIRET = Env("GRANTOR_SIRET", default=demo.GRANTOR_SIRET)


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
    # Each test's app has a page cache of its own, in its memory (tests/calls/test_page_cache.py adds Redis).
    PAGE_CACHE_REDIS_URL = None
    PAGE_CACHE_DIR = None
    # argon2 at full strength makes each test login take ~100 ms; the tests check the parameters apart.
    PASSWORD_HASHER = "fast"
    GRANTOR_NAME = demo.GRANTOR_NAME
    GRANTOR_SIRET = demo.GRANTOR_SIRET


class ProductionConfig(Config):
    """PostgreSQL, Redis, a real SMTP relay; refuses to start without its secrets."""

    RATELIMIT_STORAGE_URI = Env("RATELIMIT_STORAGE_URI", "REDIS_URL", default="memory://")
    # Templates are compiled once per process: no stat() of a template and of each one it imports at
    # every render, whatever FLASK_DEBUG says (a deployment ships new templates with a restart).
    TEMPLATES_AUTO_RELOAD = False
    # Never debug mode in production, even with FLASK_DEBUG=1 left in a shell: Flask would let
    # exceptions propagate past the app's own error pages (a traceback to the WSGI server).
    DEBUG = False
    REQUIRED_ENVIRONMENT = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "GRANTOR_NAME", "GRANTOR_SIRET")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
