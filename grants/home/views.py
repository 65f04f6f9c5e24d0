"""Landing page, each role's home page, and the language switch. (Being built out by a helper.)"""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from grants.access import Access, allow

bp = Blueprint("home", __name__)


@bp.get("/")
@allow(Access.PUBLIC)
def index():
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    return render_template("home/index.html")


@bp.get("/mon-espace")
@allow(Access.AUTHENTICATED)
def dashboard():
    return render_template("home/index.html")


@bp.post("/langue")
@allow(Access.PUBLIC)
def set_language():
    return redirect(url_for("home.index"))
