"""Signing in and out."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from grants.database import db
from tests.accounts.conftest import audit_events, is_signed_in
from tests.conftest import TEST_PASSWORD, login
from tests.factories import UserFactory

GENERIC_REFUSAL = "Adresse e-mail ou mot de passe incorrect."


def test_sign_in_with_the_right_password(app, client):
    user = UserFactory(email="marie@asso.example")
    response = login(client, user)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/mon-espace")
    assert is_signed_in(client)
    db.session.refresh(user)
    assert user.last_login_at is not None
    [event] = audit_events("auth.login")
    assert event.actor_id == user.id


def test_the_email_is_case_insensitive(app, client):
    user = UserFactory(email="marie@asso.example")
    response = client.post("/connexion", data={"email": "  Marie@ASSO.example ", "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert audit_events("auth.login")[0].actor_id == user.id


def test_wrong_password_and_unknown_email_get_the_same_answer(app, client):
    user = UserFactory(email="marie@asso.example")
    wrong = login(client, user, password="not the password at all")
    unknown = client.post("/connexion", data={"email": "nobody@asso.example", "password": "whatever it is"})
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert GENERIC_REFUSAL in response.get_data(as_text=True)
        assert 'value="' + "not the password" not in response.get_data(as_text=True)
    assert not is_signed_in(client)


def test_failed_attempts_are_audited_without_the_typed_email_in_clear_nor_the_password(app, client):
    user = UserFactory(email="marie@asso.example")
    login(client, user, password="secret-attempt-1234")
    client.post("/connexion", data={"email": "Nobody@Asso.example", "password": "secret-attempt-5678"})
    client.post("/connexion", data={"email": "nobody@asso.example", "password": "secret-attempt-9"})
    events = audit_events("auth.login_failed")
    assert [e.details["reason"] for e in events] == ["wrong_password", "unknown_email", "unknown_email"]
    # The account's attempt names the account; the unknown address only by its keyed digest and domain.
    assert events[0].subject_id == user.id and events[0].details == {"reason": "wrong_password"}
    assert events[1].subject_id is None and events[1].details["domain"] == "asso.example"
    assert events[1].details["email_digest"] == events[2].details["email_digest"]  # the same guess twice
    assert len(events[1].details["email_digest"]) == 16
    assert all("nobody" not in str(e.details).lower() and "marie" not in str(e.details) for e in events)
    assert all("secret-attempt" not in str(e.details) for e in events)


def test_an_inactive_account_is_refused(app, client):
    user = UserFactory(active=False)
    response = login(client, user)
    assert response.status_code == 200
    assert "Ce compte est désactivé" in response.get_data(as_text=True)
    assert not is_signed_in(client)
    assert audit_events("auth.login_failed")[0].details["reason"] == "inactive"


def test_an_inactive_account_with_a_wrong_password_learns_nothing(app, client):
    user = UserFactory(active=False)
    response = login(client, user, password="not the password at all")
    assert GENERIC_REFUSAL in response.get_data(as_text=True)
    assert "désactivé" not in response.get_data(as_text=True)


def test_empty_form_is_rerendered_with_errors(app, client):
    response = client.post("/connexion", data={"email": "marie@asso.example", "password": ""})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'value="marie@asso.example"' in body
    assert "error-summary" in body


def test_the_session_is_renewed_at_sign_in(app, client):
    user = UserFactory()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["locale"] = "en"
    login(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == user.get_id()
        assert session["locale"] == "en"  # the language chosen before signing in is kept


def test_remember_me_sets_a_safe_long_lived_cookie(app, client):
    user = UserFactory()
    response = login(client, user, remember=True)
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Expires=" in cookie
    # Without the session, the cookie alone signs the user back in.
    client.delete_cookie("session", domain="subventia.test")
    assert is_signed_in(client)


def test_no_remember_cookie_without_the_box_ticked(app, client):
    response = login(client, UserFactory(), remember=False)
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example", "/\\evil.example", "http:/evil", "/\t/evil.example"])
def test_next_never_leaves_the_site(app, client, target):
    user = UserFactory()
    response = client.post("/connexion", query_string={"next": target}, data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/mon-espace"


def test_next_is_honoured_for_a_local_path(app, client):
    user = UserFactory()
    response = client.get("/compte")
    assert response.status_code == 302 and "/connexion?next=" in response.headers["Location"]
    response = client.post(response.headers["Location"], data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/compte"


def test_an_outdated_hash_is_upgraded_at_sign_in(app, client):
    old = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    user = UserFactory(password_hash=old.hash(TEST_PASSWORD))
    assert login(client, user).status_code == 302
    db.session.refresh(user)
    assert "t=2" not in user.password_hash
    assert login(client, user).status_code == 302  # the new hash still checks the same password


def test_logout_is_a_post_and_is_audited(app, client):
    user = UserFactory()
    login(client, user, remember=True)
    assert client.get("/deconnexion").status_code == 405
    response = client.post("/deconnexion")
    assert response.status_code == 302
    assert any(c.startswith("remember_token=;") for c in response.headers.getlist("Set-Cookie"))
    assert not is_signed_in(client)
    assert audit_events("auth.logout")[0].actor_id == user.id


def test_a_signed_in_user_opening_the_login_page_goes_to_his_space(app, client, login_as):
    login_as(UserFactory())
    response = client.get("/connexion")
    assert response.status_code == 302 and response.headers["Location"].endswith("/mon-espace")
