"""The privacy notice (public, linked from every page, in French and English, from the settings), the
administrators' page and record of processing, and the audit log's reading of failed sign-ins."""

from __future__ import annotations

import html

from grants.database import db
from tests.conftest import login
from tests.factories import AdminFactory, ManagerFactory, UserFactory


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def test_the_notice_is_public_linked_from_every_page_and_follows_the_settings(app, client):
    assert 'href="/confidentialite"' in text(client.get("/"))
    page = text(client.get("/confidentialite"))
    assert "Politique de confidentialité" in page and "dpo@region.example.org" in page
    assert "Brouillons jamais déposés : supprimés avec leurs pièces, après 1 an" in page
    assert "Adresses IP du journal d'audit : supprimées, après 1 an" in page
    assert "RGPD art. 6.1.e" in page and "CNIL" in page
    app.config["PRIVACY_RETENTION_DAYS"] = {**app.config["PRIVACY_RETENTION_DAYS"], "drafts": 90}
    assert "Brouillons jamais déposés : supprimés avec leurs pièces, après 90 jours" in text(client.get("/confidentialite"))


def test_the_notice_reads_in_english(client):
    user = UserFactory(locale="en")
    assert login(client, user).status_code == 302
    page = text(client.get("/confidentialite"))
    assert "Privacy notice" in page and "Drafts never submitted" in page and "1 year" in page


def test_the_account_page_leads_to_the_data_and_the_closure(client):
    assert login(client, UserFactory()).status_code == 302
    page = text(client.get("/compte"))
    assert 'href="/compte/donnees"' in page and 'href="/compte/cloture"' in page
    assert "Demander mes données" in text(client.get("/compte/donnees"))


def test_administrators_only_read_the_requests_and_the_record(app, client):
    assert login(client, ManagerFactory()).status_code == 302
    assert client.get("/admin/donnees-personnelles").status_code == 403
    assert client.get("/admin/donnees-personnelles/registre.csv").status_code == 403
    other = app.test_client()
    assert login(other, AdminFactory()).status_code == 302
    page = text(other.get("/admin/donnees-personnelles"))
    assert "Demande écrite d'accès" in page and "Brouillons jamais déposés" in page
    response = other.get("/admin/donnees-personnelles/registre.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Journal d'audit et sécurité" in response.get_data(as_text=True)


def test_the_audit_log_names_a_failed_sign_in_without_the_typed_address(client):
    user = UserFactory(full_name="Marie Curie", email="marie@asso.example")
    client.post("/connexion", data={"email": user.email, "password": "pas le bon mot de passe"})
    client.post("/connexion", data={"email": "inconnu@ailleurs.example", "password": "x" * 12})
    db.session.commit()
    assert login(client, AdminFactory()).status_code == 302
    page = text(client.get("/admin/journal/"))
    assert "Échec de connexion au compte de Marie Curie (mauvais mot de passe)." in page
    assert "Échec de connexion avec une adresse inconnue du domaine ailleurs.example (empreinte " in page
    assert "inconnu@ailleurs.example" not in page
    assert "127.0.0.1" in page  # the address, read from its own table
