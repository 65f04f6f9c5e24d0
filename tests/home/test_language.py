"""The language switch: remembered in the session, and on the account of a signed-in user; it only
ever sends the visitor back to a page of this site."""

from __future__ import annotations

import pytest

from grants.database import db
from grants.models import User
from tests.factories import UserFactory


def switch(client, locale, next_url="/appels/"):
    return client.post("/langue", data={"locale": locale, "next": next_url})


def test_choosing_english_is_remembered_for_the_visit(client):
    response = switch(client, "en")
    assert response.status_code == 302
    assert response.headers["Location"] == "/appels/"
    with client.session_transaction() as session:
        assert session["locale"] == "en"
    assert '<html lang="en">' in client.get("/appels/").get_data(as_text=True)
    switch(client, "fr")
    assert '<html lang="fr">' in client.get("/appels/").get_data(as_text=True)


def test_a_signed_in_users_choice_is_saved_on_his_account(client, login_as):
    user = UserFactory(locale="fr")
    login_as(user)
    assert switch(client, "en", "/mon-espace").headers["Location"] == "/mon-espace"
    db.session.expire_all()
    assert db.session.get(User, user.id).locale == "en"


def test_the_query_string_of_the_page_is_kept(client):
    assert switch(client, "en", "/appels/?page=2").headers["Location"] == "/appels/?page=2"


@pytest.mark.parametrize(
    "unsafe",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "/appels/\r\nSet-Cookie: x=1",
        "appels/",
        "",
    ],
)
def test_an_unsafe_next_sends_home_instead(client, unsafe):
    response = switch(client, "en", unsafe)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert session["locale"] == "en"


def test_an_unknown_language_is_refused(client):
    assert switch(client, "de").status_code == 400
    with client.session_transaction() as session:
        assert "locale" not in session
