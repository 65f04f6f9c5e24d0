"""How a service's refusal reaches the form that asked for it. Services raise
:class:`grants.errors.DomainError` naming a field or none; the view undoes the operation and shows
the message under that field, or in the form's error summary."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm

from grants.database import db
from grants.errors import DomainError


def attach_domain_error(form: FlaskForm, error) -> bool:
    """Show a service's DomainError under the field it names; False when it names none of the form's
    fields (the view then flashes it)."""
    field = form._fields.get(error.field) if error.field else None
    if field is None:
        return False
    field.errors = [*field.errors, error.message]
    return True


def refuse(form, error: DomainError) -> list[str]:
    """Undo the failed operation; its message goes under the field it names, else (returned) into the
    form's error summary."""
    db.session.rollback()
    return [] if attach_domain_error(form, error) else [error.message]


def show_error(form, error: DomainError) -> None:
    """Undo the failed action, then show why, on the field when the error names one (else flashed)."""
    db.session.rollback()
    if not attach_domain_error(form, error):
        flash(error.message, "error")
