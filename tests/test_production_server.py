"""The production set-up of README.md, for real: gunicorn serving the app with the production
configuration on PostgreSQL, with the login limiter's counters on Redis."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from tests.live_servers import gunicorn_server, production_environment


@pytest.fixture
def gunicorn(pg_app, redis_url, tmp_path):
    env = production_environment(pg_app.config["SQLALCHEMY_DATABASE_URI"], redis_url, tmp_path / "instance")
    with gunicorn_server(env, tmp_path / "gunicorn.log") as base:
        yield base


def test_gunicorn_serves_the_app_with_production_settings(gunicorn):
    with urllib.request.urlopen(gunicorn + "/appels/", timeout=10) as response:
        assert response.status == 200
        assert "Strict-Transport-Security" in response.headers
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    with urllib.request.urlopen(gunicorn + "/connexion", timeout=10) as response:
        cookie = response.headers.get("Set-Cookie", "")
    # The login form puts a CSRF token in the session: its cookie must be Secure, HttpOnly, Lax.
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(gunicorn + "/cette-page-n-existe-pas", timeout=10)
    assert missing.value.code == 404
