"""The public landing page."""

from __future__ import annotations

import html5lib

from grants.models import CallState
from tests.factories import CallFactory, member_of


def test_the_landing_page_presents_the_service_and_the_open_calls(client):
    CallFactory(title="Nos Quartiers d'Été", summary="Des animations en juillet et en août.")
    CallFactory(title="Appel en préparation", state=CallState.DRAFT)
    CallFactory(title="Appel annoncé", state=CallState.SCHEDULED)
    response = client.get("/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(body)
    assert "Demandez une subvention à la Région, en ligne" in body
    assert "Nos Quartiers d&#39;Été" in body and "clôture dans" in body
    assert "Appel en préparation" not in body
    assert "Prochainement" in body and "Appel annoncé" in body
    for target in ('href="/appels/"', 'href="/connexion"'):
        assert target in body
    assert "Créer un compte" in body


def test_the_landing_page_says_so_when_no_call_is_open(client):
    body = client.get("/").get_data(as_text=True)
    assert "Aucun appel à projets n'est ouvert en ce moment." in body


def test_a_signed_in_user_is_sent_to_his_home_page(client, login_as):
    login_as(member_of())
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/mon-espace")
