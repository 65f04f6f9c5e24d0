"""Who gets into the API: a valid bearer token of an active manager or admin, and nothing else."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine

from grants.accounts.models import StaffRole
from grants.api import services
from grants.api.models import ApiToken
from grants.audit.models import AuditEvent
from grants.awards.models import Decision
from grants.database import db, utcnow
from grants.errors import NotAllowed
from tests.api.conftest import bearer, matches_schema, new_token, open_call, under_review
from tests.factories import AdminFactory, ManagerFactory, ReviewerFactory, UserFactory, member_of

CALLS = "/api/v1/calls"


def assert_unauthorised(response, *, invalid: bool):
    assert response.status_code == 401
    assert response.mimetype == "application/json"
    assert response.json["error"] == "unauthorized"
    assert matches_schema(response.json, "Error") == []
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="subventia"')
    assert ('error="invalid_token"' in challenge) is invalid
    assert "Set-Cookie" not in response.headers


def test_no_header_is_401_with_a_bearer_challenge(client):
    assert_unauthorised(client.get(CALLS), invalid=False)


@pytest.mark.parametrize(
    "header",
    ["Token abc", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer a b", "Bearer\tabc", "sbv_abc", "Bearer é"],
)
def test_a_malformed_header_is_401(client, secret, header):
    assert_unauthorised(client.get(CALLS, headers={"Authorization": header}), invalid=True)


def test_a_malformed_header_does_not_fall_back_to_the_token_in_it(client, secret):
    assert_unauthorised(client.get(CALLS, headers={"Authorization": f"Token {secret}"}), invalid=True)
    assert_unauthorised(client.get(CALLS, headers={"Authorization": secret}), invalid=True)


def test_an_unknown_token_is_401(client, secret):
    wrong = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    assert_unauthorised(client.get(CALLS, headers=bearer(wrong)), invalid=True)
    assert_unauthorised(client.get(CALLS, headers=bearer("sbv_" + "x" * 43)), invalid=True)


def test_the_scheme_is_case_insensitive(client, secret):
    assert client.get(CALLS, headers={"Authorization": f"bearer {secret}"}).status_code == 200


def test_a_valid_token_opens_the_api(client, secret):
    response = client.get(CALLS, headers=bearer(secret))
    assert response.status_code == 200
    assert response.json["items"] == []


def test_a_revoked_token_is_401(client, manager, secret):
    token = db.session.scalars(db.select(ApiToken)).one()
    services.revoke_token(token, actor=manager)
    db.session.commit()
    assert_unauthorised(client.get(CALLS, headers=bearer(secret)), invalid=True)


def test_the_token_of_a_deactivated_user_is_401(client, manager, secret):
    manager.active = False
    db.session.commit()
    assert_unauthorised(client.get(CALLS, headers=bearer(secret)), invalid=True)


def test_a_holder_who_lost_the_manager_role_gets_403_and_the_refusal_is_audited(client, manager, secret):
    manager.staff_role = StaffRole.REVIEWER
    db.session.commit()
    response = client.get(CALLS, headers=bearer(secret))
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert matches_schema(response.json, "Error") == []
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "access.refused")).one()
    assert event.actor_id == manager.id and event.details["path"] == CALLS


def test_admins_tokens_work_too(client):
    admin = AdminFactory()
    assert client.get(CALLS, headers=bearer(new_token(admin))).status_code == 200


@pytest.mark.parametrize("make_user", [ReviewerFactory, UserFactory, member_of], ids=["reviewer", "no_role", "member"])
def test_only_managers_and_admins_may_hold_tokens(app, make_user):
    user = make_user()
    with pytest.raises(NotAllowed):
        services.create_token(user, name="script", actor=user)
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 0


def test_a_deactivated_manager_may_not_get_a_token(app):
    manager = ManagerFactory(active=False)
    with pytest.raises(NotAllowed):
        services.create_token(manager, name="script", actor=manager)


def test_only_the_hash_of_the_secret_is_stored(app, manager):
    secret = new_token(manager)
    assert secret.startswith("sbv_") and len(secret) == 4 + 43
    token = db.session.scalars(db.select(ApiToken)).one()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert token.prefix == secret[:12]
    stored = [str(getattr(token, column.key)) for column in ApiToken.__table__.columns]
    assert not any(secret in value for value in stored)


def test_a_session_cookie_without_a_token_is_401_even_for_a_manager(client, manager, login_as):
    """The API refuses sessions: a page elsewhere could make a signed-in manager's browser post an
    award (the API routes carry no CSRF token)."""
    call = open_call()
    application = under_review(call)
    login_as(manager)
    assert client.get("/compte").status_code == 200  # the session is real
    assert_unauthorised(client.get(CALLS), invalid=False)
    response = client.post(
        f"/api/v1/applications/{application.id}/award", json={"amount": "1000.00", "section": "fonctionnement"}
    )
    assert_unauthorised(response, invalid=False)
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0


def test_with_a_session_and_a_token_the_token_decides_who_acts(client, manager, login_as):
    admin = AdminFactory()
    call = open_call()
    application = under_review(call)
    login_as(manager)
    response = client.post(
        f"/api/v1/applications/{application.id}/award",
        json={"amount": "1000.00", "section": "fonctionnement"},
        headers=bearer(new_token(admin)),
    )
    assert response.status_code == 201, response.json
    assert response.json["decided_by"]["id"] == admin.id
    assert db.session.scalars(db.select(Decision)).one().decided_by_id == admin.id


def test_last_use_is_noted_at_most_once_a_minute(client, manager):
    secret = new_token(manager)
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)

    def last_used():
        db.session.expire_all()
        return db.session.scalars(db.select(ApiToken)).one().last_used_at

    assert last_used() is None
    with time_machine.travel(start, tick=False):
        assert client.get(CALLS, headers=bearer(secret)).status_code == 200
    assert last_used() == start
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        client.get(CALLS, headers=bearer(secret))
    assert last_used() == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        client.get(CALLS, headers=bearer(secret))
    assert last_used() == start + timedelta(seconds=61)


def test_a_refused_token_is_not_marked_as_used(client, manager, secret):
    token = db.session.scalars(db.select(ApiToken)).one()
    services.revoke_token(token, actor=manager)
    db.session.commit()
    client.get(CALLS, headers=bearer(secret))
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).last_used_at is None
