"""The production set-up of README.md, for real: gunicorn serving the app with the production
configuration on PostgreSQL, with the login limiter's counters on Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def gunicorn(pg_app, redis_url, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "SUBVENTIA_CONFIG": "production",
        "SECRET_KEY": "production-test-secret",
        "DATABASE_URL": pg_app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(base + "/", timeout=10)
            break
        except (urllib.error.URLError, OSError):  # not listening yet, or workers still loading
            time.sleep(0.2)
    else:
        pytest.fail(f"gunicorn did not answer within 60 s: {log.read_text()[-3000:]}")
    yield base
    process.terminate()
    process.wait(timeout=20)


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
