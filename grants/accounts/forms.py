"""Forms of the accounts area: sign-in, password reset, the account page, and the password fields that
every sign-up form uses."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length

from grants.accounts.services import MIN_PASSWORD_LENGTH
from grants.form_fields import email_field, email_filter, strip

LANGUAGES = [SelectChoice("fr", "Français", render_kw={"lang": "fr"}), SelectChoice("en", "English", render_kw={"lang": "en"})]


class LoginForm(FlaskForm):
    # No format check here: whatever was typed, the answer is the same generic refusal.
    email = EmailField(_l("Adresse e-mail"), filters=[email_filter], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Mot de passe"), validators=[DataRequired(), Length(max=256)])
    remember = BooleanField(_l("Se souvenir de moi"))


def new_password_field(label=None):
    return PasswordField(
        label or _l("Mot de passe"),
        validators=[
            DataRequired(),
            # Length fills in %(min)d and %(max)d itself.
            Length(min=MIN_PASSWORD_LENGTH, message=_l("Le mot de passe doit comporter au moins %(min)d caractères.")),
            Length(max=256, message=_l("Le mot de passe comporte au plus %(max)d caractères.")),
        ],
    )


def confirm_password_field(other: str):
    return PasswordField(
        _l("Confirmation du mot de passe"),
        validators=[DataRequired(), EqualTo(other, message=_l("Les deux mots de passe ne sont pas identiques."))],
    )


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
