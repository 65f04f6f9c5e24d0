"""The production set-up of README.md, for real: gunicorn serving the app with the production
configuration on PostgreSQL, with the login limiter's counters on Redis."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

import pytest

from tests.live_servers import gunicorn_server, production_environment


@pytest.fixture
def gunicorn(pg_app, redis_url, tmp_path):
    env = production_environment(pg_app.config["SQLALCHEMY_DATABASE_URI"], redis_url, tmp_path / "instance")
    with gunicorn_server(env, tmp_path / "gunicorn.log", config="deploy/gunicorn.conf.py") as base:
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


def test_no_server_banner_names_the_software(gunicorn):
    """The Server header would tell an attacker which server (and version) to look up: gunicorn.conf.py
    takes it out of every answer, pages and errors alike."""
    for path in ("/appels/", "/cette-page-n-existe-pas"):
        connection = http.client.HTTPConnection(gunicorn.removeprefix("http://"), timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.getheader("Server") is None, response.getheaders()
        assert "gunicorn" not in str(response.getheaders()).lower()


@pytest.fixture
def small_uploads_gunicorn(pg_app, redis_url, tmp_path):
    # 100 KB per file: a request body over 10 × 100 KB + 1 MB is refused.
    env = production_environment(pg_app.config["SQLALCHEMY_DATABASE_URI"], redis_url, tmp_path / "instance",
                                 MAX_UPLOAD_BYTES=str(100 * 1024))
    with gunicorn_server(env, tmp_path / "gunicorn.log", config="deploy/gunicorn.conf.py") as base:
        yield base


def test_an_over_limit_upload_gets_the_readable_413_page(small_uploads_gunicorn):
    """A body over the limit is read (up to REFUSED_BODY_DRAIN_BYTES) and dropped, so that the client,
    still sending, receives the page that says the limit instead of a connection reset."""
    body = b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n\r\n" + b"A" * (3 * 1024 * 1024)
    for _attempt in range(3):
        connection = http.client.HTTPConnection(small_uploads_gunicorn.removeprefix("http://"), timeout=20)
        connection.putrequest("POST", "/connexion")
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders()
        for start in range(0, len(body), 64 * 1024):
            connection.send(body[start:start + 64 * 1024])
        response = connection.getresponse()
        page = response.read().decode()
        connection.close()
        assert response.status == 413
        assert "100 ko" in page  # the limit, in words
