"""With CSRF protection on, as in production: the API needs no CSRF token (it is exempt, and takes no
cookie), the token pages do. A forged cross-site POST carrying a manager's session cookie is refused."""

from __future__ import annotations

import re

import pytest

from grants.api.models import ApiToken
from grants.awards.models import Decision
from grants.database import db
from tests.api.conftest import bearer, open_call, under_review
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def app_overrides():
    return {"WTF_CSRF_ENABLED": True}


def sign_in_with_csrf(client, user):
    """Sign in the way a browser does: the form's CSRF token, from the site itself."""
    same_site = {"Referer": f"{client.get('/connexion').request.host_url}connexion"}
    page = client.get("/connexion").get_data(as_text=True)
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/connexion", headers=same_site,
                           data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": csrf_token})
    assert response.status_code == 302
    return same_site


def award(client, application, **kwargs):
    return client.post(
        f"/api/v1/applications/{application.id}/award", json={"amount": "1000.00", "section": "fonctionnement"}, **kwargs
    )


def test_the_api_needs_a_token_not_a_csrf_token(client, secret):
    application = under_review(open_call())
    assert award(client, application, headers=bearer(secret)).status_code == 201


def test_a_forged_cross_site_post_with_a_managers_session_is_refused(client, manager):
    application = under_review(open_call())
    sign_in_with_csrf(client, manager)
    response = award(client, application, headers={"Origin": "https://evil.example"})
    assert response.status_code == 401
    assert db.session.scalar(db.select(db.func.count(Decision.id))) == 0


def test_the_token_pages_still_need_the_csrf_token(client, manager, secret):
    same_site = sign_in_with_csrf(client, manager)
    assert client.post("/compte/jetons-api", headers=same_site, data={"name": "script"}).status_code == 400
    assert db.session.scalar(db.select(db.func.count(ApiToken.id))) == 1  # the fixture's own
