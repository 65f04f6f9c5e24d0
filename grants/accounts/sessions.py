"""A signed-in session, started the same way by signing in, signing up and accepting an invitation,
and ended by signing out. Each one is a ``LoginSession`` row whose token the cookies carry."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, session
from flask_login import login_user, logout_user

from grants.accounts.services import open_login_session


def start_session(user, *, remember: bool = False) -> None:
    """Sign ``user`` in on a fresh session (nothing planted before the sign-in survives it); only the
    chosen language is kept. The cookies carry a new login session's token (ended at sign-out)."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION" if remember else "LOGIN_SESSION_LIFETIME"]
    open_login_session(user, lifetime=timedelta(seconds=lifetime))
    login_user(user, remember=remember)


def forget_browser_session() -> None:
    """Empty this browser's session, keeping only the chosen language, and drop its remember-me cookie."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    logout_user()  # after the clear: it marks the remember-me cookie for deletion in the session
