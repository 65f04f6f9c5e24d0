"""The safety net behind the form fields' bounds: a value the database refuses is a 422, never a 500.

Every field is bounded where it enters (grants.form_fields), so nothing here should ever fire. If a value
still gets through (a field added without its bound, a computed value out of range), the refusal — SQLite's
``OverflowError`` for an integer beyond 64 bits, PostgreSQL's ``DataError`` for a number out of range or a
NUL in a text, a ``decimal`` error while turning an amount into cents — is answered with a message
and nothing written (the transaction is rolled back), and logged with the route so that the missing bound
gets fixed.
"""

from __future__ import annotations

from decimal import InvalidOperation

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from sqlalchemy.exc import DataError, StatementError

from grants.database import db


def init_refused_value_handlers(app: Flask) -> None:
    app.register_error_handler(OverflowError, value_refused)
    app.register_error_handler(InvalidOperation, value_refused)
    app.register_error_handler(StatementError, statement_failed)


def statement_failed(error: StatementError):
    # A bind parameter that could not be converted (the Money type's cents) is wrapped in a plain
    # StatementError; a DataError is the database's own refusal. Any other statement error is a fault.
    if isinstance(error, DataError) or (
        type(error) is StatementError and isinstance(error.orig, OverflowError | InvalidOperation | ValueError)
    ):
        return value_refused(error)
    raise error


def value_refused(error: Exception):
    db.session.rollback()
    rule = request.url_rule.rule if request.url_rule else request.path
    current_app.logger.warning("value refused by the database on %s %s (%s): %s", request.method, rule,
                               request.endpoint, str(error).splitlines()[0][:300])
    message = _("Une valeur envoyée dépasse ce que le service peut enregistrer. Rien n'a été enregistré : "
                "vérifiez les nombres, les dates et les textes saisis.")
    if request.blueprint == "v1" or request.path.startswith("/api/"):
        # The API's error body (grants.api.auth.json_error), written here: the core imports no area.
        return jsonify({"error": "invalid", "message": _("Requête invalide."), "fields": {"body": message}}), 422
    back = request.path if request.method == "POST" else None
    return render_template("errors/422.html", message=message, back=back), 422
