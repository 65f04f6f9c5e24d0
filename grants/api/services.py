"""API tokens: creating, revoking, and recognising them.

A token is ``sbv_`` followed by 43 URL-safe characters (32 random bytes). Only its SHA-256 is stored,
so a copy of the database gives nobody access to the API; the secret is returned once, at creation.
Only programme managers and admins may hold tokens: the API awards grants.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

from grants.accounts.models import User
from grants.api.models import ApiToken
from grants.audit.services import record_event
from grants.database import db, utcnow
from grants.errors import DomainError, NotAllowed

TOKEN_PREFIX = "sbv_"
# What the interface shows of a secret so that staff can tell tokens apart: "sbv_" and 8 characters.
SHOWN_PREFIX_LENGTH = 12
# last_used_at is written at most this often: a busy script would otherwise write a row per request.
USAGE_RESOLUTION = timedelta(minutes=1)
NAME_MAX_LENGTH = 120


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def may_hold_tokens(user: User) -> bool:
    return bool(user.active and user.is_manager)


def create_token(user: User, *, name: str, actor: User) -> tuple[ApiToken, str]:
    """Create a token for ``user`` and return it with its secret, which is not kept anywhere.

    Keeps: only active managers and admins hold tokens; a token has a name.
    """
    if not may_hold_tokens(user):
        raise NotAllowed(
            _("Seuls les chargés de mission et les administrateurs actifs peuvent détenir un jeton d'API.")
        )
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Donnez un nom au jeton (par exemple : « logiciel financier »)."), field="name")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(
            _("Le nom ne doit pas dépasser %(count)d caractères.", count=NAME_MAX_LENGTH), field="name"
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        token_hash=hash_secret(secret),
        created_at=utcnow(),
    )
    db.session.add(token)
    db.session.flush()
    record_event("api_token.created", actor=actor, subject=token, owner=user.email, name=name, prefix=token.prefix)
    return token, secret


def revoke_token(token: ApiToken, *, actor: User) -> None:
    """Revoke ``token`` for good (a revoked token is never valid again).

    Keeps: revocation is recorded once, with who did it.
    """
    if token.revoked_at is not None:
        raise DomainError(_("Ce jeton est déjà révoqué."))
    token.revoked_at = utcnow()
    record_event(
        "api_token.revoked", actor=actor, subject=token, owner=token.user.email, name=token.name, prefix=token.prefix
    )


def token_for_secret(secret: str) -> ApiToken | None:
    """The valid token whose secret is ``secret``: not revoked, and held by an active user.

    The lookup is by hash, so the database's comparison never sees the secret; the hash is then
    compared again in constant time.
    """
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = hash_secret(secret)
    token = db.session.scalar(db.select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        return None
    if token.revoked_at is not None or not token.user.active:
        return None
    return token


def record_use(token: ApiToken) -> bool:
    """Note that ``token`` was used now, unless it was already noted less than a minute ago.

    A single conditional UPDATE: fifty requests at once with one token write the row once. Returns
    whether the row was written.
    """
    now = utcnow()
    if token.last_used_at is not None and token.last_used_at >= now - USAGE_RESOLUTION:
        return False  # noted recently: no statement at all
    result = db.session.execute(
        db.update(ApiToken)
        .where(
            ApiToken.id == token.id,
            (ApiToken.last_used_at.is_(None)) | (ApiToken.last_used_at < now - USAGE_RESOLUTION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        set_committed_value(token, "last_used_at", now)  # what the row now holds, without a reload
    return bool(result.rowcount)


def tokens_of(user: User) -> list[ApiToken]:
    return list(
        db.session.scalars(
            db.select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def active_tokens_of_others(user: User) -> list[ApiToken]:
    """The other staff's tokens still valid (for admins, who may revoke any)."""
    return list(
        db.session.scalars(
            db.select(ApiToken)
            .options(db.joinedload(ApiToken.user))
            .where(ApiToken.user_id != user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )
