"""Who may see and revoke an API token: its holder, and admins (who may revoke anyone's).

Anyone else asking for a token by id gets a 404, never a 403: an id tells an outsider nothing."""

from __future__ import annotations

from flask import abort

from grants.api.models import ApiToken
from grants.database import db


def can_revoke(user, token: ApiToken) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return token.user_id == user.id or user.is_admin


def revocable_token_or_404(user, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or not can_revoke(user, token):
        abort(404)
    return token
