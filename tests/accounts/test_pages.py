"""Every page of the area renders, is valid HTML, and labels every input."""

from __future__ import annotations

import html5lib
import pytest

from grants.accounts.services import make_reset_token
from tests.factories import UserFactory

PUBLIC_FORMS = ["/connexion", "/inscription", "/inscription/particulier", "/mot-de-passe-oublie"]


def assert_well_formed_with_labels(html: str) -> None:
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    document = parser.parse(html)
    labelled = {label.get("for") for label in document.iter("label")}
    for element in (e for e in document.iter() if e.tag in ("input", "select", "textarea")):
        if element.get("type") in ("hidden", "submit"):
            continue
        assert element.get("id") in labelled, f"no label for {element.get('name')}"


@pytest.mark.parametrize("path", [*PUBLIC_FORMS, "/inscription/choix"])
def test_public_pages_render(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert_well_formed_with_labels(response.get_data(as_text=True))


def test_reset_password_page_renders(app, client):
    user = UserFactory()
    with app.test_request_context():
        token = make_reset_token(user)
    response = client.get(f"/mot-de-passe/{token}")
    assert response.status_code == 200
    assert_well_formed_with_labels(response.get_data(as_text=True))


def test_account_page_renders(client, login_as):
    login_as(UserFactory())
    response = client.get("/compte")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert_well_formed_with_labels(body)
    assert 'autocomplete="current-password"' in body and 'autocomplete="new-password"' in body


def test_registration_form_uses_fieldsets_and_autocomplete(client):
    body = client.get("/inscription").get_data(as_text=True)
    assert body.count("<fieldset") == 3 and body.count("<legend>") == 3
    for token in ("organization", "street-address", "postal-code", "address-level2", "email", "tel", "new-password"):
        assert f'autocomplete="{token}"' in body, token
