"""Friendly error pages, and the audit of refused accesses."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from grants.audit.services import record_event
from grants.database import db
from grants.errors import NotAllowed


def init_error_handlers(app: Flask) -> None:
    @app.errorhandler(403)
    def forbidden(error):
        # The refusal is recorded in a transaction of its own: the request did nothing else.
        db.session.rollback()
        record_event(
            "access.refused",
            actor=current_user if current_user.is_authenticated else None,
            endpoint=request.endpoint or "",
            path=request.path,
        )
        db.session.commit()
        return render_template("errors/403.html"), 403

    @app.errorhandler(NotAllowed)
    def not_allowed(error):
        # A policy refused this user this object: the same answer, and audit, as a role refusal.
        return forbidden(error)

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

        back = request.path if request.method == "POST" else None
        return render_template("errors/413.html", limit=size_label(app.config["MAX_UPLOAD_BYTES"]), back=back), 413

    @app.errorhandler(429)
    def too_many_requests(error):
        return render_template("errors/429.html"), 429

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_template("errors/500.html"), 500
