"""/compte/jetons-api: staff create (secret shown once), list (never the secret) and revoke their tokens."""

from __future__ import annotations

import hashlib
import re

import html5lib
import pytest

from grants.api import services
from grants.api.models import ApiToken
from grants.audit.models import AuditEvent
from grants.database import db
from tests.api.conftest import bearer, new_token
from tests.factories import AdminFactory, ManagerFactory, ReviewerFactory, member_of

PAGE = "/compte/jetons-api"
SECRET = re.compile(r"sbv_[A-Za-z0-9_-]{43}")


def revoke_url(token_id: int) -> str:
    return f"/compte/jetons-api/{token_id}/revoquer"


def all_tokens() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(ApiToken).order_by(ApiToken.id)))


def test_create_shows_the_secret_once_and_the_list_never(client, login_as, manager):
    login_as(manager)
    response = client.post(PAGE, data={"name": "logiciel financier"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(page)  # well-formed
    secrets_shown = set(SECRET.findall(page))
    assert len(secrets_shown) == 1
    secret = secrets_shown.pop()
    token = all_tokens()[0]
    assert (token.user_id, token.name, token.prefix) == (manager.id, "logiciel financier", secret[:12])
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    # the secret works, once copied
    assert client.get("/api/v1/calls", headers=bearer(secret)).status_code == 200

    listing = client.get(PAGE).get_data(as_text=True)
    assert secret not in listing and not SECRET.search(listing)
    assert "logiciel financier" in listing and f"{secret[:12]}…" in listing
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "api_token.created")).one()
    assert event.actor_id == manager.id and event.subject_id == token.id
    assert secret not in repr(event.details)


def test_the_list_shows_created_last_used_and_revoked(client, login_as, manager):
    new_token(manager, name="tableur")
    used = new_token(manager, name="script nocturne")
    new_token(manager, name="ancien script")
    client.get("/api/v1/calls", headers=bearer(used))
    services.revoke_token(all_tokens()[2], actor=manager)
    db.session.commit()
    login_as(manager)
    page = client.get(PAGE).get_data(as_text=True)
    rows = {name: row for row in page.split("<tr>")[1:] for name in ("tableur", "script nocturne", "ancien script")
            if f"<td>{name}</td>" in row}
    assert "jamais" in rows["tableur"] and "Révoquer" in rows["tableur"]
    assert "jamais" not in rows["script nocturne"]  # used: its date is shown
    assert "révoqué le" in rows["ancien script"] and "Révoquer" not in rows["ancien script"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_a_token_needs_a_name(client, login_as, manager, name):
    login_as(manager)
    response = client.post(PAGE, data={"name": name})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert all_tokens() == []


@pytest.mark.parametrize("make_user", [ReviewerFactory, member_of], ids=["reviewer", "member"])
def test_reviewers_and_applicants_are_refused_the_page_and_the_creation(client, login_as, make_user):
    login_as(make_user())
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data={"name": "script"}).status_code == 403
    assert all_tokens() == []


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.post(PAGE, data={"name": "script"})
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert all_tokens() == []


def test_revoke_works_and_is_audited(client, login_as, manager):
    secret = new_token(manager)
    token = all_tokens()[0]
    login_as(manager)
    response = client.post(revoke_url(token.id))
    assert response.status_code == 302
    assert all_tokens()[0].revoked_at is not None
    assert client.get("/api/v1/calls", headers=bearer(secret)).status_code == 401
    assert "révoqué" in client.get(PAGE).get_data(as_text=True)
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "api_token.revoked")).one()
    assert event.actor_id == manager.id and event.subject_id == token.id


def test_revoking_twice_says_so_and_keeps_the_first_date(client, login_as, manager):
    new_token(manager)
    token = all_tokens()[0]
    login_as(manager)
    client.post(revoke_url(token.id))
    first = all_tokens()[0].revoked_at
    page = client.post(revoke_url(token.id), follow_redirects=True).get_data(as_text=True)
    assert "déjà révoqué" in page
    assert all_tokens()[0].revoked_at == first


def test_another_manager_can_neither_see_nor_revoke_your_token(client, login_as, manager):
    secret = new_token(manager, name="le jeton de Claire")
    token = all_tokens()[0]
    login_as(ManagerFactory())
    assert "le jeton de Claire" not in client.get(PAGE).get_data(as_text=True)
    assert client.post(revoke_url(token.id)).status_code == 404
    assert all_tokens()[0].revoked_at is None
    assert client.get("/api/v1/calls", headers=bearer(secret)).status_code == 200


def test_an_admin_sees_and_revokes_anyones_token(client, login_as, manager):
    new_token(manager, name="le jeton de Claire")
    token = all_tokens()[0]
    login_as(AdminFactory())
    page = client.get(PAGE).get_data(as_text=True)
    assert "le jeton de Claire" in page and manager.email in page
    assert client.post(revoke_url(token.id)).status_code == 302
    assert all_tokens()[0].revoked_at is not None


def test_an_unknown_token_is_404(client, login_as, manager):
    login_as(manager)
    assert client.post(revoke_url(987654)).status_code == 404


def test_the_account_page_links_to_the_tokens_for_staff_only(client, login_as, manager):
    login_as(manager)
    assert PAGE in client.get("/compte").get_data(as_text=True)


def test_the_account_page_has_no_token_link_for_applicants(client, login_as):
    login_as(member_of())
    assert PAGE not in client.get("/compte").get_data(as_text=True)
