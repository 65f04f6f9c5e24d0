"""Accounts: checking a sign-in, creating people, passwords and their reset links.

Services flush and never commit; the view commits the whole user action once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from grants.accounts.models import LoginSession, StaffRole, User, login_token_hash
from grants.accounts.passwords import hash_password, hasher, needs_rehash, verify_password
from grants.audit.services import record_event
from grants.database import constraint_violated, db, utcnow
from grants.errors import ConstraintViolated, DomainError
from grants.outbox.services import queue_email

MIN_PASSWORD_LENGTH = 12
RESET_SALT = "subventia.password-reset"
CONFIRMATION_SALT = "subventia.email-confirmation"


class LoginRefused(DomainError):
    """The sign-in failed. ``reason`` goes to the audit log; the message shown stays generic."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class ResetLinkUnusable(DomainError):
    pass


class ConfirmationLinkUnusable(DomainError):
    pass


def normalise_email(email: str | None) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str | None) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


def flush_or_explain(messages: Mapping[str, tuple[str, str]]) -> None:
    """Flush; a unique constraint broken by a concurrent request (the checks before it passed)
    becomes a ConstraintViolated on the form field named in ``messages`` {constraint: (field, message)}.
    The caller's transaction is then unusable: the view rolls it back."""
    try:
        db.session.flush()
    except IntegrityError as error:
        name = constraint_violated(error)
        if name not in messages:
            raise
        field, message = messages[name]
        violation = ConstraintViolated(name, message)
        violation.field = field
        raise violation from error


def email_taken_message() -> str:
    return _("Un compte existe déjà avec cette adresse e-mail. Connectez-vous, ou utilisez « Mot de passe oublié ».")


# -- signing in ---------------------------------------------------------------------------------

_dummy_hashes: dict[int, str] = {}


def _spend_the_time_of_a_check(password: str) -> None:
    """Verify against a throwaway hash, so an unknown email takes as long as a wrong password."""
    current = hasher()
    if id(current) not in _dummy_hashes:
        _dummy_hashes[id(current)] = current.hash("not a password anybody uses")
    verify_password(_dummy_hashes[id(current)], password)


def authenticate(email: str, password: str) -> User:
    """The active user with this email and password. Every refusal is audited with the email tried
    (never the password) and raises LoginRefused with one generic message, whatever failed."""
    email = normalise_email(email)
    generic = _("Adresse e-mail ou mot de passe incorrect.")
    user = find_user_by_email(email)
    if user is None:
        _spend_the_time_of_a_check(password)
        reason, message = "unknown_email", generic
    elif not verify_password(user.password_hash, password):
        reason, message = "wrong_password", generic
    elif not user.active:
        # Only someone who knows the password learns that the account is closed.
        reason, message = "inactive", _("Ce compte est désactivé. Contactez l'équipe de la Région pour le réactiver.")
    elif user.email_confirmed_at is None:
        # Only someone who knows the password learns that the address awaits confirmation.
        send_email_confirmation(user)
        reason, message = "unconfirmed", _(
            "Confirmez d'abord votre adresse e-mail : un nouveau lien vient de vous être envoyé. "
            "Pensez à regarder dans les courriers indésirables.")
    else:
        return user
    if user is None:
        # Nobody's account: the typed address is kept only as a keyed digest (the same address gives
        # the same digest, so repeated guesses can be told apart) and its domain, never in clear.
        record_event("auth.login_failed", email_digest=email_digest(email), domain=email.rpartition("@")[2][:100],
                     reason=reason)
    else:
        record_event("auth.login_failed", subject=user, reason=reason)  # the account names the person
    raise LoginRefused(message, reason)


def email_digest(email: str) -> str:
    """A keyed digest of an email address (HMAC-SHA256 with the app's secret, 16 hex digits): without
    the secret it cannot be reversed by hashing a list of addresses."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, normalise_email(email).encode(), hashlib.sha256).hexdigest()[:16]


def record_login(user: User, password: str) -> None:
    """Stamp the sign-in, upgrade a hash made with older argon2 parameters, audit ``auth.login``."""
    user.last_login_at = utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_event("auth.login", actor=user, subject=user)


def sign_out(user: User) -> None:
    """End this device's session (see ``end_login_session``) and audit ``auth.logout``."""
    end_login_session(user)
    record_event("auth.logout", actor=user, subject=user)


# -- creating accounts --------------------------------------------------------------------------

def check_new_password(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _("Le mot de passe doit comporter au moins %(min)d caractères.", min=MIN_PASSWORD_LENGTH), field=field
        )


def create_user(
    *, email: str, password: str, full_name: str, staff_role: StaffRole | None = None, locale: str = "fr",
    confirmed: bool = True,
) -> User:
    """A new account. Keeps: one account per email (lower-cased), passwords of 12 characters or more.
    ``confirmed=False`` (the sign-up pages): the address is unproven, and the account cannot sign in
    until its link (:func:`send_email_confirmation`) is opened."""
    email = normalise_email(email)
    check_new_password(password)
    if find_user_by_email(email) is not None:
        raise DomainError(email_taken_message(), field="email")
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        staff_role=staff_role,
        locale=locale,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    flush_or_explain({"uq_users_email": ("email", email_taken_message())})
    return user


def create_staff_user(*, email: str, password: str, role: StaffRole, full_name: str | None = None) -> User:
    """A manager, reviewer or administrator account (created from the command line)."""
    name = (full_name or "").strip() or normalise_email(email).split("@")[0]
    user = create_user(email=email, password=password, full_name=name, staff_role=role)
    record_event("account.created", subject=user, role=role.value, via="cli")
    return user


def update_profile(user: User, *, full_name: str, locale: str) -> None:
    changed = [name for name, value in (("full_name", full_name), ("locale", locale)) if getattr(user, name) != value]
    if not changed:
        return
    user.full_name, user.locale = full_name, locale
    record_event("account.updated", actor=user, subject=user, fields=",".join(changed))


# -- login sessions ------------------------------------------------------------------------------

def open_login_session(user: User, *, lifetime: timedelta) -> str:
    """A new signed-in device for ``user``; returns its token (set on ``user.login_token`` for the
    cookies). Keeps: a session is valid only while its row exists and has not expired; the user's
    expired rows are purged here, so the table holds live sessions only."""
    now = utcnow()
    db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, token_hash=login_token_hash(token), created_at=now, expires_at=now + lifetime))
    user.login_token = token
    return token


def user_for_login_token(user_id: int, token: str) -> User | None:
    """The active user whose live session this token opens, or None: one query per request, which
    also brings what every signed-in page's layout reads — the memberships and the individual
    applicant ("Mes dossiers", "Mon association"), the unread count (a column) — so that the layout
    itself runs none. Both are joined: a person has one applicant row at most and a few memberships."""
    user = db.session.execute(
        sa.select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == user_id,
            User.active.is_(True),
            LoginSession.token_hash == login_token_hash(token),
            LoginSession.expires_at > utcnow(),
        )
        .options(joinedload(User.memberships), joinedload(User.individual_applicant))
    ).unique().scalar_one_or_none()
    if user is not None:
        user.login_token = token
    return user


def end_login_session(user: User) -> None:
    """Sign out this device: its session and remember-me cookies stop working, copies included."""
    if user.login_token:
        db.session.execute(
            sa.delete(LoginSession).where(
                LoginSession.user_id == user.id, LoginSession.token_hash == login_token_hash(user.login_token)
            )
        )
    user.login_token = None


def end_all_login_sessions(user: User) -> int:
    """Sign out every device of ``user`` (sign out everywhere, password or role change)."""
    ended = db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id)).rowcount
    user.login_token = None
    return ended


def count_login_sessions(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.expires_at > utcnow())
    )


def sign_out_everywhere(user: User) -> None:
    ended = end_all_login_sessions(user)
    record_event("auth.signed_out_everywhere", actor=user, subject=user, sessions=ended)


def set_staff_role(user: User, role: StaffRole | None) -> None:
    """Change what a staff member may do. Keeps: no session opened under the old role survives it."""
    if user.staff_role == role:
        return
    previous = user.staff_role.value if user.staff_role else "applicant"
    user.staff_role = role
    end_all_login_sessions(user)
    record_event("account.role_changed", subject=user, previous=previous, role=role.value if role else "applicant")


# -- passwords ----------------------------------------------------------------------------------

def _set_password(user: User, password: str, field: str) -> None:
    """New hash, and every session of the account ended: no device signed in with the old password
    stays signed in (the view opens a new session for the device that made the change)."""
    check_new_password(password, field)
    user.password_hash = hash_password(password)
    end_all_login_sessions(user)


def change_password(user: User, *, current_password: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise DomainError(_("Le mot de passe actuel est incorrect."), field="current_password")
    _set_password(user, new_password, "new_password")
    record_event("auth.password_changed", actor=user, subject=user)


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=RESET_SALT)


def password_fingerprint(user: User) -> str:
    """Changes whenever the password hash does, which makes a reset link single-use."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:32]


def make_reset_token(user: User) -> str:
    return _reset_serializer().dumps({"user": user.id, "password": password_fingerprint(user)})


def user_from_reset_token(token: str) -> User:
    """The user a reset link was made for, if the link is genuine, recent and unused."""
    try:
        data = _reset_serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except SignatureExpired:
        raise ResetLinkUnusable(_("Ce lien a expiré. Demandez-en un nouveau ci-dessous.")) from None
    except BadSignature:
        data = None
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) and isinstance(data.get("user"), int) else None
    if user is None or not user.active or data.get("password") != password_fingerprint(user):
        raise ResetLinkUnusable(_("Ce lien n'est pas valide ou a déjà servi. Demandez-en un nouveau."))
    return user


def request_password_reset(email: str) -> None:
    """Email a reset link if an active account has this address; do nothing visible otherwise."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        return
    reset_url = url_for("accounts.reset_password", token=make_reset_token(user), _external=True)
    queue_email("password_reset", user, user=user, reset_url=reset_url)
    record_event("auth.password_reset_requested", subject=user)


def reset_password(user: User, new_password: str) -> None:
    _set_password(user, new_password, "password")
    if user.email_confirmed_at is None:  # the link came to the address: that proves it
        user.email_confirmed_at = utcnow()
    record_event("auth.password_reset", actor=user, subject=user)


# -- confirming the address of a new account ------------------------------------------------------
# The sign-up pages answer the same way whether the address is free or already has an account (no
# enumeration): a free one gets an account that waits for this confirmation, a taken one's owner
# gets an email saying someone tried to sign up with it.

def _confirmation_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=CONFIRMATION_SALT)


def make_confirmation_token(user: User) -> str:
    return _confirmation_serializer().dumps({"user": user.id, "email": user.email})


def send_email_confirmation(user: User) -> None:
    """Email ``user`` the link that confirms their address."""
    confirm_url = url_for("accounts.confirm_email", token=make_confirmation_token(user), _external=True)
    queue_email("email_confirmation", user, user=user, confirm_url=confirm_url)


def warn_of_sign_up_attempt(user: User, password: str) -> None:
    """Someone signed up with the address of an existing account: its owner is told, and the answer
    takes as long as a real sign-up (a password is hashed)."""
    hash_password(password)
    queue_email("sign_up_attempt", user, user=user, login_url=url_for("accounts.login", _external=True),
                reset_url=url_for("accounts.forgot_password", _external=True))
    record_event("account.sign_up_attempt", subject=user)


def user_from_confirmation_token(token: str) -> User:
    """The account a confirmation link was made for, if the link is genuine, recent and unused."""
    try:
        data = _confirmation_serializer().loads(token, max_age=current_app.config["EMAIL_CONFIRMATION_MAX_AGE"])
    except SignatureExpired:
        raise ConfirmationLinkUnusable(_(
            "Ce lien a expiré. Connectez-vous avec votre adresse et votre mot de passe : un nouveau lien vous sera "
            "envoyé.")) from None
    except BadSignature:
        data = None
    user = db.session.get(User, data.get("user")) if isinstance(data, dict) and isinstance(data.get("user"), int) else None
    if user is None or not user.active or data.get("email") != user.email or user.email_confirmed_at is not None:
        raise ConfirmationLinkUnusable(_("Ce lien n'est pas valide ou a déjà servi. Connectez-vous."))
    return user


def confirm_email(user: User) -> None:
    user.email_confirmed_at = utcnow()
    record_event("account.email_confirmed", actor=user, subject=user)
