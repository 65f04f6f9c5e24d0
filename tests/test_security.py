"""The security baseline every feature inherits: headers, CSRF on every form, cookie flags."""

from __future__ import annotations

import pytest

import config
from grants import create_app
from grants.access import Access
from grants.security import CONTENT_SECURITY_POLICY
from tests.test_route_access import application_routes, example_url


def test_security_headers_on_every_page(client):
    response = client.get("/")
    headers = response.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert headers["Strict-Transport-Security"].startswith("max-age=")


def test_error_pages_carry_the_headers_too(client):
    response = client.get("/cette-page-n-existe-pas")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers
    assert "Cette page n'existe pas" in response.get_data(as_text=True)


def test_no_inline_script_or_style_in_templates():
    """The CSP forbids them, so a page using them would silently break. (Emails are not pages: mail
    clients ignore style sheets, so templates/email/ may style inline.)"""
    from pathlib import Path

    offenders = []
    for template in Path("templates").rglob("*.html"):
        if template.parts[1] == "email":
            continue
        text = template.read_text()
        for marker in ("<script>", "<script type=\"text/javascript\">", " style=\"", " onclick=", " onsubmit="):
            if marker in text:
                offenders.append(f"{template}: {marker.strip()}")
    assert offenders == []


@pytest.fixture
def app_overrides():
    return {"WTF_CSRF_ENABLED": True}


def test_every_post_route_refuses_a_request_without_csrf_token(app, client):
    # The JSON API is exempt: it authenticates by bearer token only, never by cookie, so a forged
    # cross-site request carries no credential (tests/api/test_csrf.py proves it).
    post_routes = [
        rule for rule in application_routes(app)
        if "POST" in rule.methods and app.view_functions[rule.endpoint].access_rule != Access.API_TOKEN
    ]
    assert post_routes, "no form at all?"
    for rule in post_routes:
        response = client.post(example_url(app, rule), data={})
        # 400 from CSRFProtect before any access rule or view code runs.
        assert response.status_code == 400, f"{rule.rule} accepted a POST without CSRF token"


def test_cookie_flags_by_configuration():
    assert config.ProductionConfig.SESSION_COOKIE_SECURE is True
    assert config.ProductionConfig.REMEMBER_COOKIE_SECURE is True
    for cfg in (config.ProductionConfig, config.DevelopmentConfig, config.TestingConfig):
        assert cfg.SESSION_COOKIE_HTTPONLY and cfg.REMEMBER_COOKIE_HTTPONLY
        assert cfg.SESSION_COOKIE_SAMESITE == "Lax" and cfg.REMEMBER_COOKIE_SAMESITE == "Lax"


def test_production_refuses_to_start_without_its_secrets(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL, REDIS_URL"):
        create_app("production")


def test_unknown_configuration_name_is_refused():
    with pytest.raises(RuntimeError, match="unknown configuration"):
        create_app("staging-typo")


def test_database_url_uses_psycopg3(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    assert create_app("development").config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"
    assert config.sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
