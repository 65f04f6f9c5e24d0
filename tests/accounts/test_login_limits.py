"""Rate limits on signing in and on password-reset requests (turned on for this module only)."""

from __future__ import annotations

import pytest

from grants.extensions import limiter
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


def test_successful_sign_ins_never_count_against_the_address(app, client):
    # Behind a proxy, every user of an office shares one address: 25 good sign-ins must all pass.
    for _ in range(25):
        assert login(client, UserFactory()).status_code == 302
        client.post("/deconnexion")


def test_guesses_from_elsewhere_never_lock_the_owner_out(app):
    owner = UserFactory()
    attacker = app.test_client()
    for _ in range(8):
        attacker.post("/connexion", data={"email": owner.email, "password": "wrong password guess"},
                      environ_base={"REMOTE_ADDR": "198.51.100.66"})
    held_back = attacker.post("/connexion", data={"email": owner.email, "password": TEST_PASSWORD},
                              environ_base={"REMOTE_ADDR": "198.51.100.66"})
    assert held_back.status_code == 429  # the attacker's address is held back…
    owners_browser = app.test_client()
    response = owners_browser.post("/connexion", data={"email": owner.email, "password": TEST_PASSWORD},
                                   environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert response.status_code == 302  # …the owner, elsewhere, signs in


def test_registrations_are_limited_per_address_and_per_email(app, organisation_form):
    def register(path, data, address):
        return app.test_client().post(path, data=data, environ_base={"REMOTE_ADDR": address})

    # Per email: three attempts an hour, from whatever address, whatever their outcome.
    for n in range(3):
        assert register("/inscription/particulier", {"email": "same@example.org"}, f"192.0.2.{n + 1}").status_code == 200
    assert register("/inscription/particulier", {"email": "same@example.org"}, "192.0.2.50").status_code == 429
    # Per address: ten an hour, across both registration forms.
    for n in range(10):
        assert register("/inscription", {**organisation_form, "email": f"n{n}@example.org"}, "203.0.113.9").status_code != 429
    assert register("/inscription/particulier", {"email": "new@example.org"}, "203.0.113.9").status_code == 429


class TestBehindAProxy:
    @pytest.fixture
    def app_overrides(self):
        return {"RATELIMIT_ENABLED": True, "TRUSTED_PROXY_HOPS": 1}

    def test_clients_are_told_apart_by_the_forwarded_address(self, app, client):
        proxy = {"REMOTE_ADDR": "10.0.0.2"}
        for n in range(20):
            client.post("/connexion", data={"email": f"guess{n}@asso.example", "password": "wrong password guess"},
                        environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.66"})
        blocked = client.post("/connexion", data={"email": "x@asso.example", "password": "wrong password guess"},
                              environ_base=proxy, headers={"X-Forwarded-For": "198.51.100.66"})
        assert blocked.status_code == 429
        other = app.test_client().post("/connexion", data={"email": UserFactory().email, "password": TEST_PASSWORD},
                                       environ_base=proxy, headers={"X-Forwarded-For": "192.0.2.7"})
        assert other.status_code == 302

    def test_a_forged_header_cannot_escape_the_limit(self, app, client):
        # The proxy appends the real peer; only the last hop is trusted, so a client's own
        # X-Forwarded-For value ("1.2.3.4, <its address>") changes nothing.
        proxy = {"REMOTE_ADDR": "10.0.0.2"}
        for n in range(20):
            client.post("/connexion", data={"email": f"guess{n}@asso.example", "password": "wrong password guess"},
                        environ_base=proxy, headers={"X-Forwarded-For": f"1.2.3.{n}, 198.51.100.66"})
        blocked = client.post("/connexion", data={"email": "x@asso.example", "password": "wrong password guess"},
                              environ_base=proxy, headers={"X-Forwarded-For": "9.9.9.9, 198.51.100.66"})
        assert blocked.status_code == 429


class TestWhenTheLimiterStorageIsDown:
    @pytest.fixture
    def app_overrides(self):
        # Nothing listens on port 1: every call to the limiter's Redis fails.
        return {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0"}

    def test_sign_in_still_works_and_the_limit_still_holds_in_memory(self, app, client, caplog):
        # The limiter is one extension object for the whole process: an earlier test of this worker may have
        # found the storage down already (it then says so only once). Start from a storage believed alive.
        limiter._storage_dead = False
        user = UserFactory()
        assert login(client, user).status_code == 302
        client.post("/deconnexion")
        for _ in range(5):
            assert login(client, user, password="wrong password guess").status_code == 200
        assert login(client, user, password="wrong password guess").status_code == 429
        assert any("storage unreachable" in record.getMessage() for record in caplog.records), [r.getMessage() for r in caplog.records]
