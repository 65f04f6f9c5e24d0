"""Forms of the organisation area: signing up (an organisation and its first member, or a person applying
in their own name), the organisation's identity, and inviting a colleague."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from grants.accounts.forms import confirm_password_field, new_password_field
from grants.form_fields import email_field, strip, without_spaces
from grants.organisations.identifiers import normalise_rna, rna_is_valid, siret_error
from grants.organisations.models import LegalForm

LEGAL_FORM_LABELS = {
    LegalForm.ASSOCIATION: _l("Association loi 1901"),
    LegalForm.FOUNDATION: _l("Fondation"),
    LegalForm.LOCAL_AUTHORITY: _l("Collectivité territoriale ou EPCI"),
    LegalForm.SCHOOL: _l("Établissement scolaire"),
    LegalForm.PUBLIC_BODY: _l("Établissement public"),
    LegalForm.COOPERATIVE: _l("Coopérative (SCOP, SCIC)"),
    LegalForm.COMPANY: _l("Entreprise"),
}


def validate_siret(form, field):
    message = siret_error(field.data)
    if message:
        raise ValidationError(message)


def validate_rna(form, field):
    if field.data and not rna_is_valid(field.data):
        raise ValidationError(_l("Le numéro RNA commence par W, suivi de 9 chiffres ou lettres majuscules (ex. W595012345)."))


class OrganisationForm(FlaskForm):
    """The organisation's identity: used to register it and to edit its profile."""

    name = StringField(_l("Nom de l'organisme"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    legal_form = SelectField(
        _l("Forme juridique"),
        choices=[SelectChoice(form.value, label) for form, label in LEGAL_FORM_LABELS.items()],
        default=LegalForm.ASSOCIATION.value,
        validators=[DataRequired()],
    )
    siret = StringField(_l("SIRET"), filters=[strip], validators=[DataRequired(), validate_siret])
    rna = StringField(
        _l("Numéro RNA (facultatif)"), filters=[normalise_rna], validators=[Optional(), validate_rna]
    )
    street = StringField(_l("Adresse"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    postal_code = StringField(
        _l("Code postal"),
        filters=[without_spaces],
        validators=[DataRequired(), Regexp(r"^\d{5}$", message=_l("Le code postal comporte 5 chiffres."))],
    )
    city = StringField(_l("Commune"), filters=[strip], validators=[DataRequired(), Length(max=100)])
    contact_email = email_field(_l("E-mail de contact de l'organisme"))
    phone = StringField(
        _l("Téléphone (facultatif)"),
        filters=[strip],
        validators=[
            Optional(),
            Length(max=30),
            Regexp(r"^\+?[0-9 .()-]{6,}$", message=_l("Saisissez un numéro de téléphone (chiffres, espaces, + au début).")),
        ],
    )


class InviteForm(FlaskForm):
    email = email_field(_l("Adresse e-mail de la personne à inviter"))


class InvitationSignupForm(FlaskForm):
    """An invited person without an account creates one; the email is the invited address."""

    full_name = StringField(_l("Prénom et nom"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    password = new_password_field()
    password_confirm = confirm_password_field("password")


class RegisterOrganisationForm(OrganisationForm):
    """The organisation's identity (inherited), then the person who registers it."""

    full_name = StringField(_l("Prénom et nom"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    email = email_field(_l("Votre adresse e-mail"))
    password = new_password_field()
    password_confirm = confirm_password_field("password")


class RegisterIndividualForm(FlaskForm):
    full_name = StringField(_l("Prénom et nom"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    email = email_field(_l("Adresse e-mail"))
    password = new_password_field()
    password_confirm = confirm_password_field("password")
    street = StringField(_l("Adresse"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    postal_code = StringField(
        _l("Code postal"),
        filters=[without_spaces],
        validators=[DataRequired(), Regexp(r"^\d{5}$", message=_l("Le code postal comporte 5 chiffres."))],
    )
    city = StringField(_l("Commune"), filters=[strip], validators=[DataRequired(), Length(max=80)])
