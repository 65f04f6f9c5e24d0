"""The login limits behind a real reverse proxy: gunicorn with the production configuration
(PostgreSQL, the limiter's counters on Redis, TRUSTED_PROXY_HOPS=1) behind a forwarding proxy on
loopback. Clients come from distinct loopback addresses, as users come from distinct networks; the
app sees only the proxy as its peer, and must tell them apart by X-Forwarded-For."""

from __future__ import annotations

import http.client
import re
import urllib.parse
import uuid

import pytest

from grants.database import db
from tests.conftest import TEST_PASSWORD
from tests.factories import UserFactory
from tests.live_servers import forwarding_proxy, gunicorn_server, production_environment


@pytest.fixture
def proxied(pg_app, redis_url, tmp_path):
    env = production_environment(
        pg_app.config["SQLALCHEMY_DATABASE_URI"], redis_url, tmp_path / "instance",
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",  # counters of earlier runs stay apart
        TRUSTED_PROXY_HOPS="1",
    )
    with gunicorn_server(env, tmp_path / "gunicorn.log", workers=2) as backend, forwarding_proxy(backend) as proxy:
        yield proxy


class Browser:
    """A user's browser on its own loopback address. It keeps the session cookie by hand: the
    production cookie is Secure, and the proxy here speaks plain HTTP on loopback."""

    def __init__(self, base: str, address: str):
        self.base = urllib.parse.urlsplit(base)
        self.address = address
        self.cookie = ""

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.base.hostname, self.base.port, timeout=30,
                                                source_address=(self.address, 0))
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            for value in response.headers.get_all("Set-Cookie") or []:
                if value.startswith("session="):
                    self.cookie = value.split(";", 1)[0]
            return response.status, text
        finally:
            connection.close()

    def sign_in(self, email: str, password: str) -> int:
        status, page = self.request("GET", "/connexion")
        assert status == 200, page[:300]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on the login page"
        status, _ = self.request("POST", "/connexion", {"csrf_token": token.group(1), "email": email, "password": password})
        return status


def test_one_clients_failures_never_block_another(pg_app, proxied):
    owner, other = UserFactory(), UserFactory()
    db.session.commit()
    attacker = Browser(proxied, "127.0.0.2")
    colleague = Browser(proxied, "127.0.0.3")

    # 20 failed sign-ins from one address exhaust that address's allowance …
    for n in range(20):
        assert attacker.sign_in(f"guess{n}@asso.example", "wrong password guess") == 200
    assert attacker.sign_in(owner.email, TEST_PASSWORD) == 429
    # … and only that address's: another user behind the same proxy signs in, and so does the owner.
    assert colleague.sign_in(other.email, TEST_PASSWORD) == 302
    assert Browser(proxied, "127.0.0.4").sign_in(owner.email, TEST_PASSWORD) == 302


def test_guesses_at_one_account_do_not_lock_its_owner_out(pg_app, proxied):
    owner = UserFactory()
    db.session.commit()
    attacker = Browser(proxied, "127.0.0.5")
    for _ in range(5):
        assert attacker.sign_in(owner.email, "wrong password guess") == 200
    assert attacker.sign_in(owner.email, TEST_PASSWORD) == 429
    assert Browser(proxied, "127.0.0.6").sign_in(owner.email, TEST_PASSWORD) == 302
