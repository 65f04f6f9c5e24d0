"""Signing in and out, password reset and the account page. The sign-up pages (organisation or
individual) are on this blueprint too, added by grants.organisations.registration."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from grants.access import Access, acting_user, allow
from grants.accounts import services
from grants.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    ResetPasswordForm,
)
from grants.accounts.limits import (
    limit_per_account,
    limit_per_ip,
    posted_email,
    posted_email_from_this_address,
    sign_in_failed,
)
from grants.accounts.sessions import forget_browser_session, start_session
from grants.database import db
from grants.errors import DomainError
from grants.extensions import limiter
from grants.form_errors import show_error
from grants.security import is_local_path

bp = Blueprint("accounts", __name__)


def had_remember_cookie() -> bool:
    return bool(request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")))


# -- signing in and out -------------------------------------------------------------------------

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

@bp.get("/inscription/choix")
@allow(Access.PUBLIC)
def register_choice():
    return render_template("accounts/register_choice.html")


@bp.get("/inscription/confirmer/<token>")
@allow(Access.PUBLIC)
def confirm_email(token: str):
    """The link emailed at sign-up: it confirms the address, then the person signs in with their
    password (the link alone never opens a session: whoever signed up with someone else's address
    cannot have its owner working in an account whose password they know)."""
    try:
        user = services.user_from_confirmation_token(token)
    except services.ConfirmationLinkUnusable as error:
        return render_template("accounts/confirmation_unusable.html", message=error.message), 400
    services.confirm_email(user)
    db.session.commit()
    flash(_("Votre adresse est confirmée : connectez-vous pour continuer."), "success")
    return redirect(url_for("accounts.login"))


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
    form = ProfileForm(obj=acting_user())
    if form.validate_on_submit():
        services.update_profile(acting_user(), full_name=form.full_name.data, locale=form.locale.data)
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
        user = acting_user()
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
