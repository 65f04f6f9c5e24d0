"""Signing in and out, registration, password reset and the account page."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from grants.access import Access, acting_user, allow
from grants.accounts import services
from grants.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterIndividualForm,
    RegisterOrganisationForm,
    ResetPasswordForm,
)
from grants.database import db
from grants.errors import DomainError
from grants.extensions import limiter
from grants.form_errors import attach_domain_error
from grants.organisations import services as organisation_services
from grants.security import is_local_path

bp = Blueprint("accounts", __name__)


def start_session(user, *, remember: bool = False) -> None:
    """Sign ``user`` in on a fresh session (nothing planted before the sign-in survives it); only the
    chosen language is kept. The cookies carry a new login session's token (ended at sign-out)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION" if remember else "LOGIN_SESSION_LIFETIME"]
    services.open_login_session(user, lifetime=timedelta(seconds=lifetime))
    login_user(user, remember=remember)


def forget_browser_session() -> None:
    """Empty this browser's session, keeping only the chosen language, and drop its remember-me cookie."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    logout_user()  # after the clear: it marks the remember-me cookie for deletion in the session


def had_remember_cookie() -> bool:
    return bool(request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")))


def show_error(form, error: DomainError) -> None:
    """Undo the failed action, then show why, on the field when the error names one."""
    db.session.rollback()
    if not attach_domain_error(form, error):
        flash(error.message, "error")


# -- signing in and out -------------------------------------------------------------------------

def posted_email() -> str:
    return services.normalise_email(request.form.get("email"))


def posted_email_from_this_address() -> str:
    # The account's allowance is per client address: guesses from elsewhere never lock its owner out.
    return f"{posted_email()}|{request.remote_addr}"


def limit_per_ip() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_IP"]


def limit_per_account() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"]


def registrations_per_ip() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT_PER_IP"]


def registrations_per_email() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT_PER_EMAIL"]


# Shared by both registration forms: one allowance per address, one per email.
registration_per_ip = limiter.shared_limit(registrations_per_ip, scope="registration-per-ip", methods=["POST"])
registration_per_email = limiter.shared_limit(
    registrations_per_email, scope="registration-per-email", key_func=posted_email, methods=["POST"]
)


def sign_in_failed(response) -> bool:
    return response.status_code != 302


# Only failures count, per address and per account: a successful sign-in never uses up an allowance.
@bp.route("/connexion", methods=["GET", "POST"])
@allow(Access.PUBLIC)
@limiter.limit(limit_per_ip, methods=["POST"], scope="per-ip", deduct_when=sign_in_failed)
@limiter.limit(limit_per_account, key_func=posted_email_from_this_address, methods=["POST"], scope="per-account",
               deduct_when=sign_in_failed)
def login():
    next_url = request.args.get("next")
    next_url = next_url if is_local_path(next_url) else None
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("home.dashboard"))
    form = LoginForm()
    refusal = None
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except services.LoginRefused as error:
            db.session.commit()  # keep the audit of the failed attempt
            refusal = error.message
        else:
            services.record_login(user, form.password.data)
            start_session(user, remember=form.remember.data)
            db.session.commit()
            return redirect(next_url or url_for("home.dashboard"))
    return render_template("accounts/login.html", form=form, refusal=refusal, next_url=next_url)


@bp.post("/deconnexion")
@allow(Access.PUBLIC)
def logout():
    if current_user.is_authenticated:
        services.sign_out(acting_user())
        db.session.commit()
    forget_browser_session()
    flash(_("Vous êtes déconnecté(e)."), "info")
    return redirect(url_for("home.index"))


# -- registration -------------------------------------------------------------------------------

def already_signed_in():
    flash(_("Vous êtes déjà connecté(e) : déconnectez-vous pour créer un autre compte."), "info")
    return redirect(url_for("home.dashboard"))


@bp.get("/inscription/choix")
@allow(Access.PUBLIC)
def register_choice():
    return render_template("accounts/register_choice.html")


@bp.route("/inscription", methods=["GET", "POST"])
@allow(Access.PUBLIC)
@registration_per_ip
@registration_per_email
def register_organisation():
    if current_user.is_authenticated:
        return already_signed_in()
    form = RegisterOrganisationForm()
    if form.validate_on_submit():
        identity = {
            "name": form.name.data, "legal_form": form.legal_form.data, "siret": form.siret.data,
            "rna": form.rna.data, "street": form.street.data, "postal_code": form.postal_code.data,
            "city": form.city.data, "email": form.contact_email.data, "phone": form.phone.data,
        }
        try:
            user, organisation = organisation_services.register_organisation(
                identity=identity, full_name=form.full_name.data, email=form.email.data, password=form.password.data
            )
        except DomainError as error:
            show_error(form, error)
        else:
            start_session(user)
            db.session.commit()
            flash(_("Bienvenue ! %(name)s est inscrite sur la plateforme.", name=organisation.name), "success")
            return redirect(url_for("home.dashboard"))
    return render_template("accounts/register_organisation.html", form=form)


@bp.route("/inscription/particulier", methods=["GET", "POST"])
@allow(Access.PUBLIC)
@registration_per_ip
@registration_per_email
def register_individual():
    if current_user.is_authenticated:
        return already_signed_in()
    form = RegisterIndividualForm()
    if form.validate_on_submit():
        try:
            user = services.register_individual(
                full_name=form.full_name.data, email=form.email.data, password=form.password.data,
                street=form.street.data, postal_code=form.postal_code.data, city=form.city.data,
            )
        except DomainError as error:
            show_error(form, error)
        else:
            start_session(user)
            db.session.commit()
            flash(_("Bienvenue ! Votre compte est créé."), "success")
            return redirect(url_for("home.dashboard"))
    return render_template("accounts/register_individual.html", form=form)


# -- password reset -----------------------------------------------------------------------------

@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@allow(Access.PUBLIC)
@limiter.limit(limit_per_ip, methods=["POST"], scope="per-ip")
@limiter.limit(limit_per_account, key_func=posted_email, methods=["POST"], scope="per-account")
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # The same answer whether or not the account exists: the page reveals nothing.
        services.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("accounts/forgot_password_sent.html", email=form.email.data)
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@allow(Access.PUBLIC)
def reset_password(token: str):
    try:
        user = services.user_from_reset_token(token)
    except services.ResetLinkUnusable as error:
        return render_template("accounts/reset_password_unusable.html", message=error.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(user, form.password.data)
        except DomainError as error:
            show_error(form, error)
        else:
            start_session(user)
            db.session.commit()
            flash(_("Votre mot de passe est changé, et vos autres sessions sont fermées."), "success")
            return redirect(url_for("home.dashboard"))
    return render_template("accounts/reset_password.html", form=form, user=user)


# -- the account page ---------------------------------------------------------------------------

def render_account(profile_form=None, password_form=None):
    user = acting_user()
    return render_template(
        "accounts/account.html",
        profile_form=profile_form or ProfileForm(obj=user, formdata=None),
        password_form=password_form or ChangePasswordForm(formdata=None),
        open_sessions=services.count_login_sessions(user),
    )


@bp.route("/compte", methods=["GET", "POST"])
@allow(Access.AUTHENTICATED)
def account():
    form = ProfileForm(obj=current_user._get_current_object())
    if form.validate_on_submit():
        services.update_profile(current_user._get_current_object(), full_name=form.full_name.data, locale=form.locale.data)
        db.session.commit()
        flash(_("Vos informations sont enregistrées."), "success")
        return redirect(url_for("accounts.account"))
    return render_account(profile_form=form if request.method == "POST" else None)


@bp.post("/compte/deconnexion-partout")
@allow(Access.AUTHENTICATED)
def sign_out_everywhere():
    services.sign_out_everywhere(acting_user())
    db.session.commit()
    forget_browser_session()
    flash(_("Vous êtes déconnecté(e) de tous vos appareils."), "info")
    return redirect(url_for("accounts.login"))


@bp.post("/compte/mot-de-passe")
@allow(Access.AUTHENTICATED)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, current_password=form.current_password.data, new_password=form.new_password.data)
        except DomainError as error:
            show_error(form, error)
        else:
            # The session token changed: sign in again here, so only the other devices are signed out.
            start_session(user, remember=had_remember_cookie())
            db.session.commit()
            flash(_("Votre mot de passe est changé. Vos autres sessions sont fermées."), "success")
            return redirect(url_for("accounts.account"))
    return render_account(password_form=form)
