"""Sessions end on the server: a cookie copied before signing out opens nothing afterwards.

Each sign-in is a row of ``login_sessions``; the session and remember-me cookies carry its token.
Signing out deletes the row, so every copy of those cookies stops working, from any browser.
"""

from __future__ import annotations

import hashlib

from grants.accounts.models import LoginSession, StaffRole
from grants.accounts.services import set_staff_role
from grants.database import db
from tests.accounts.conftest import audit_events, is_signed_in
from tests.conftest import TEST_PASSWORD, login
from tests.factories import UserFactory

COOKIE_DOMAIN = "subventia.test"  # the tests' SERVER_NAME

def cookie_value(client, name: str) -> str:
    cookie = client.get_cookie(name, domain=COOKIE_DOMAIN)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def browser_with(app, **cookies):
    """Another browser, holding copies of the given cookies."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value, domain=COOKIE_DOMAIN)
    return other


def live_sessions(user) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id))


def test_a_session_cookie_copied_before_logout_is_refused_after_it(app, client):
    user = UserFactory()
    login(client, user)
    copied = cookie_value(client, "session")
    assert is_signed_in(browser_with(app, session=copied))

    client.post("/deconnexion")

    assert not is_signed_in(client)
    assert not is_signed_in(browser_with(app, session=copied))
    assert live_sessions(user) == 0


def test_a_remember_me_cookie_copied_before_logout_is_refused_after_it(app, client):
    user = UserFactory()
    login(client, user, remember=True)
    copied = cookie_value(client, "remember_token")
    assert is_signed_in(browser_with(app, remember_token=copied))  # alone, it signs in another browser

    client.post("/deconnexion")

    assert not is_signed_in(browser_with(app, remember_token=copied))


def test_signing_out_one_device_leaves_the_others_signed_in(app):
    user = UserFactory()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    assert live_sessions(user) == 2

    laptop.post("/deconnexion")

    assert not is_signed_in(laptop)
    assert is_signed_in(phone)


def test_sign_out_everywhere_ends_every_device_and_is_audited(app):
    user = UserFactory()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user, remember=True)
    login(phone, user)
    remembered = cookie_value(laptop, "remember_token")
    page = phone.get("/compte").get_data(as_text=True)
    assert "ouvert sur 2 appareils" in page

    response = phone.post("/compte/deconnexion-partout")

    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert not is_signed_in(phone)
    assert not is_signed_in(laptop)
    assert not is_signed_in(browser_with(app, remember_token=remembered))
    [event] = audit_events("auth.signed_out_everywhere")
    assert event.actor_id == user.id


def test_a_password_change_keeps_this_device_and_ends_the_others(app):
    user = UserFactory()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    response = laptop.post(
        "/compte/mot-de-passe",
        data={"current_password": TEST_PASSWORD, "new_password": "a new long passphrase", "new_password_confirm": "a new long passphrase"},
    )
    assert response.status_code == 302
    assert is_signed_in(laptop)
    assert not is_signed_in(phone)
    assert live_sessions(user) == 1


def test_a_role_change_ends_the_sessions_opened_under_the_old_role(app, client):
    reviewer = UserFactory(staff_role=StaffRole.REVIEWER)
    login(client, reviewer)
    assert is_signed_in(client)

    set_staff_role(reviewer, StaffRole.MANAGER)
    db.session.commit()

    assert not is_signed_in(client)
    [event] = audit_events("account.role_changed")
    assert event.details == {"previous": "reviewer", "role": "manager"}


def test_the_database_keeps_only_a_hash_of_the_token(app, client):
    user = UserFactory()
    login(client, user)
    session = app.session_interface.get_signing_serializer(app).loads(cookie_value(client, "session"))
    user_id, _, token = session["_user_id"].partition(":")
    assert int(user_id) == user.id and len(token) >= 40
    stored = db.session.scalars(db.select(LoginSession.token_hash).where(LoginSession.user_id == user.id)).one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored


def test_an_expired_session_is_refused_and_purged_at_the_next_sign_in(app, client):
    user = UserFactory()
    login(client, user)
    row = db.session.scalars(db.select(LoginSession).where(LoginSession.user_id == user.id)).one()
    row.expires_at = row.created_at
    db.session.commit()
    assert not is_signed_in(client)

    login(client, user)
    assert live_sessions(user) == 1
