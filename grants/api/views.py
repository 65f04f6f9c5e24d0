"""The JSON API, /api/v1, token-authenticated (Authorization: Bearer …), and the staff's token pages.

``bp`` holds the token pages of the account area (/compte/jetons-api: HTML forms with CSRF tokens);
the API itself is the nested blueprint ``api.v1`` of grants.api.endpoints, with its JSON errors.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _

from grants.access import Access, acting_user, allow
from grants.api import policies, services
from grants.api.endpoints import v1
from grants.api.forms import TokenForm
from grants.database import db
from grants.errors import DomainError
from grants.extensions import csrf
from grants.form_errors import attach_domain_error

bp = Blueprint("api", __name__)

# The API authenticates with bearer tokens only, never with the session cookie (grants/api/auth.py):
# a forged cross-site request carries no token, so the form CSRF tokens have nothing to protect there.
csrf.exempt(v1)
bp.register_blueprint(v1)



def render_tokens(form: TokenForm, status: int = 200):
    user = acting_user()
    return render_template(
        "api/tokens.html",
        form=form,
        tokens=services.tokens_of(user),
        others=services.active_tokens_of_others(user) if user.is_admin else [],
    ), status


@bp.get("/compte/jetons-api")
@allow(Access.MANAGER)
def tokens():
    return render_tokens(TokenForm())


@bp.post("/compte/jetons-api")
@allow(Access.MANAGER)
def create_token():
    form = TokenForm()
    if not form.validate_on_submit():
        return render_tokens(form, 422)
    user = acting_user()
    try:
        token, secret = services.create_token(user, name=form.name.data, actor=user)
    except DomainError as error:
        db.session.rollback()
        if not attach_domain_error(form, error):
            flash(error.message, "error")
        return render_tokens(form, 422)
    db.session.commit()
    # The secret is shown on this response only: never stored, never in a redirect, never cached.
    response = make_response(render_template("api/token_created.html", token=token, secret=secret))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/compte/jetons-api/<int:token_id>/revoquer")
@allow(Access.MANAGER)
def revoke_token(token_id: int):
    token = policies.revocable_token_or_404(acting_user(), token_id)
    try:
        services.revoke_token(token, actor=acting_user())
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("Le jeton « %(name)s » est révoqué : il ne donne plus accès à l'API.", name=token.name), "success")
    return redirect(url_for("api.tokens"))
