"""A signed-in session, started the same way by signing in, signing up and accepting an invitation."""

from __future__ import annotations

from flask import session
from flask_login import login_user


def start_session(user, *, remember: bool = False) -> None:
    """Sign ``user`` in on a fresh session (nothing planted before the sign-in survives it); only the
    chosen language is kept."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale
    login_user(user, remember=remember)
