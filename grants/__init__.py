"""Subventia: grant-call management for public funders.

``create_app`` builds the Flask application from a configuration name ("development", "testing",
"production") or a configuration object; with neither, ``SUBVENTIA_CONFIG`` decides, and the
embedded development default is used when that is unset.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, has_request_context, session
from flask_login import current_user

import config as config_module
from grants import page_cache
from grants.database import db
from grants.extensions import babel, csrf, limiter, login_manager, mail, migrate
from grants.input_limits import LimitedRequest
from grants.url_converters import register_url_converters

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_name_or_object=None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_relative_config=False,
    )
    load_config(app, config_name_or_object)
    app.request_class = LimitedRequest
    app.instance_path = app.config["INSTANCE_PATH"]
    trust_proxies(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    import grants.models  # noqa: F401 — every table in the metadata, for Alembic and relationships

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories="translations")
    init_login(app)
    page_cache.init_app(app)

    from worker import celery_init_app

    celery_init_app(app)

    from grants.formatting import register_filters
    from grants.security import init_security_headers

    register_filters(app)
    init_security_headers(app)
    register_url_converters(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    if app.config.get("FAIL_ON_UNCOMMITTED_REQUEST"):
        from grants.transactions import fail_on_uncommitted_request

        fail_on_uncommitted_request(app)
    return app


def load_config(app: Flask, config_name_or_object) -> None:
    chosen = config_name_or_object or os.environ.get("SUBVENTIA_CONFIG", "development")
    if isinstance(chosen, str):
        try:
            chosen = config_module.CONFIGS[chosen]
        except KeyError:
            raise RuntimeError(
                f"unknown configuration {chosen!r}: use one of {', '.join(config_module.CONFIGS)}"
            ) from None
    app.config.from_object(chosen)
    # The environment is read here, when an app is built, not when config.py is imported.
    missing = [name for name in app.config.get("REQUIRED_ENVIRONMENT", ()) if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"production configuration needs these environment variables: {', '.join(missing)}")
    config_module.resolve_settings(app.config, os.environ)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.instance_secret_key(app.config["INSTANCE_PATH"])


def select_locale() -> str:
    languages = ("fr", "en")
    if not has_request_context():  # tasks and commands: French unless force_locale() says otherwise
        return "fr"
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("locale") in languages:
        return session["locale"]
    # French by default: the interface and the legal vocabulary (Cerfa, SCDL) are French.
    return "fr"


def init_login(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from grants.accounts.services import user_for_login_token

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        # The id carries the device's login-session token: signing out, a password or role change
        # deletes the session's row, which ends the session and remember-me cookies, copies included.
        identifier, _, token = user_id.partition(":")
        if not identifier.isdigit() or len(identifier) > 10 or not token:
            return None
        return user_for_login_token(int(identifier), token)


def trust_proxies(app: Flask) -> None:
    """Take the client's address and scheme from the ``TRUSTED_PROXY_HOPS`` proxies in front of the
    app (X-Forwarded-For/-Proto), and from nothing else: a client cannot forge them past the proxy."""
    hops = app.config.get("TRUSTED_PROXY_HOPS", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_blueprints(app: Flask) -> None:
    from grants.accounts.views import bp as accounts_bp
    from grants.api.views import bp as api_bp
    from grants.applications.views import bp as applications_bp
    from grants.awards.views import bp as awards_bp
    from grants.calls.views import bp as calls_bp
    from grants.conventions.views import bp as conventions_bp
    from grants.final_reports.views import bp as final_reports_bp
    from grants.home.audit_log import bp as audit_bp
    from grants.home.views import bp as home_bp
    from grants.notifications.views import bp as notifications_bp
    from grants.organisations.views import bp as organisations_bp
    from grants.privacy.views import bp as privacy_bp
    from grants.reviews.views import bp as reviews_bp
    from grants.search.views import bp as search_bp

    for blueprint in (
        home_bp, accounts_bp, organisations_bp, calls_bp, applications_bp, reviews_bp, awards_bp,
        conventions_bp, final_reports_bp, notifications_bp, api_bp, audit_bp, privacy_bp, search_bp,
    ):
        app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    from grants.home.errors import init_error_handlers
    from grants.refused_values import init_refused_value_handlers

    init_error_handlers(app)
    init_refused_value_handlers(app)


def register_commands(app: Flask) -> None:
    from grants.accounts.cli import users_cli
    from grants.api.cli import api_tokens_cli
    from grants.awards.cli import awards_cli
    from grants.demo.cli import demo_cli
    from grants.notifications.cli import notifications_cli
    from grants.privacy.cli import privacy_cli
    from grants.reviews.cli import reviews_cli
    from grants.stored_files import attachments_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(api_tokens_cli)
    app.cli.add_command(awards_cli)
    app.cli.add_command(attachments_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(reviews_cli)
