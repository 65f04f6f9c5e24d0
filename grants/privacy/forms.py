from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired, Length

from grants.form_fields import email_field


class RequestExportForm(FlaskForm):
    """One button: ask the worker for one's data."""


class CloseAccountForm(FlaskForm):
    password = PasswordField(_l("Votre mot de passe, pour confirmer"), validators=[DataRequired(), Length(max=256)])
    understood = BooleanField(
        _l("J'ai compris que la fermeture est définitive et que mes données sont effacées, sauf celles conservées ci-dessus."),
        validators=[DataRequired(message=_l("Cochez la case pour confirmer."))])


class AdminExportForm(FlaskForm):
    """A written request: an administrator asks for a person's export on their behalf."""

    email = email_field(_l("Adresse e-mail du compte de la personne"))
