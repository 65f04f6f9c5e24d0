"""The public pages of calls served from the page cache to anonymous visitors (grants/page_cache.py):
never a signed-in visitor's page to anyone else, never one visitor's CSRF token or message to another,
dropped when a call changes (on every web node), per language, with ETag and 304."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import redis
import sqlalchemy as sa
import time_machine

from grants import create_app, page_cache
from grants.calls import public_cache
from grants.calls import services as call_services
from grants.database import db, utcnow
from grants.models import BudgetSection, CallEnvelope, CallState
from tests.calls.test_manage_pages import a_full_call, call_form
from tests.conftest import FreshRequestClient, config_for
from tests.factories import (
    CallFactory,
    ManagerFactory,
    ProgrammeBudgetFactory,
    UserFactory,
)

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@contextmanager
def counted_statements():
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def visitor(app):
    return app.test_client()


def text(response) -> str:
    return response.get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ").replace("&#39;", "'")


def test_a_second_anonymous_visit_is_served_from_the_cache(app):
    CallFactory(title="Solidaires Ici")
    db.session.commit()
    first = visitor(app).get("/appels/")
    with counted_statements() as statements:
        second = visitor(app).get("/appels/")
    assert first.status_code == second.status_code == 200
    assert "Solidaires Ici" in text(second)
    assert statements == []  # no query: the page came from the cache
    assert second.headers["Cache-Control"] == "private, no-cache"
    assert second.headers["ETag"]
    assert "Cookie" in second.headers["Vary"]


def test_each_anonymous_visitor_gets_the_token_of_their_own_session(app):
    app.config["WTF_CSRF_ENABLED"] = True
    CallFactory(title="Solidaires Ici")
    db.session.commit()
    alice, bob = visitor(app), visitor(app)
    alice_page, bob_page = text(alice.get("/appels/")), text(bob.get("/appels/"))
    assert alice_page != bob_page  # the same cached page, each with its own token
    alice_token, bob_token = TOKEN.search(alice_page).group(1), TOKEN.search(bob_page).group(1)
    assert alice_token != bob_token
    assert TOKEN.sub("", alice_page) == TOKEN.sub("", bob_page)
    # Each token works in its own session and nowhere else: the language switch of the cached page.
    # (HTTPS: Flask-WTF also wants the Referer of the same site.)
    same_site = {"Referer": "https://subventia.test/appels/"}
    assert bob.post("/langue", data={"csrf_token": alice_token, "locale": "en", "next": "/appels/"},
                    headers=same_site).status_code == 400
    assert bob.post("/langue", data={"csrf_token": bob_token, "locale": "en", "next": "/appels/"},
                    headers=same_site).status_code == 302


def test_a_matching_if_none_match_gets_a_304_and_another_session_a_full_page(app):
    CallFactory(title="Solidaires Ici")
    db.session.commit()
    alice = visitor(app)
    etag = alice.get("/appels/").headers["ETag"]
    again = alice.get("/appels/", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert alice.get("/appels/", headers={"If-None-Match": '"autre"'}).status_code == 200
    # A browser whose session is new (its cookie gone) gets the page again: its copy holds a token its
    # session no longer knows.
    stranger = visitor(app)
    assert stranger.get("/appels/", headers={"If-None-Match": etag}).status_code == 200


def test_the_etag_changes_with_the_page(app):
    call = CallFactory(title="Solidaires Ici")
    db.session.commit()
    alice = visitor(app)
    etag = alice.get(f"/appels/{call.slug}").headers["ETag"]
    call.summary = "Un résumé revu."
    db.session.commit()
    response = alice.get(f"/appels/{call.slug}", headers={"If-None-Match": etag})
    assert response.status_code == 200 and "Un résumé revu." in text(response)


def test_a_signed_in_page_is_private_and_never_served_to_anyone_else(app, client, login_as):
    CallFactory(title="Solidaires Ici")
    alice = UserFactory(full_name="Alice Martin")
    bob = UserFactory(full_name="Bob Durand")
    db.session.commit()
    login_as(alice)
    response = client.get("/appels/")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers
    assert "Alice Martin" in text(response)
    # The same URL for an anonymous visitor and another user: neither sees Alice's page.
    anonymous = text(visitor(app).get("/appels/"))
    assert "Alice Martin" not in anonymous and "Se connecter" in anonymous
    other = visitor(app)
    other.post("/connexion", data={"email": bob.email, "password": "correct horse battery staple"})
    bobs = other.get("/appels/")
    assert "Bob Durand" in text(bobs) and "Alice Martin" not in text(bobs)
    assert bobs.headers["Cache-Control"] == "private, no-store"
    # Nor does a signed-in visitor get the anonymous page kept meanwhile, even with its ETag.
    etag = visitor(app).get("/appels/").headers["ETag"]
    again = client.get("/appels/", headers={"If-None-Match": etag})
    assert again.status_code == 200 and "Alice Martin" in text(again) and "Se déconnecter" in text(again)


def test_every_signed_in_page_is_private_no_store(app, client, login_as):
    login_as(ManagerFactory())
    for path in ("/mon-espace", "/gestion/appels", "/notifications"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-store", path


def test_a_flashed_message_is_shown_to_its_visitor_only(app):
    CallFactory(title="Solidaires Ici")
    db.session.commit()
    visitor(app).get("/appels/")  # the page is in the cache
    alice = visitor(app)
    with alice.session_transaction() as session:
        session["_flashes"] = [("info", "Message pour Alice seulement")]
    assert "Message pour Alice seulement" in text(alice.get("/appels/"))
    assert "Message pour Alice seulement" not in text(alice.get("/appels/"))  # shown once
    assert "Message pour Alice seulement" not in text(visitor(app).get("/appels/"))


def test_a_page_rendered_with_a_message_is_not_kept(app):
    call = CallFactory(title="Solidaires Ici")
    db.session.commit()
    alice = visitor(app)
    with alice.session_transaction() as session:
        session["_flashes"] = [("info", "Message pour Alice seulement")]
    assert "Message pour Alice seulement" in text(alice.get(f"/appels/{call.slug}"))
    assert "Message pour Alice seulement" not in text(visitor(app).get(f"/appels/{call.slug}"))


def test_each_language_has_its_own_page(app):
    CallFactory(title="Solidaires Ici", closes_at=utcnow() + timedelta(days=20))
    db.session.commit()
    french, english = visitor(app), visitor(app)
    assert "Appels à projets" in text(french.get("/appels/"))
    english.post("/langue", data={"locale": "en", "next": "/appels/"})
    english_page = text(english.get("/appels/"))
    assert "Calls for projects" in english_page and "closes in 20 days" in english_page
    assert "clôture dans 20 jours" in text(french.get("/appels/"))
    assert "clôture dans 20 jours" in text(visitor(app).get("/appels/"))


def test_editing_a_call_drops_its_pages(app, client, login_as):
    line = ProgrammeBudgetFactory(authorised=Decimal("860000.00"), year=2026, section=BudgetSection.OPERATING)
    call = CallFactory(programme=line.programme, year=2026, state=CallState.OPEN, title="Titre d'avant")
    db.session.commit()
    anonymous = visitor(app)
    assert "Titre d'avant" in text(anonymous.get("/appels/"))
    assert "Titre d'avant" in text(anonymous.get(f"/appels/{call.slug}"))
    login_as(ManagerFactory())
    data = call_form(title="Titre d'après", slug=call.slug, envelope_fonctionnement="")
    del data["opens_at"], data["closes_at"]
    assert client.post(f"/gestion/appels/{call.id}/modifier", data=data).status_code == 302
    assert "Titre d'après" in text(anonymous.get("/appels/"))
    assert "Titre d'après" in text(anonymous.get(f"/appels/{call.slug}"))
    assert "Titre d'après" in text(anonymous.get("/"))


def test_publishing_closing_and_archiving_drop_the_list(app, client, login_as):
    line = ProgrammeBudgetFactory(authorised=Decimal("860000.00"), year=2026, section=BudgetSection.OPERATING)
    call = a_full_call(line)
    anonymous = visitor(app)
    assert "Coopération décentralisée" not in text(anonymous.get("/appels/"))
    assert anonymous.get(f"/appels/{call.slug}").status_code == 404
    login_as(ManagerFactory())
    assert client.post(f"/gestion/appels/{call.id}/publier").status_code == 302
    assert "Coopération décentralisée" in text(anonymous.get("/appels/"))
    assert anonymous.get(f"/appels/{call.slug}").status_code == 200
    call = db.session.get(type(call), call.id)
    call_services.unpublish_call(call, actor=None)
    db.session.commit()
    assert "Coopération décentralisée" not in text(anonymous.get("/appels/"))
    assert anonymous.get(f"/appels/{call.slug}").status_code == 404


def test_the_scheduled_transitions_drop_the_list(app):
    call = CallFactory(title="Appel qui ferme", state=CallState.OPEN,
                       opens_at=utcnow() - timedelta(days=10), closes_at=utcnow() + timedelta(minutes=30))
    db.session.commit()
    anonymous = visitor(app)
    assert "Appel qui ferme" in section(text(anonymous.get("/appels/")), "ouverts")
    call_services.open_and_close_due_calls(now=call.closes_at + timedelta(seconds=1))
    db.session.commit()
    assert "Appel qui ferme" in section(text(anonymous.get("/appels/")), "clotures")


def test_a_kept_page_ends_when_a_call_closes_even_with_no_change(app):
    start = datetime(2026, 3, 24, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        CallFactory(title="Appel de printemps", state=CallState.OPEN, opens_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
                    closes_at=datetime(2026, 3, 24, 11, 0, tzinfo=UTC))
        db.session.commit()
        anonymous = visitor(app)
        body = text(anonymous.get("/appels/"))
        assert "Appel de printemps" in section(body, "ouverts") and "clôture aujourd'hui à 12:00" in body
        clock.move_to(datetime(2026, 3, 24, 9, 4, tzinfo=UTC))
        with counted_statements() as statements:
            assert "Appel de printemps" in section(text(anonymous.get("/appels/")), "ouverts")
        assert statements == []
        clock.move_to(datetime(2026, 3, 24, 10, 56, tzinfo=UTC))
        visitor(app).get("/appels/")  # kept again, until the deadline (4 minutes from now)
        clock.move_to(datetime(2026, 3, 24, 11, 0, 1, tzinfo=UTC))  # the deadline: no task has run
        assert "Appel de printemps" in section(text(anonymous.get("/appels/")), "clotures")


def test_a_kept_page_ends_at_paris_midnight(app):
    with time_machine.travel(datetime(2026, 3, 24, 22, 58, tzinfo=UTC), tick=False) as clock:  # 23:58 in Paris
        call = CallFactory(title="Appel", state=CallState.OPEN, opens_at=datetime(2026, 3, 1, 8, 0, tzinfo=UTC),
                           closes_at=datetime(2026, 3, 27, 11, 0, tzinfo=UTC))
        db.session.commit()
        anonymous = visitor(app)
        assert "clôture dans 3 jours" in text(anonymous.get(f"/appels/{call.slug}"))
        clock.move_to(datetime(2026, 3, 24, 23, 0, 1, tzinfo=UTC))  # 00:00:01 in Paris
        assert "clôture dans 2 jours" in text(anonymous.get(f"/appels/{call.slug}"))


def test_a_search_and_unknown_parameters_are_rendered_not_kept(app):
    CallFactory(title="Solidaires Ici")
    db.session.commit()
    for path in ("/appels/?q=solidaires", "/appels/?utm_source=lettre", "/appels/?page_clotures=abc"):
        visitor(app).get(path)
        with counted_statements() as statements:
            assert visitor(app).get(path).status_code in (200, 422)
        assert statements, path  # rendered again


def test_moving_committed_money_keeps_the_pages(app):
    call = CallFactory(title="Autre")
    envelope = CallEnvelope(call=call, section=BudgetSection.OPERATING, amount=Decimal("1000.00"))
    db.session.add(envelope)
    db.session.commit()
    before = page_cache.version(public_cache.SCOPE)
    db.session.execute(sa.update(CallEnvelope).where(CallEnvelope.id == envelope.id)
                       .values(committed=CallEnvelope.committed + Decimal("10.00")))
    db.session.commit()
    assert page_cache.version(public_cache.SCOPE) == before
    db.session.execute(sa.update(CallEnvelope).where(CallEnvelope.id == envelope.id).values(amount=Decimal("2000.00")))
    db.session.commit()
    assert page_cache.version(public_cache.SCOPE) != before


def test_a_rolled_back_change_keeps_the_pages(app):
    call = CallFactory(title="Solidaires Ici")
    db.session.commit()
    before = page_cache.version(public_cache.SCOPE)
    call.title = "Jamais enregistré"
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert page_cache.version(public_cache.SCOPE) == before


def section(body: str, heading_id: str) -> str:
    start = body.index(f'id="{heading_id}"')
    return body[start:body.index("</section>", start)]


# --------------------------------------------------------------------- several web nodes on Redis


@pytest.fixture(params=["redis", "files"])
def shared_store(request, tmp_path):
    """The stores several processes share: Redis (several web nodes), files (gunicorn's workers on the
    embedded default's settings)."""
    if request.param == "redis":
        url, prefix = request.getfixturevalue("redis_url"), f"test-{uuid.uuid4().hex}:"
        yield {"PAGE_CACHE_REDIS_URL": url, "PAGE_CACHE_KEY_PREFIX": prefix}
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)  # the version key never expires by itself
        return
    yield {"PAGE_CACHE_DIR": str(tmp_path / "page-cache")}


def test_a_change_on_one_node_drops_the_pages_of_every_node(app, database_url, tmp_path, shared_store):
    nodes = []
    for _ in range(2):
        node = create_app(config_for(database_url, tmp_path, **shared_store))
        node.test_client_class = FreshRequestClient
        nodes.append(node)
    call = CallFactory(title="Titre d'avant")
    db.session.commit()
    slug = call.slug

    def get(node, path):
        with node.app_context():
            return text(node.test_client().get(path))

    assert "Titre d'avant" in get(nodes[0], f"/appels/{slug}")
    assert "Titre d'avant" in get(nodes[1], f"/appels/{slug}")
    with nodes[1].app_context():
        with counted_statements() as statements:
            node_b = nodes[1].test_client().get(f"/appels/{slug}")
        assert statements == [] and "Titre d'avant" in text(node_b)  # from the shared store
    with nodes[0].app_context():  # the change, on node A
        row = db.session.scalar(sa.select(type(call)).where(type(call).slug == slug))
        row.title = "Titre d'après"
        db.session.commit()
    assert "Titre d'après" in get(nodes[1], f"/appels/{slug}")
    for node in nodes:
        with node.app_context():
            db.engine.dispose()


def test_an_unreachable_redis_renders_the_pages_without_cache(app, database_url, tmp_path, monkeypatch):
    node = create_app(config_for(database_url, tmp_path, PAGE_CACHE_REDIS_URL="redis://127.0.0.1:1/0"))
    monkeypatch.setattr(page_cache, "_unavailable_until", 0.0)
    CallFactory(title="Solidaires Ici")
    db.session.commit()
    with node.app_context():
        response = node.test_client().get("/appels/")
        assert response.status_code == 200 and "Solidaires Ici" in text(response)
        db.engine.dispose()
