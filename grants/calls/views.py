from flask import Blueprint, render_template

from grants.access import Access, allow

bp = Blueprint("calls", __name__, url_prefix="/appels")


@bp.get("/")
@allow(Access.PUBLIC)
def index():
    return render_template("home/index.html")
