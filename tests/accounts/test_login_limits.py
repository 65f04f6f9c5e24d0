"""Rate limits on signing in and on password-reset requests (turned on for this module only)."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD, login
from tests.factories import UserFactory


@pytest.fixture
def app_overrides():
    # The limits themselves come from config.py: 5 per account and 20 per address, per 10 minutes.
    return {"RATELIMIT_ENABLED": True}


def test_the_limits_are_the_configured_ones(app):
    assert app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"] == "5 per 10 minutes"
    assert app.config["LOGIN_RATE_LIMIT_PER_IP"] == "20 per 10 minutes"


def test_failed_attempts_on_one_account_are_limited(app, client):
    user = UserFactory()
    for _ in range(5):
        assert login(client, user, password="wrong password guess").status_code == 200
    # Even the right password is refused now: the attacker cannot tell a hit from a miss.
    response = login(client, user)
    assert response.status_code == 429
    assert "Trop de tentatives" in response.get_data(as_text=True)
    # The limit is per account: another account from the same address still signs in.
    assert login(client, UserFactory()).status_code == 302


def test_the_account_key_ignores_case(app, client):
    user = UserFactory(email="marie@asso.example")
    for variant in ("MARIE@asso.example", "Marie@Asso.Example", "marie@ASSO.example", "marie@asso.EXAMPLE", "mArie@asso.example"):
        client.post("/connexion", data={"email": variant, "password": "wrong password guess"})
    assert login(client, user).status_code == 429


def test_successful_sign_ins_do_not_use_up_the_account_allowance(app, client):
    user = UserFactory()
    for _ in range(7):
        assert login(client, user).status_code == 302
        client.post("/deconnexion")


def test_attempts_from_one_address_are_limited(app, client):
    for n in range(20):
        response = client.post("/connexion", data={"email": f"guess{n}@asso.example", "password": "wrong password guess"})
        assert response.status_code == 200
    response = client.post("/connexion", data={"email": "guess-last@asso.example", "password": "wrong password guess"})
    assert response.status_code == 429
    # Another address is not affected.
    other = app.test_client()
    response = other.post(
        "/connexion",
        data={"email": UserFactory().email, "password": TEST_PASSWORD},
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert response.status_code == 302


def test_showing_the_login_page_is_not_limited(app, client):
    for _ in range(25):
        assert client.get("/connexion").status_code == 200


def test_password_reset_requests_are_limited_per_account(app, client, mail_outbox):
    user = UserFactory()
    for _ in range(5):
        assert client.post("/mot-de-passe-oublie", data={"email": user.email}).status_code == 200
    assert client.post("/mot-de-passe-oublie", data={"email": user.email}).status_code == 429
    assert len(mail_outbox) == 5
