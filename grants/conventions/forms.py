"""Forms of the convention pages. Checks here only give a friendly message early; the rules live in
grants.conventions.services and the database."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp


class GenerateForm(FlaskForm):
    """Generate the convention, or an avenant after a change of amount (nothing to fill in)."""


class SignForm(FlaskForm):
    # The hash of the PDF the signer was shown: what is signed is what was seen.
    sha256 = HiddenField(validators=[InputRequired(), Length(min=64, max=64), Regexp(r"^[0-9a-f]{64}$")])
    consent = BooleanField(_l("J'ai lu la convention et je la signe au nom du bénéficiaire, en tant que son "
                              "représentant légal."),
                           validators=[DataRequired(_l("Cochez la case pour donner votre consentement à la signature."))])


class ScanForm(FlaskForm):
    scan = FileField(_l("Scan de la convention signée (PDF)"), validators=[FileRequired()])


class CountersignForm(FlaskForm):
    """Countersign the signed version (nothing to fill in)."""
