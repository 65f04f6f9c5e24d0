"""Accounts: checking a sign-in, creating people, passwords and their reset links.

Services flush and never commit; the view commits the whole user action once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from flask import current_app, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from grants.accounts.models import StaffRole, User, new_session_token
from grants.accounts.passwords import hash_password, hasher, needs_rehash, verify_password
from grants.audit.services import record_event
from grants.database import constraint_violated, db, utcnow
from grants.errors import ConstraintViolated, DomainError
from grants.outbox.services import queue_email

MIN_PASSWORD_LENGTH = 12
RESET_SALT = "subventia.password-reset"


class LoginRefused(DomainError):
    """The sign-in failed. ``reason`` goes to the audit log; the message shown stays generic."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class ResetLinkUnusable(DomainError):
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
    else:
        return user
    record_event("auth.login_failed", subject=user, email=email[:254], reason=reason)
    raise LoginRefused(message, reason)


def record_login(user: User, password: str) -> None:
    """Stamp the sign-in, upgrade a hash made with older argon2 parameters, audit ``auth.login``."""
    user.last_login_at = utcnow()
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record_event("auth.login", actor=user, subject=user)


def record_logout(user: User) -> None:
    record_event("auth.logout", actor=user, subject=user)


# -- creating accounts --------------------------------------------------------------------------

def check_new_password(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise DomainError(
            _("Le mot de passe doit comporter au moins %(min)d caractères.", min=MIN_PASSWORD_LENGTH), field=field
        )


def create_user(
    *, email: str, password: str, full_name: str, staff_role: StaffRole | None = None, locale: str = "fr"
) -> User:
    """A new account. Keeps: one account per email (lower-cased), passwords of 12 characters or more."""
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
        session_token=new_session_token(),
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


# -- passwords ----------------------------------------------------------------------------------

def _set_password(user: User, password: str, field: str) -> None:
    """New hash and a new session token: every other session and remember-me cookie stops working."""
    check_new_password(password, field)
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()


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
    record_event("auth.password_reset", actor=user, subject=user)
