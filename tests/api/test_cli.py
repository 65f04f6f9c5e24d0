"""``flask api-tokens create|list|revoke``: the secret printed once, on its own line; refusals exit 1."""

from __future__ import annotations

import hashlib

from grants.api.models import ApiToken
from grants.audit.models import AuditEvent
from grants.database import db
from tests.api.conftest import bearer
from tests.factories import ManagerFactory, ReviewerFactory, member_of


def run(app, *args):
    # Click 8.2+: ``stdout`` is standard output alone, ``output`` both streams interleaved.
    return app.test_cli_runner().invoke(args=["api-tokens", *args])


def tokens() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(ApiToken).order_by(ApiToken.id)))


def test_create_prints_the_secret_once_on_stdout(app, client):
    manager = ManagerFactory(email="claire@region.example")
    result = run(app, "create", "--email", "Claire@Region.example", "--name", "logiciel financier")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("sbv_") and len(secret) == 47
    assert result.stdout.count(secret) == 1
    token = tokens()[0]
    assert (token.user_id, token.name) == (manager.id, "logiciel financier")
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert client.get("/api/v1/calls", headers=bearer(secret)).status_code == 200
    assert db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "api_token.created")) is not None


def test_create_refuses_reviewers_and_applicants_with_a_clear_message(app):
    for user in (ReviewerFactory(), member_of()):
        result = run(app, "create", "--email", user.email)
        assert result.exit_code == 1
        assert "Seuls les chargés de mission et les administrateurs" in result.output
    assert tokens() == []


def test_create_for_an_unknown_address_fails(app):
    result = run(app, "create", "--email", "personne@region.example")
    assert result.exit_code == 1
    assert tokens() == []


def test_list_never_shows_the_secret(app):
    ManagerFactory(email="claire@region.example")
    secret = run(app, "create", "--email", "claire@region.example", "--name", "tableur").stdout.strip().splitlines()[-1]
    result = run(app, "list", "--email", "claire@region.example")
    assert result.exit_code == 0
    assert "tableur" in result.stdout and secret[:12] in result.stdout and "actif" in result.stdout
    assert secret not in result.stdout


def test_list_says_when_there_is_none(app):
    ManagerFactory(email="claire@region.example")
    assert "Aucun jeton" in run(app, "list", "--email", "claire@region.example").stdout


def test_revoke(app, client):
    ManagerFactory(email="claire@region.example")
    secret = run(app, "create", "--email", "claire@region.example").stdout.strip().splitlines()[-1]
    token = tokens()[0]
    result = run(app, "revoke", "--id", str(token.id))
    assert result.exit_code == 0, result.output
    assert tokens()[0].revoked_at is not None
    assert client.get("/api/v1/calls", headers=bearer(secret)).status_code == 401
    assert "révoqué" in run(app, "list", "--email", "claire@region.example").stdout
    again = run(app, "revoke", "--id", str(token.id))
    assert again.exit_code == 1
    assert run(app, "revoke", "--id", "987654").exit_code == 1
