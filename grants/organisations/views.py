from flask import Blueprint, render_template

from grants.access import Access, allow

bp = Blueprint("organisations", __name__, url_prefix="/association")


@bp.get("/")
@allow(Access.APPLICANT)
def profile():
    return render_template("home/index.html")
