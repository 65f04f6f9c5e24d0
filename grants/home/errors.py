"""Friendly error pages, and the audit of refused accesses."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, g, jsonify, render_template, request, session
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from grants.audit.services import record_event
from grants.database import db
from grants.errors import NotAllowed, NotAllowedAndConcealed
from grants.extensions import login_manager
from grants.input_limits import drain_refused_body

# PostgreSQL's answers when it cannot take one more connection, or is starting or stopping.
CONNECTION_REFUSED_SQLSTATES = {"53300", "57P03", "08000", "08001", "08004", "08006"}


def database_is_out_of_reach(error: sa.exc.OperationalError) -> bool:
    """A refusal to connect (too many clients, server down), not an error of the statement."""
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    message = str(error.orig).lower()
    return sqlstate in CONNECTION_REFUSED_SQLSTATES or (sqlstate is None and ("connect" in message or "locked" in message))


def init_error_handlers(app: Flask) -> None:
    def record_refusal():
        # The refusal is recorded in a transaction of its own: the request did nothing else.
        db.session.rollback()
        record_event(
            "access.refused",
            actor=current_user if current_user.is_authenticated else None,
            endpoint=request.endpoint or "",
            path=request.path,
        )
        db.session.commit()

    @app.errorhandler(403)
    def forbidden(error):
        record_refusal()
        return render_template("errors/403.html"), 403

    @app.errorhandler(NotAllowed)
    def not_allowed(error):
        # A policy refused this user this object: the same answer, and audit, as a role refusal.
        return forbidden(error)

    @app.errorhandler(NotAllowedAndConcealed)
    def not_allowed_and_concealed(error):
        record_refusal()
        return render_template("errors/404.html"), 404

    @app.errorhandler(404)
    def not_found(error):
        if request.path.startswith("/api/"):
            # No route took the URL (an id beyond the id column, say): the API's blueprint never ran,
            # so its error body is answered here.
            return jsonify({"error": "not_found", "message": _("Ressource introuvable.")}), 404
        return render_template("errors/404.html"), 404

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return render_template("errors/400.html", reason="csrf"), 400

    @app.errorhandler(400)
    def bad_request(error):
        return render_template("errors/400.html", reason=None), 400

    @app.errorhandler(413)
    def request_too_large(error):
        # The body is over MAX_CONTENT_LENGTH: a file far above the attachment limit.
        from grants.applications.attachments import size_label

        drain_refused_body(request, app.config["REFUSED_BODY_DRAIN_BYTES"])
        back = request.path if request.method == "POST" else None
        return render_template("errors/413.html", limit=size_label(app.config["MAX_UPLOAD_BYTES"]),
                               total=size_label(app.config["MAX_CONTENT_LENGTH"]),
                               files=app.config["MAX_UPLOAD_FILES"], back=back), 413

    @app.errorhandler(429)
    def too_many_requests(error):
        return render_template("errors/429.html"), 429

    @app.errorhandler(sa.exc.TimeoutError)
    def database_busy(error):
        # Every pooled connection is in use: the request is answered at once rather than queued.
        return service_unavailable()

    @app.errorhandler(sa.exc.OperationalError)
    def database_unreachable(error):
        if not database_is_out_of_reach(error):
            raise error
        return service_unavailable()

    def service_unavailable():
        db.session.rollback()
        # Nobody is loaded for this answer (Flask-Login keeps the request's user in g._login_user):
        # the templates' current_user would otherwise ask the database again.
        g._login_user = login_manager.anonymous_user()
        app.logger.warning("database out of reach: 503 for %s %s", request.method, request.path)
        retry = {"Retry-After": str(app.config.get("RETRY_AFTER_SECONDS", 30))}
        if "api" in request.blueprints:
            body = {"error": "unavailable", "message": "The service is busy; retry later."}
            return jsonify(body), 503, retry
        # The page's language comes from the session, not from the signed-in user: loading the user
        # would ask the database again.
        with force_locale(session.get("locale") or app.config["BABEL_DEFAULT_LOCALE"]):
            return render_template("errors/503.html"), 503, retry

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_template("errors/500.html"), 500
