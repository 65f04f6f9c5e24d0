"""Bearer-token authentication for the JSON API.

``@token_required(Access.MANAGER)`` is the API's ``@allow``: it reads ``Authorization: Bearer …``,
makes the token's user the acting user of the request (``current_user``), then checks his role.
The session cookie never authenticates an API request: a browser sends cookies by itself with any
request a foreign page makes it send, so accepting them would reopen the cross-site request forgery
that CSRF tokens close on the forms, on routes that are exempt from those tokens. A bearer token is
only ever sent by a program that holds it.

Answers (RFC 6750): no or malformed header, unknown, revoked token, or inactive user → 401 with
``WWW-Authenticate: Bearer``; a valid token whose user no longer has the role → 403.
"""

from __future__ import annotations

import functools
import re

from flask import g, jsonify, request
from flask_babel import get_locale
from flask_babel import gettext as _

from grants.access import Access, user_satisfies
from grants.api import services
from grants.audit.services import record_event
from grants.database import db

REALM = "subventia"
_BEARER = re.compile(r"Bearer +([A-Za-z0-9\-._~+/]+=*) *", re.IGNORECASE)


def json_error(status: int, error: str, message: str, **extra):
    response = jsonify({"error": error, "message": message, **extra})
    response.status_code = status
    return response


def unauthorised(message: str, *, invalid: bool):
    response = json_error(401, "unauthorized", message)
    challenge = f'Bearer realm="{REALM}"'
    if invalid:
        challenge += ', error="invalid_token"'
    response.headers["WWW-Authenticate"] = challenge
    return response


def forbidden(rule: Access, user):
    # A refusal is audited like the interface's 403s, in a transaction of its own.
    db.session.rollback()
    record_event("access.refused", actor=user, endpoint=request.endpoint or "", path=request.path)
    db.session.commit()
    return json_error(403, "forbidden", _("Ce jeton ne permet pas cette opération (rôle requis : %(role)s).", role=rule.value))


def presented_secret() -> str | None:
    """The secret of ``Authorization: Bearer <secret>``; "" when the header is there but malformed."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    match = _BEARER.fullmatch(header)
    return match.group(1) if match else ""


def token_required(rule: Access):
    """Declare and enforce who may call an API view: a valid bearer token whose user satisfies
    ``rule``. The view is marked ``Access.API_TOKEN`` for the route walk of the tests."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            secret = presented_secret()
            if secret is None:
                return unauthorised(_("Authentification requise : en-tête « Authorization: Bearer <jeton> »."), invalid=False)
            token = services.token_for_secret(secret) if secret else None
            if token is None:
                return unauthorised(_("Jeton absent, inconnu, révoqué ou dont le titulaire est désactivé."), invalid=True)
            user = token.user
            # The acting user of this request, for current_user, the audit log and the locale; the
            # session is neither read nor written.
            g._login_user = user
            g.api_token = token
            # The answer's language is the holder's, settled now: a message built after a failed
            # flush must not need to reload the user from a session that awaits its rollback.
            get_locale()
            if services.record_use(token):
                # Its own small transaction: the use is noted even when the operation then fails.
                db.session.commit()
            if not user_satisfies(user, rule):
                return forbidden(rule, user)
            return view(*args, **kwargs)

        wrapper.access_rule = Access.API_TOKEN
        wrapper.api_role = rule
        return wrapper

    return decorator
