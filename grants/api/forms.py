"""The staff's form for creating an API token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from grants.api.services import NAME_MAX_LENGTH
from grants.form_fields import strip


class TokenForm(FlaskForm):
    name = StringField(
        _l("Nom du jeton"),
        validators=[DataRequired(_l("Donnez un nom au jeton.")), Length(max=NAME_MAX_LENGTH)],
        filters=[strip],
    )
