"""Forms of the accounts area: sign-in, registration, password reset, the account page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from grants.organisations.forms import (
    OrganisationForm,
    confirm_password_field,
    email_field,
    email_filter,
    new_password_field,
    strip,
    without_spaces,
)

LANGUAGES = [SelectChoice("fr", "Français", render_kw={"lang": "fr"}), SelectChoice("en", "English", render_kw={"lang": "en"})]


class LoginForm(FlaskForm):
    # No format check here: whatever was typed, the answer is the same generic refusal.
    email = EmailField(_l("Adresse e-mail"), filters=[email_filter], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Se souvenir de moi"))


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


class ForgotPasswordForm(FlaskForm):
    email = email_field(_l("Adresse e-mail du compte"))


class ResetPasswordForm(FlaskForm):
    password = new_password_field(_l("Nouveau mot de passe"))
    password_confirm = confirm_password_field("password")


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Prénom et nom"), filters=[strip], validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Langue de l'interface et des e-mails"), choices=LANGUAGES, validators=[DataRequired()])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Mot de passe actuel"), validators=[DataRequired(), Length(max=256)])
    new_password = new_password_field(_l("Nouveau mot de passe"))
    new_password_confirm = confirm_password_field("new_password")
