from flask import Blueprint, redirect, render_template, url_for
from flask_login import logout_user

from grants.access import Access, allow

bp = Blueprint("accounts", __name__)


@bp.route("/connexion", methods=["GET", "POST"])
@allow(Access.PUBLIC)
def login():
    return render_template("home/index.html")


@bp.post("/deconnexion")
@allow(Access.PUBLIC)
def logout():
    logout_user()
    return redirect(url_for("home.index"))


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@allow(Access.PUBLIC)
def forgot_password():
    return render_template("home/index.html")
