"""The public landing page, each role's home page (« Mon espace ») and the language switch."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_babel import refresh
from flask_login import current_user

from grants import page_cache
from grants.access import Access, allow
from grants.calls import public_cache
from grants.calls.listing import next_change, public_calls
from grants.database import db
from grants.home import services
from grants.home.services import Role
from grants.local_time import next_local_midnight
from grants.reviews.assignments import desk_page
from grants.security import is_local_path

bp = Blueprint("home", __name__)

LANGUAGES = ("fr", "en")


@bp.get("/")
@allow(Access.PUBLIC)
@page_cache.public_page(public_cache.SCOPE)
def index():
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    if page_cache.is_storing():
        # The open calls' countdowns are in days; a call that opens or closes moves.
        page_cache.expire_by(next_local_midnight())
        page_cache.expire_by(next_change())
    return render_template("home/index.html", calls=public_calls())


@bp.get("/mon-espace")
@allow(Access.AUTHENTICATED)
def dashboard():
    role = services.home_role(current_user)
    if role == Role.MANAGER:
        return render_template("home/dashboard_manager.html", board=services.manager_dashboard())
    if role == Role.REVIEWER:
        return render_template("home/dashboard_reviewer.html", desk=desk_page(current_user))
    if role == Role.APPLICANT:
        return render_template(
            "home/dashboard_applicant.html", board=services.applicant_dashboard(current_user)
        )
    return render_template("home/dashboard_none.html")


@bp.post("/langue")
@allow(Access.PUBLIC)
def set_language():
    locale = request.form.get("locale", "")
    if locale not in LANGUAGES:
        abort(400)
    session["locale"] = locale
    refresh()  # forget the locale Flask-Babel cached for this request
    if current_user.is_authenticated and current_user.locale != locale:
        current_user.locale = locale
        db.session.commit()
    target = request.form.get("next", "")
    return redirect(target if is_local_path(target) else url_for("home.index"))

